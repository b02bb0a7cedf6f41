"""The admins' console: organisations and their habilitations, the dossiers read-only, the audit trail."""

from __future__ import annotations

import logging
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import audit, habilitations, selectors
from .dossiers import DossierError, store_uploaded_file
from .models import (
    Candidature,
    CompanyIdentity,
    Consultation,
    Document,
    DossierAccess,
    ExclusionFlag,
    Habilitation,
    Lot,
    Organisation,
    OrganisationMember,
    SourceFetch,
    Turnover,
    UpstreamCall,
)
from .storage import download_name, upload_size_label
from .views.files import file_response

logger = logging.getLogger(__name__)

EXPIRY_WARNING_DAYS = 30


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the engine only (fetches, audit trail): viewable, never added, changed or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HabilitationInline(ReadOnlyInline):
    """A summary on the organisation's page; habilitations are granted and ended on their own page."""

    model = Habilitation
    fields = ("use_case", "starts_on", "ends_on", "protected_data", "granted_by")
    readonly_fields = fields
    show_change_link = True


class OrganisationMemberInline(admin.TabularInline):
    model = OrganisationMember
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "siret", "created_at")
    search_fields = ("name", "siret")
    inlines = [HabilitationInline, OrganisationMemberInline]

    def has_delete_permission(self, request, obj=None):
        # Its consultations, candidatures and audit trail refer to it.
        return False


class HabilitationForm(forms.ModelForm):
    sources = forms.MultipleChoiceField(
        label=_("Données autorisées"),
        choices=habilitations.family_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Chaque donnée avec son scope API Entreprise."),
    )
    document = forms.FileField(
        label=_("Texte du cadre juridique (PDF)"),
        required=False,
        help_text=lazy(
            lambda: (
                _("Remplace le document enregistré. PDF, %(size)s au plus, analysé par l'antivirus.")
                % {"size": upload_size_label(settings.UPLOAD_MAX_BYTES)}
            ),
            str,
        )(),
    )

    class Meta:
        model = Habilitation
        fields = (
            "organisation",
            "use_case",
            "sources",
            "protected_data",
            "cadre_juridique",
            "starts_on",
            "ends_on",
            "granted_by",
        )

    def clean_document(self):
        uploaded = self.cleaned_data.get("document")
        if not uploaded:
            return None
        try:
            return store_uploaded_file(uploaded_file=uploaded, folder="habilitations", pdf_only=True)
        except DossierError as error:
            raise forms.ValidationError(error.message) from error


class ExpiryFilter(admin.SimpleListFilter):
    title = _("échéance")
    parameter_name = "echeance"

    def lookups(self, request, model_admin):
        return [
            ("active", _("En vigueur")),
            ("bientot", _("Expire dans les %(days)s jours") % {"days": EXPIRY_WARNING_DAYS}),
            ("expiree", _("Expirée")),
            ("future", _("Pas encore en vigueur")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        in_force = queryset.in_force(today)
        if self.value() == "active":
            return in_force
        if self.value() == "bientot":
            return in_force.filter(ends_on__lte=today + timedelta(days=EXPIRY_WARNING_DAYS))
        if self.value() == "expiree":
            return queryset.filter(ends_on__lt=today)
        if self.value() == "future":
            return queryset.filter(starts_on__gt=today)
        return queryset


@admin.register(Habilitation)
class HabilitationAdmin(admin.ModelAdmin):
    form = HabilitationForm
    list_display = ("organisation", "use_case", "starts_on", "ends_on", "expiry", "protected_data", "granted_by")
    list_filter = (ExpiryFilter, "use_case", "protected_data", ("organisation", admin.RelatedOnlyFieldListFilter))
    search_fields = ("organisation__name", "organisation__siret", "cadre_juridique", "granted_by")
    list_select_related = ("organisation",)
    readonly_fields = ("document_link", "created_at", "updated_at")
    actions = ["end_today"]
    fieldsets = (
        (None, {"fields": ("organisation", "use_case", "sources", "protected_data")}),
        (_("Cadre juridique"), {"fields": ("cadre_juridique", "document", "document_link")}),
        (_("Durée"), {"fields": ("starts_on", "ends_on", "granted_by", "created_at", "updated_at")}),
    )

    def has_delete_permission(self, request, obj=None):
        # A habilitation is ended, never deleted: what was granted, and when, stays on record.
        return False

    @admin.display(description=_("échéance"))
    def expiry(self, obj: Habilitation) -> str:
        today = timezone.localdate()
        if obj.starts_on > today:
            return format_html('<span class="pm-admin-future">{}</span>', _("pas encore en vigueur"))
        if obj.ends_on is None:
            return _("sans fin")
        days = (obj.ends_on - today).days
        if days < 0:
            return format_html('<strong class="pm-admin-expired">{}</strong>', _("expirée"))
        if days <= EXPIRY_WARNING_DAYS:
            return format_html(
                '<strong class="pm-admin-expiring">⚠ {}</strong>',
                ngettext("expire dans %(days)s jour", "expire dans %(days)s jours", days) % {"days": days},
            )
        return _("en vigueur")

    @admin.display(description=_("document"))
    def document_link(self, obj: Habilitation):
        if not obj.pk or not obj.cadre_juridique_document:
            return "—"
        url = reverse("admin:candidatures_habilitation_document", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Télécharger le texte du cadre juridique"))

    def save_model(self, request, obj, form, change):
        stored = form.cleaned_data.get("document")
        if stored is not None:
            obj.cadre_juridique_document.name = stored.name
        if not obj.granted_by:
            obj.granted_by = request.user.email or request.user.get_username()
        super().save_model(request, obj, form, change)

    def changelist_view(self, request, extra_context=None):
        expiring = selectors.habilitations_expiring(within_days=EXPIRY_WARNING_DAYS)
        if expiring:
            messages.warning(
                request,
                ngettext(
                    "%(count)s habilitation expire dans les %(days)s jours : %(names)s.",
                    "%(count)s habilitations expirent dans les %(days)s jours : %(names)s.",
                    len(expiring),
                )
                % {
                    "count": len(expiring),
                    "days": EXPIRY_WARNING_DAYS,
                    "names": ", ".join(f"{h.organisation.name} ({h.ends_on:%d/%m/%Y})" for h in expiring),
                },
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Mettre fin aux habilitations sélectionnées (dès aujourd'hui)"), permissions=["change"])
    def end_today(self, request, queryset):
        yesterday = timezone.localdate() - timedelta(days=1)
        ended = 0
        for habilitation in queryset:
            if habilitation.ends_on is not None and habilitation.ends_on <= yesterday:
                continue
            habilitation.ends_on = yesterday
            habilitation.starts_on = min(habilitation.starts_on, yesterday)
            habilitation.save(update_fields=["ends_on", "starts_on", "updated_at"])
            self.log_change(
                request, habilitation, _("Fin de l'habilitation au %(date)s.") % {"date": f"{yesterday:%d/%m/%Y}"}
            )
            ended += 1
        self.message_user(
            request,
            ngettext("%(count)s habilitation a pris fin.", "%(count)s habilitations ont pris fin.", ended)
            % {"count": ended},
            messages.SUCCESS,
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/cadre-juridique/",
                self.admin_site.admin_view(self.document_view),
                name="candidatures_habilitation_document",
            ),
            *super().get_urls(),
        ]

    def document_view(self, request, pk: int):
        habilitation = get_object_or_404(Habilitation, pk=pk)
        if not self.has_view_permission(request, habilitation) or not habilitation.cadre_juridique_document:
            raise Http404
        return file_response(
            habilitation.cadre_juridique_document,
            filename=download_name("cadre-juridique", habilitation.organisation.siret, content_type="application/pdf"),
            content_type="application/pdf",
        )


class LotInline(admin.TabularInline):
    model = Lot
    extra = 0


@admin.register(Consultation)
class ConsultationAdmin(admin.ModelAdmin):
    list_display = ("reference", "title", "organisation", "market_type", "deadline")
    list_filter = ("market_type", "organisation")
    search_fields = ("reference", "title")
    inlines = [LotInline]


class SourceFetchInline(ReadOnlyInline):
    model = SourceFetch
    fields = ("source", "status", "attempts", "http_status", "error_code", "fetched_at", "duration_ms")
    readonly_fields = fields


class DocumentInline(ReadOnlyInline):
    model = Document
    fields = ("source", "kind", "content_type", "size", "sha256", "valid_until", "fetched_at")
    readonly_fields = fields


class ExclusionFlagInline(ReadOnlyInline):
    model = ExclusionFlag
    fields = ("code", "severity", "ground", "source", "evidence")
    readonly_fields = fields


class TurnoverInline(ReadOnlyInline):
    model = Turnover
    fields = ("date_fin_exercice", "montant")
    readonly_fields = fields


class CompanyIdentityInline(admin.StackedInline):
    model = CompanyIdentity
    can_delete = False
    readonly_fields = (
        "raison_sociale",
        "enseigne",
        "categorie_entreprise",
        "forme_juridique",
        "activite_code",
        "activite_libelle",
        "adresse",
        "etat_administratif",
        "ess",
        "diffusible",
        "dirigeants",
    )
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Candidature)
class CandidatureAdmin(admin.ModelAdmin):
    list_display = ("siret", "consultation", "status", "created_at", "completed_at")
    list_filter = ("status", "consultation__market_type")
    search_fields = ("siret", "siren", "consultation__reference", "company__raison_sociale")
    list_select_related = ("consultation",)
    readonly_fields = (
        "consultation",
        "siret",
        "siren",
        "status",
        "requested_by",
        "created_at",
        "completed_at",
    )
    inlines = [CompanyIdentityInline, SourceFetchInline, TurnoverInline, DocumentInline, ExclusionFlagInline]


@admin.register(SourceFetch)
class SourceFetchAdmin(ReadOnlyAdmin):
    list_display = ("candidature", "source", "status", "attempts", "http_status", "error_code", "fetched_at")
    list_filter = ("source", "status")
    search_fields = ("candidature__siret",)
    list_select_related = ("candidature__consultation",)


class CsvExportMixin:
    """An action "export the selection" and a link "export everything the filters show", both streamed as CSV."""

    csv_columns: list[tuple[str, object]] = []
    csv_name = "export"
    change_list_template = "admin/csv_export_change_list.html"

    @admin.action(description=_("Exporter la sélection en CSV"), permissions=["view"])
    def export_csv(self, request, queryset):
        return self._csv_response(request, queryset)

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "export-csv/",
                self.admin_site.admin_view(self.export_view),
                name=f"{opts.app_label}_{opts.model_name}_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        # The changelist's own filters, search and date drill-down, read from the same query string.
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # What the changelist itself does with a hand-made query string: back to the list, flagged.
            opts = self.model._meta
            return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + "?e=1")
        return self._csv_response(request, changelist.get_queryset(request))

    def _csv_response(self, request, queryset):
        logger.info(
            "Admin export: %s exported %s %s",
            request.user.get_username(),
            queryset.count(),
            self.model._meta.verbose_name_plural,
        )
        response = StreamingHttpResponse(
            audit.csv_lines(rows=queryset.iterator(chunk_size=2000), columns=self.csv_columns),
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="{self.csv_name}-{stamp}.csv"'
        return response


class CallResultFilter(admin.SimpleListFilter):
    title = _("résultat")
    parameter_name = "resultat"

    def lookups(self, request, model_admin):
        return [
            ("succes", _("Succès (2xx)")),
            ("client", _("Refus ou erreur de la demande (4xx)")),
            ("quota", _("Quota dépassé (429)")),
            ("serveur", _("Erreur du fournisseur (5xx)")),
            ("reseau", _("Sans réponse (délai, réseau)")),
        ]

    def queryset(self, request, queryset):
        ranges = {
            "succes": Q(http_status__gte=200, http_status__lt=300),
            "client": Q(http_status__gte=400, http_status__lt=500),
            "quota": Q(http_status=429),
            "serveur": Q(http_status__gte=500),
            "reseau": Q(http_status__isnull=True),
        }
        return queryset.filter(ranges[self.value()]) if self.value() in ranges else queryset


@admin.register(UpstreamCall)
class UpstreamCallAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = (
        "created_at",
        "source",
        "siret",
        "organisation",
        "requested_by",
        "http_status",
        "error_code",
        "duration_ms",
    )
    list_filter = (
        "source",
        "provider",
        CallResultFilter,
        ("organisation", admin.RelatedOnlyFieldListFilter),
        "created_at",
    )
    search_fields = ("siret", "siren", "requested_by", "recipient", "object", "error_code")
    date_hierarchy = "created_at"
    list_select_related = ("organisation",)
    actions = ["export_csv"]
    csv_name = "appels-amont"
    csv_columns = [
        ("date", lambda call: timezone.localtime(call.created_at).isoformat()),
        ("source", lambda call: call.source),
        ("fournisseur", lambda call: call.provider),
        ("siret", lambda call: call.siret),
        ("siren", lambda call: call.siren),
        ("organisation", lambda call: call.organisation.siret if call.organisation else ""),
        ("recipient", lambda call: call.recipient),
        ("objet", lambda call: call.object),
        ("demande_par", lambda call: call.requested_by),
        ("url", lambda call: call.url),
        ("statut_http", lambda call: call.http_status),
        ("code_erreur", lambda call: call.error_code),
        ("duree_ms", lambda call: call.duration_ms),
        ("tentative", lambda call: call.attempt),
    ]


@admin.register(DossierAccess)
class DossierAccessAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ("created_at", "user_email", "organisation", "siret", "consultation_reference", "action", "detail")
    list_filter = ("action", ("organisation", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("user_email", "siret", "consultation_reference", "detail")
    date_hierarchy = "created_at"
    list_select_related = ("organisation",)
    actions = ["export_csv"]
    csv_name = "acces-dossiers"
    csv_columns = [
        ("date", lambda access: timezone.localtime(access.created_at).isoformat()),
        ("utilisateur", lambda access: access.user_email),
        ("organisation", lambda access: access.organisation.siret if access.organisation else ""),
        ("siret", lambda access: access.siret),
        ("consultation", lambda access: access.consultation_reference),
        ("action", lambda access: access.action),
        ("detail", lambda access: access.detail),
        ("adresse_ip", lambda access: access.ip_address),
    ]


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    """What the admins did in this console (grants, ends of habilitations…), never editable."""

    list_display = ("action_time", "user", "content_type", "object_repr", "action_flag", "change_message")
    list_filter = ("action_flag", "content_type")
    search_fields = ("object_repr", "change_message", "user__email", "user__username")
    date_hierarchy = "action_time"
    list_select_related = ("user", "content_type")


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("candidature", "source", "kind", "content_type", "size", "valid_until")
    list_filter = ("source", "kind")
    readonly_fields = [field.name for field in Document._meta.fields]


admin.site.site_header = _("Passe Marché — administration")
admin.site.site_title = _("Passe Marché")
