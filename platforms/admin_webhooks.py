"""The admin of webhook subscriptions and deliveries.

A subscription's signing secret is shown once, in the response that creates it, and never again. Deliveries and
their attempts are read-only evidence of what each platform was sent; the one write is "Renvoyer" (a new series
of attempts, through platforms.webhooks), which needs the change permission on deliveries.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from candidatures.admin import ReadOnlyAdmin, ReadOnlyInline

from . import webhooks
from .admin_shown_once import SecretShownOnceMixin, Shown
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("Adresse"), max_length=1024, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("Événements"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )
    new_secret = forms.CharField(
        label=_("Secret de signature"),
        required=False,
        strip=True,
        help_text=_("32 caractères au moins ; laissez vide pour qu'il soit généré. Il ne sera affiché qu'une fois."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("api_client", "url", "events", "is_active")

    # The service's rules, shown on the field they are about (the change form has no secret).
    SERVICE_FIELDS = {"url": "url", "events": "events", "secret": "new_secret"}

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            cleaned["events"] = webhooks.webhook_subscription_check(
                url=cleaned["url"], events=cleaned["events"], secret=cleaned.get("new_secret", "")
            )
        except webhooks.WebhookError as error:
            self.add_error(self.SERVICE_FIELDS[error.field], error.message)
        return cleaned


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SecretShownOnceMixin, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "api_client", "events_list", "is_active", "created_at", "deleted_at")
    list_filter = ("is_active", ("api_client", admin.RelatedOnlyFieldListFilter))
    search_fields = ("url", "api_client__name")
    list_select_related = ("api_client",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("api_client", "url", "events", "new_secret", "is_active")
        return ("api_client", "url", "events", "is_active", "created_at", "deleted_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # Deleted by the platform through the API: not the admin's to switch on again.
        return ("api_client", "created_at", "deleted_at") + (("is_active",) if obj.deleted_at else ())

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["fields"] = ("url", "events") + (() if obj.deleted_at else ("is_active",))
        return super().get_form(request, obj, change=change, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # Deactivated, never deleted: the deliveries and their attempts stay on record.
        return False

    @admin.display(description=_("événements"))
    def events_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        endpoint, secret = webhooks.webhook_endpoint_create(
            api_client=form.cleaned_data["api_client"],
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            secret=form.cleaned_data["new_secret"],
            is_active=form.cleaned_data["is_active"],
        )
        obj.pk = endpoint.pk
        obj.refresh_from_db()
        obj._state.adding = False
        request._webhook_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        return self.secret_response(
            request,
            obj,
            title=_("Abonnement créé : %(url)s") % {"url": obj.url},
            shown=[Shown(name="secret", label=_("Secret de signature"), value=request._webhook_secret)],
            explanations=[
                _(
                    "L'abonnement est créé. Transmettez le secret de signature à la plateforme par un canal sûr : "
                    "elle en a besoin pour vérifier chaque notification."
                ),
                _(
                    "Le secret ne sera plus affiché : s'il est perdu, créez un nouvel abonnement et désactivez "
                    "celui-ci."
                ),
            ],
            continue_label=_("Continuer vers l'abonnement"),
        )


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ("number", "created_at", "http_status", "error", "duration_ms", "retried", "url", "response_excerpt")
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("event", "endpoint", "client", "status", "attempts", "created_at", "delivered_at")
    list_filter = ("status", "event")
    search_fields = ("event_id", "endpoint__url", "endpoint__api_client__name")
    list_select_related = ("endpoint__api_client",)
    date_hierarchy = "created_at"
    actions = ["resend"]
    inlines = [WebhookAttemptInline]
    fields = (
        "event",
        "event_id",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "delivered_at",
        "payload_pretty",
    )
    readonly_fields = fields

    def has_resend_permission(self, request) -> bool:
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.display(description=_("client de l'API"), ordering="endpoint__api_client__name")
    def client(self, obj: WebhookDelivery) -> str:
        return obj.endpoint.api_client.name

    @admin.display(description=_("contenu envoyé"))
    def payload_pretty(self, obj: WebhookDelivery):
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>',
            json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False),
        )

    @admin.action(description=_("Renvoyer"), permissions=["resend"])
    def resend(self, request, queryset):
        resent = skipped = 0
        for delivery in queryset:
            if webhooks.delivery_resend(delivery=delivery):
                self.log_change(request, delivery, _("Renvoyée : nouvelle série de tentatives."))
                resent += 1
            else:
                skipped += 1
        self.message_user(
            request,
            ngettext(
                "%(count)s notification remise en file d'envoi.",
                "%(count)s notifications remises en file d'envoi.",
                resent,
            )
            % {"count": resent},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)s notification en cours d'envoi n'a pas été renvoyée.",
                    "%(count)s notifications en cours d'envoi n'ont pas été renvoyées.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
