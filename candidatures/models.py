from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connectors import registry

from . import habilitations

siret_validator = RegexValidator(r"^\d{14}$", _("Le SIRET doit comporter 14 chiffres."))


class Organisation(models.Model):
    """A buyer organisation (acheteur public). Its SIRET is the `recipient` of every API Entreprise call."""

    siret = models.CharField(_("SIRET"), max_length=14, unique=True, validators=[siret_validator])
    name = models.CharField(_("nom"), max_length=255)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation acheteuse")
        verbose_name_plural = _("organisations acheteuses")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.siret})"


class OrganisationMember(models.Model):
    """A buyer (acheteur): a user acting for one organisation; sees only that organisation's consultations."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="buyer_membership")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="members")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("acheteur")
        verbose_name_plural = _("acheteurs")

    def __str__(self) -> str:
        return f"{self.user} — {self.organisation.name}"


class HabilitationQuerySet(models.QuerySet):
    def in_force(self, on):
        """In force on that day: started, and not ended (the end day is included)."""
        return self.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on), starts_on__lte=on)


class Habilitation(models.Model):
    """Which data an organisation may receive, for which use case, under which legal framework, until when.

    The rules of a grant live in `habilitations.py`; the engine reads the active ones in `selectors`.
    """

    class UseCase(models.TextChoices):
        MARCHES_PUBLICS = habilitations.MARCHES_PUBLICS, _("Marchés publics")
        AIDES_PUBLIQUES = habilitations.AIDES_PUBLIQUES, _("Aides publiques")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="habilitations")
    use_case = models.CharField(_("cas d'usage"), max_length=32, choices=UseCase, default=UseCase.MARCHES_PUBLICS)
    sources = models.JSONField(_("données autorisées"), default=list)
    protected_data = models.BooleanField(
        _("données protégées des entreprises non diffusibles"),
        default=False,
        help_text=_("Identité des entreprises non diffusibles (INSEE) : raison sociale, adresse, dirigeants."),
    )
    cadre_juridique = models.TextField(_("cadre juridique"), blank=True)
    cadre_juridique_document = models.FileField(
        _("texte du cadre juridique"), upload_to="habilitations/", max_length=255, blank=True
    )
    starts_on = models.DateField(_("début"))
    ends_on = models.DateField(_("fin"), null=True, blank=True)
    granted_by = models.CharField(_("accordée par"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    objects = HabilitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("habilitation")
        verbose_name_plural = _("habilitations")
        ordering = ["organisation__name", "-starts_on"]
        indexes = [models.Index(fields=["ends_on"], name="habilitation_ends_on")]

    def __str__(self) -> str:
        return f"{self.organisation} — {self.get_use_case_display()}"

    def clean(self) -> None:
        errors = habilitations.grant_errors(
            use_case=self.use_case, sources=list(self.sources or []), starts_on=self.starts_on, ends_on=self.ends_on
        )
        if errors:
            raise ValidationError(errors)

    def is_active_on(self, day) -> bool:
        """The rule of `HabilitationQuerySet.in_force`, on a row already loaded."""
        return self.starts_on <= day and (self.ends_on is None or self.ends_on >= day)


class Consultation(models.Model):
    class MarketType(models.TextChoices):
        TRAVAUX = "travaux", _("Travaux")
        SERVICES = "services", _("Services")
        FOURNITURES = "fournitures", _("Fournitures")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="consultations")
    reference = models.CharField(_("référence"), max_length=50)
    title = models.CharField(_("intitulé"), max_length=255)
    market_type = models.CharField(_("type de marché"), max_length=16, choices=MarketType)
    deadline = models.DateTimeField(_("date limite de remise"), null=True, blank=True)
    # Keys of candidatures.pieces.PIECES the buyer asks for (the always-required pieces are implied).
    required_pieces = models.JSONField(_("pièces demandées"), default=list, blank=True)
    published_at = models.DateTimeField(_("publiée le"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "reference"], name="unique_consultation_reference"),
            # The public link is /c/<reference>/: a published reference names one consultation.
            models.UniqueConstraint(
                fields=["reference"], condition=Q(published_at__isnull=False), name="unique_published_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def is_closed(self) -> bool:
        """Past the deadline: no submission is accepted any more."""
        return self.deadline is not None and timezone.now() >= self.deadline


class Lot(models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="lots")
    number = models.PositiveSmallIntegerField(_("numéro"))
    title = models.CharField(_("intitulé"), max_length=255)

    class Meta:
        verbose_name = _("lot")
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["consultation", "number"], name="unique_lot_number")]

    def __str__(self) -> str:
        return f"Lot {self.number} — {self.title}"


class Candidature(models.Model):
    """A company's dossier for one consultation: one per SIRET and consultation."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("En cours de récupération")
        COMPLETE = "complete", _("Complet")

    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="candidatures")
    siret = models.CharField(_("SIRET"), max_length=14, validators=[siret_validator])
    siren = models.CharField(_("SIREN"), max_length=9)
    status = models.CharField(_("statut"), max_length=16, choices=Status, default=Status.IN_PROGRESS)
    requested_by = models.CharField(_("demandée par"), max_length=255, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="candidatures",
        verbose_name=_("compte de l'entreprise"),
    )
    # What the company typed itself (contact, lots, values the State could not give): never a State value.
    declared = models.JSONField(_("déclaré par l'entreprise"), default=dict, blank=True)
    declaration_signed_at = models.DateTimeField(_("déclaration sur l'honneur le"), null=True, blank=True)
    declaration_signed_by = models.CharField(_("déclaration signée par"), max_length=255, blank=True)
    submitted_at = models.DateTimeField(_("déposée le"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The dossier as submitted, and the sha256 of its canonical JSON (which lists every document's sha256).
    frozen_dossier = models.JSONField(_("dossier déposé"), null=True, blank=True)
    frozen_sha256 = models.CharField(_("empreinte du dossier déposé"), max_length=64, blank=True)
    receipt = models.FileField(_("récépissé"), upload_to="receipts/", max_length=255, blank=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    completed_at = models.DateTimeField(_("complète le"), null=True, blank=True)
    # The award, and the six-month duty of vigilance it opens (candidatures/vigilance.py, from 5 000 € HT).
    awarded_at = models.DateTimeField(_("attribuée le"), null=True, blank=True)
    award_amount = models.DecimalField(
        _("montant attribué (€ HT)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    vigilance_ended_at = models.DateTimeField(_("fin du suivi de vigilance"), null=True, blank=True)
    # The last alert sent to the buyers (one per problem), and when the attestation was back in order since.
    vigilance_alert = models.CharField(_("dernière alerte de vigilance"), max_length=16, blank=True)
    vigilance_alerted_at = models.DateTimeField(_("alerte de vigilance envoyée le"), null=True, blank=True)
    vigilance_resolved_at = models.DateTimeField(_("alerte de vigilance levée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("candidature")
        verbose_name_plural = _("candidatures")
        constraints = [models.UniqueConstraint(fields=["consultation", "siret"], name="unique_candidature_siret")]
        indexes = [
            models.Index(fields=["awarded_at"], name="candidature_awarded", condition=Q(awarded_at__isnull=False))
        ]

    def __str__(self) -> str:
        return f"{self.siret} — {self.consultation.reference}"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None


class CompanyIdentity(models.Model):
    """The company as the State knows it, mapped from INSEE and INPI (never typed by the company)."""

    candidature = models.OneToOneField(Candidature, on_delete=models.CASCADE, related_name="company")
    raison_sociale = models.CharField(max_length=255, blank=True)
    enseigne = models.CharField(max_length=255, blank=True)
    categorie_entreprise = models.CharField(max_length=16, blank=True)
    forme_juridique = models.CharField(max_length=255, blank=True)
    activite_code = models.CharField(max_length=16, blank=True)
    activite_libelle = models.CharField(max_length=255, blank=True)
    adresse = models.CharField(max_length=512, blank=True)
    etat_administratif = models.CharField(max_length=1, blank=True)
    ess = models.BooleanField(null=True)
    diffusible = models.BooleanField(default=True)
    dirigeants = models.JSONField(default=list)
    # field name → the source key that gave it (the badge "Récupéré automatiquement — INSEE, le …").
    provenance = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("identité de l'entreprise")
        verbose_name_plural = _("identités des entreprises")

    def __str__(self) -> str:
        return self.raison_sociale or self.candidature.siret


class Turnover(models.Model):
    candidature = models.ForeignKey(Candidature, on_delete=models.CASCADE, related_name="turnovers")
    montant = models.BigIntegerField(_("montant (€)"))
    date_fin_exercice = models.DateField(_("fin d'exercice"))

    class Meta:
        verbose_name = _("chiffre d'affaires")
        verbose_name_plural = _("chiffres d'affaires")
        ordering = ["-date_fin_exercice"]
        constraints = [
            models.UniqueConstraint(fields=["candidature", "date_fin_exercice"], name="unique_turnover_year")
        ]

    def __str__(self) -> str:
        return f"{self.date_fin_exercice:%Y} : {self.montant} €"


class SourceFetch(models.Model):
    """One source of one candidature: its status, attempts and the raw answer kept as evidence."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        OK = "ok", _("Récupéré")
        NOT_FOUND = "not_found", _("Non trouvé")
        REFUSED = "refused", _("Refusé par le fournisseur")
        NOT_APPLICABLE = "not_applicable", _("Non applicable")
        UNAUTHORIZED = "unauthorized", _("Non habilité")
        ERROR = "error", _("Erreur")

    candidature = models.ForeignKey(Candidature, on_delete=models.CASCADE, related_name="fetches")
    source = models.CharField(_("source"), max_length=64, choices=registry.source_choices)
    status = models.CharField(_("statut"), max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    http_status = models.PositiveSmallIntegerField(_("statut HTTP"), null=True, blank=True)
    error_code = models.CharField(_("code d'erreur"), max_length=64, blank=True)
    error_detail = models.TextField(_("détail de l'erreur"), blank=True)
    payload = models.JSONField(_("réponse brute"), null=True, blank=True)
    task_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(_("récupéré le"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    next_retry_at = models.DateTimeField(_("prochaine tentative"), null=True, blank=True)
    # The answer cache (candidatures/answer_cache.py): the fetch whose upstream call gave this answer when it was
    # served from another candidature's (its `fetched_at` stays that call's); a refresh asked by someone
    # bypasses the cache until an answer comes (and sends `Cache-Control: no-cache` upstream).
    cached_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("réponse partagée de"),
    )
    bypass_cache = models.BooleanField(_("actualisation sans cache"), default=False)

    class Meta:
        verbose_name = _("récupération")
        verbose_name_plural = _("récupérations")
        constraints = [models.UniqueConstraint(fields=["candidature", "source"], name="unique_fetch_source")]
        indexes = [models.Index(fields=["status", "next_retry_at"], name="fetch_retry_due")]

    def __str__(self) -> str:
        return f"{self.source} ({self.get_status_display()})"

    @property
    def is_final(self) -> bool:
        return self.status != self.Status.PENDING


class UpstreamCall(models.Model):
    """The audit trail: every HTTP exchange with an upstream source, whatever its outcome."""

    fetch = models.ForeignKey(
        SourceFetch, on_delete=models.SET_NULL, null=True, related_name="calls", verbose_name=_("récupération")
    )
    source = models.CharField(_("source"), max_length=64)
    provider = models.CharField(_("fournisseur"), max_length=32)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("organisation")
    )
    siret = models.CharField(_("SIRET"), max_length=14, blank=True, db_index=True)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True)
    recipient = models.CharField(_("destinataire (recipient)"), max_length=14, blank=True)
    context = models.CharField(_("contexte"), max_length=255, blank=True)
    object = models.CharField(_("objet"), max_length=255, blank=True)
    url = models.CharField(_("adresse appelée"), max_length=1024)
    http_status = models.PositiveSmallIntegerField(_("statut HTTP"), null=True, blank=True)
    error_code = models.CharField(_("code d'erreur"), max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField(_("durée (ms)"))
    attempt = models.PositiveSmallIntegerField(_("tentative"), default=1)
    task_id = models.CharField(_("tâche"), max_length=255, blank=True)
    requested_by = models.CharField(_("demandé par"), max_length=255, blank=True)
    rate_limit = models.JSONField(_("quota (en-têtes RateLimit)"), default=dict, blank=True)
    response_excerpt = models.TextField(_("extrait de la réponse d'erreur"), blank=True)
    created_at = models.DateTimeField(_("date"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("appel amont")
        verbose_name_plural = _("appels amont (journal d'audit)")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source} {self.http_status or '—'} ({self.created_at:%Y-%m-%d %H:%M:%S})"


class DossierAccess(models.Model):
    """The audit trail of the buyers' side: who opened which dossier or downloaded which file, when."""

    class Action(models.TextChoices):
        VIEW = "view", _("Consultation du dossier")
        DOCUMENT = "document", _("Téléchargement d'un justificatif")
        ATTACHMENT = "attachment", _("Téléchargement d'une pièce de contestation")
        RECEIPT = "receipt", _("Téléchargement du récépissé")
        ZIP = "zip", _("Téléchargement du dossier complet (ZIP)")
        REFRESH = "refresh", _("Actualisation d'une source")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("utilisateur")
    )
    # Copied, not only linked: the trail must still say who it was once the account or the dossier is gone.
    user_email = models.CharField(_("adresse électronique"), max_length=255, blank=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("organisation")
    )
    candidature = models.ForeignKey(
        Candidature, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("candidature")
    )
    siret = models.CharField(_("SIRET"), max_length=14, db_index=True)
    consultation_reference = models.CharField(_("consultation"), max_length=50, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action)
    detail = models.CharField(_("détail"), max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    created_at = models.DateTimeField(_("date"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("accès d'un acheteur à un dossier")
        verbose_name_plural = _("accès des acheteurs aux dossiers (journal d'audit)")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user_email} — {self.get_action_display()} — {self.siret}"


def document_upload_to(instance: "Document", filename: str) -> str:
    return f"documents/{instance.sha256[:2]}/{filename}"


class Document(models.Model):
    """A certificate (justificatif) fetched from a source or uploaded by the company, stored privately.

    Uploaded pieces have `source` UPLOAD_SOURCE and the piece key as `kind`.
    """

    UPLOAD_SOURCE = "entreprise"

    class Origin(models.TextChoices):
        FETCHED = "fetched", _("Récupéré automatiquement")
        UPLOADED = "uploaded", _("Déposé par l'entreprise")

    candidature = models.ForeignKey(Candidature, on_delete=models.CASCADE, related_name="documents")
    origin = models.CharField(_("origine"), max_length=16, choices=Origin, default=Origin.FETCHED)
    original_name = models.CharField(_("nom du fichier déposé"), max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    fetch = models.ForeignKey(SourceFetch, on_delete=models.SET_NULL, null=True, related_name="documents")
    source = models.CharField(max_length=64)
    kind = models.CharField(max_length=64)
    file = models.FileField(upload_to=document_upload_to, max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=64)
    source_url = models.CharField(max_length=1024, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        verbose_name = _("justificatif")
        verbose_name_plural = _("justificatifs")
        constraints = [
            # A source may give several files of one kind (Qualifelec certificates, the last three bilans).
            models.UniqueConstraint(
                fields=["candidature", "source", "kind", "source_url"], name="unique_document_per_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.sha256[:12]})"

    @property
    def source_label(self) -> str:
        source = registry.SOURCES.get(self.source)
        return source.label if source else str(self.get_origin_display())


class ExclusionFlag(models.Model):
    class Severity(models.TextChoices):
        EXCLUSION = "exclusion", _("Motif d'exclusion")
        WARNING = "warning", _("Point d'attention")

    candidature = models.ForeignKey(Candidature, on_delete=models.CASCADE, related_name="exclusion_flags")
    code = models.CharField(max_length=64)
    severity = models.CharField(max_length=16, choices=Severity)
    ground = models.CharField(_("fondement"), max_length=64)
    source = models.CharField(max_length=64)
    evidence = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("motif d'exclusion")
        verbose_name_plural = _("motifs d'exclusion")
        constraints = [models.UniqueConstraint(fields=["candidature", "code", "source"], name="unique_flag_per_source")]

    def __str__(self) -> str:
        return self.code


class Contestation(models.Model):
    """The company's answer to an exclusion flag: a text and files, shown to the buyer beside the evidence.

    Keyed by (code, source) rather than by the flag row, so a refresh of the source never loses it.
    """

    candidature = models.ForeignKey(Candidature, on_delete=models.CASCADE, related_name="contestations")
    flag_code = models.CharField(max_length=64)
    flag_source = models.CharField(max_length=64)
    text = models.TextField(_("explication"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contestation")
        verbose_name_plural = _("contestations")
        constraints = [
            models.UniqueConstraint(
                fields=["candidature", "flag_code", "flag_source"], name="unique_contestation_per_flag"
            )
        ]

    def __str__(self) -> str:
        return f"{self.flag_code} ({self.candidature})"


class ContestationAttachment(models.Model):
    contestation = models.ForeignKey(Contestation, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(max_length=255)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("pièce jointe de contestation")
        verbose_name_plural = _("pièces jointes de contestation")

    def __str__(self) -> str:
        return self.original_name
