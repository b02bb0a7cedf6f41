from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import (
    Candidature,
    CompanyIdentity,
    Consultation,
    Document,
    ExclusionFlag,
    Habilitation,
    Lot,
    Organisation,
    SourceFetch,
    Turnover,
    UpstreamCall,
)


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


class HabilitationInline(admin.TabularInline):
    model = Habilitation
    extra = 0
    fields = ("use_case", "sources", "starts_on", "ends_on", "granted_by")


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "siret", "created_at")
    search_fields = ("name", "siret")
    inlines = [HabilitationInline]


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


@admin.register(UpstreamCall)
class UpstreamCallAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "source",
        "siret",
        "organisation",
        "http_status",
        "error_code",
        "duration_ms",
    )
    list_filter = ("source", "provider", "http_status", "created_at")
    search_fields = ("siret", "siren", "recipient", "object", "error_code")
    date_hierarchy = "created_at"
    list_select_related = ("organisation",)


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("candidature", "source", "kind", "content_type", "size", "valid_until")
    list_filter = ("source", "kind")
    readonly_fields = [field.name for field in Document._meta.fields]


admin.site.site_header = _("Passe Marché — administration")
admin.site.site_title = _("Passe Marché")
