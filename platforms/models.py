from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import Application

from candidatures.models import Organisation


class WebhookEvent(models.TextChoices):
    CONSULTATION_PUBLISHED = "consultation.published", _("Consultation publiée")
    CANDIDATURE_DOSSIER_COMPLETE = "candidature.dossier_complete", _("Dossier complet (toutes les sources ont répondu)")
    CANDIDATURE_FLAG_RAISED = "candidature.flag_raised", _("Motif d'exclusion ou point d'attention signalé")
    CANDIDATURE_SUBMITTED = "candidature.submitted", _("Candidature déposée")


def scope_choices() -> list[tuple[str, str]]:
    return list(settings.API_SCOPES.items())


class ApiClient(models.Model):
    """A buyer platform's access to the API: an OAuth2 confidential client (client credentials) acting for some
    organisations, with some scopes. Its secret is shown once at creation and kept hashed (django-oauth-toolkit).
    """

    name = models.CharField(_("nom de la plateforme"), max_length=255)
    application = models.OneToOneField(
        Application,
        on_delete=models.CASCADE,
        related_name="api_client",
        editable=False,
        verbose_name=_("client OAuth2"),
    )
    organisations = models.ManyToManyField(
        Organisation,
        related_name="api_clients",
        verbose_name=_("organisations pour lesquelles elle agit"),
        help_text=_("Le client ne voit et ne crée que les consultations de ces organisations."),
    )
    scopes = models.JSONField(_("portées autorisées"), default=list, blank=True)
    is_active = models.BooleanField(
        _("actif"),
        default=True,
        help_text=_("Un client inactif n'obtient plus de jeton, et ses jetons en cours sont révoqués."),
    )
    contact_email = models.EmailField(_("contact technique"), blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("client de l'API")
        verbose_name_plural = _("clients de l'API")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def client_id(self) -> str:
        return self.application.client_id


class WebhookEndpoint(models.Model):
    """An address of a platform that receives the events it subscribed to, signed with its secret."""

    api_client = models.ForeignKey(
        ApiClient, on_delete=models.CASCADE, related_name="webhook_endpoints", verbose_name=_("client de l'API")
    )
    url = models.URLField(_("adresse"), max_length=1024)
    # Needed in clear to sign each delivery (HMAC): shown once, never displayed again.
    secret = models.CharField(_("secret de signature"), max_length=128)
    events = models.JSONField(_("événements"), default=list)
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    # Deleted by the platform (DELETE /api/v1/webhooks/<id>/): kept, inactive, so that its deliveries and their
    # attempts stay in the admin as evidence of what the platform was sent.
    deleted_at = models.DateTimeField(_("supprimé par la plateforme le"), null=True, blank=True)

    class Meta:
        verbose_name = _("abonnement webhook")
        verbose_name_plural = _("abonnements webhook")
        ordering = ["api_client__name", "pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: the exact body sent (signed anew at each attempt), its state and its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("À envoyer")
        SENDING = "sending", _("Envoi en cours")
        DELIVERED = "delivered", _("Reçue")
        FAILED = "failed", _("Échec définitif")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("abonnement")
    )
    event_id = models.UUIDField(_("identifiant de l'événement"), default=uuid.uuid4, editable=False)
    # Whose fact it is: a client that no longer acts for it receives nothing more of it (retries, re-sends).
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, related_name="+", verbose_name=_("organisation")
    )
    event = models.CharField(_("événement"), max_length=64, choices=WebhookEvent)
    payload = models.JSONField(_("contenu"))
    status = models.CharField(_("état"), max_length=16, choices=Status, default=Status.PENDING)
    # Of the current series only (back to 0 on a re-send, for the retry limit); the attempt rows keep numbering on.
    attempts = models.PositiveSmallIntegerField(_("tentatives (série en cours)"), default=0)
    next_attempt_at = models.DateTimeField(_("prochaine tentative"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(_("dernière erreur"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(_("reçue le"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification (webhook)")
        verbose_name_plural = _("notifications (webhooks)")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint.url}"


class WebhookAttempt(models.Model):
    """One HTTP exchange of a delivery, whatever its outcome: the evidence of what the platform received."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows", verbose_name=_("notification")
    )
    number = models.PositiveSmallIntegerField(_("tentative"))
    url = models.CharField(_("adresse"), max_length=1024)
    http_status = models.PositiveSmallIntegerField(_("statut HTTP"), null=True, blank=True)
    error = models.CharField(_("erreur"), max_length=255, blank=True)
    duration_ms = models.PositiveIntegerField(_("durée (ms)"))
    response_excerpt = models.TextField(_("extrait de la réponse"), blank=True)
    retried = models.BooleanField(_("sera retentée"), default=False)
    created_at = models.DateTimeField(_("date"), auto_now_add=True)

    class Meta:
        verbose_name = _("tentative d'envoi")
        verbose_name_plural = _("tentatives d'envoi")
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"#{self.number} {self.http_status or self.error}"
