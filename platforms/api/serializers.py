"""The JSON of the API: what a platform sends (`…Input`) and what it receives.

The output serializers turn model rows into JSON for the consultations and candidatures; the dossier is built by
`candidatures.selectors.dossier_as_dict` (the `passemarche.dossier/1` contract, DESIGN §6) and its serializers here
only describe it in the OpenAPI schema, field for field, so that a live answer validates against the schema.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from candidatures import protected, review
from candidatures.consultations import candidate_link
from candidatures.models import Candidature, Consultation, ExclusionFlag, SourceFetch
from candidatures.selectors import DOSSIER_SCHEMA
from connectors.identifiers import InvalidIdentifier, validate_siret

FLAG_FILTERS = ("exclusion", "warning", "none")


def absolute(request, name: str, *args) -> str:
    return request.build_absolute_uri(reverse(name, args=args))


# --- Errors -----------------------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Code stable de l'erreur (par exemple `not_found`, `deadline_passed`).")
    message = serializers.CharField(help_text="Message en français, pour les personnes.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Erreurs de validation : les messages de chaque champ en erreur.",
    )


# --- Consultations ----------------------------------------------------------------------------------------


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with its offset: a deadline without one would be read in the server's time zone, silently."""

    def to_internal_value(self, value):
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is not None and parsed.tzinfo is None:
            raise serializers.ValidationError(_("La date limite doit indiquer son fuseau horaire."), code="naive")
        return super().to_internal_value(value)


class ConsultationInput(serializers.Serializer):
    organisation = serializers.CharField(
        required=False,
        help_text="SIRET de l'organisation acheteuse ; facultatif quand le client n'agit que pour une organisation.",
    )
    reference = serializers.CharField(allow_blank=True, help_text="Référence, qui figure dans le lien des candidats.")
    title = serializers.CharField(allow_blank=True)
    market_type = serializers.ChoiceField(choices=Consultation.MarketType.choices)
    deadline = AwareDateTimeField(
        required=False, allow_null=True, help_text="Date limite de remise, ISO 8601 avec fuseau horaire."
    )
    lots = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False, help_text="Intitulés des lots, dans l'ordre."
    )
    required_pieces = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Clés des pièces demandées ; par défaut, celles du type de marché.",
    )
    publish = serializers.BooleanField(default=True, help_text="Publier aussitôt (le lien des candidats est ouvert).")


class OrganisationRefSerializer(serializers.Serializer):
    siret = serializers.CharField()
    name = serializers.CharField()


class LotSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()


class ConsultationLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    candidatures = serializers.URLField()


class ConsultationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    organisation = OrganisationRefSerializer()
    reference = serializers.CharField()
    title = serializers.CharField()
    market_type = serializers.ChoiceField(choices=Consultation.MarketType.choices)
    deadline = serializers.DateTimeField(allow_null=True)
    lots = LotSerializer(many=True)
    required_pieces = serializers.ListField(child=serializers.CharField())
    published_at = serializers.DateTimeField(allow_null=True)
    candidate_link = serializers.SerializerMethodField(
        help_text="Lien à donner aux entreprises (null tant que la consultation n'est pas publiée)."
    )
    created_at = serializers.DateTimeField()
    links = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_candidate_link(self, consultation: Consultation) -> str | None:
        return candidate_link(consultation) if consultation.is_published else None

    @extend_schema_field(ConsultationLinksSerializer)
    def get_links(self, consultation: Consultation) -> dict:
        request = self.context["request"]
        return {
            "self": absolute(request, "api_consultation", consultation.pk),
            "candidatures": absolute(request, "api_consultation_candidatures", consultation.pk),
        }


# --- Candidatures -----------------------------------------------------------------------------------------


class SiretInput(serializers.Serializer):
    siret = serializers.CharField(allow_blank=True, help_text="SIRET de l'établissement candidat (14 chiffres).")

    def validate_siret(self, value: str) -> str:
        try:
            return validate_siret(value)
        except InvalidIdentifier as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from exc


class CandidatureFilters(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=[key for key, _label in review.STATE_CHOICES],
        required=False,
        help_text="recuperation : sources en cours ; a_completer : à compléter par l'entreprise ; deposee : déposée.",
    )
    flag = serializers.ChoiceField(
        choices=FLAG_FILTERS,
        required=False,
        help_text="exclusion / warning : au moins un motif de cette gravité ; none : aucun motif.",
    )


class RefreshInput(serializers.Serializer):
    source = serializers.CharField(help_text="Clé de la source à récupérer de nouveau (voir `sources` du dossier).")


class RefreshSerializer(serializers.Serializer):
    source = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending"])


class FlagSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=ExclusionFlag.Severity.choices)
    ground = serializers.CharField(allow_blank=True)
    source = serializers.CharField()


class DossierDocumentSerializer(serializers.Serializer):
    source = serializers.CharField()
    kind = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    valid_until = serializers.DateField(allow_null=True)


# A document of the candidature JSON: the dossier's, with where to download it.
class DocumentSerializer(DossierDocumentSerializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, document) -> str:
        return absolute(self.context["request"], "api_document", document.candidature_id, document.pk)


class ConsultationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()


class CandidatureLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    dossier = serializers.URLField()
    receipt = serializers.URLField(allow_null=True)
    zip = serializers.URLField()


# `context["may_see_protected"]`: whether the client's organisation may see a non-diffusible identity (asked once
# for a whole page, by the view). A comment: a docstring would be the component's description in the schema.
class CandidatureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    consultation = ConsultationRefSerializer()
    siret = serializers.CharField()
    siren = serializers.CharField()
    raison_sociale = serializers.SerializerMethodField(
        help_text="null quand elle n'est pas encore connue, ou protégée (entreprise non diffusible)."
    )
    state = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Candidature.Status.choices)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    company_link = serializers.SerializerMethodField(
        help_text="Lien de la consultation avec le SIRET prérempli, à donner à l'entreprise."
    )
    exclusion_flags = FlagSerializer(many=True, source="ordered_flags")
    documents = DocumentSerializer(many=True, source="ordered_documents")
    links = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_raison_sociale(self, candidature: Candidature) -> str | None:
        if protected.identity_hidden(candidature=candidature, may_see_protected=self.context["may_see_protected"]):
            return None
        company = getattr(candidature, "company", None)
        return (company.raison_sociale or None) if company is not None else None

    @extend_schema_field(serializers.ChoiceField(choices=review.STATE_CHOICES))
    def get_state(self, candidature: Candidature) -> str:
        return review.state_of(candidature)

    @extend_schema_field(OpenApiTypes.URI)
    def get_company_link(self, candidature: Candidature) -> str:
        return f"{candidate_link(candidature.consultation)}?siret={candidature.siret}"

    @extend_schema_field(CandidatureLinksSerializer)
    def get_links(self, candidature: Candidature) -> dict:
        request, pk = self.context["request"], candidature.pk
        return {
            "self": absolute(request, "api_candidature", pk),
            "dossier": absolute(request, "api_candidature_dossier", pk),
            "receipt": absolute(request, "api_candidature_receipt", pk) if candidature.is_submitted else None,
            "zip": absolute(request, "api_candidature_zip", pk),
        }

    def to_representation(self, candidature: Candidature) -> dict:
        # Sorted in Python from the prefetched rows: no query per candidature.
        candidature.ordered_flags = sorted(
            candidature.exclusion_flags.all(), key=lambda flag: (flag.severity, flag.code, flag.source)
        )
        candidature.ordered_documents = sorted(
            candidature.documents.all(), key=lambda document: (document.source, document.kind, document.pk)
        )
        return super().to_representation(candidature)


# --- The dossier (passemarche.dossier/1): the schema of selectors.dossier_as_dict -------------------------


class ActiviteSerializer(serializers.Serializer):
    code = serializers.CharField(allow_blank=True)
    libelle = serializers.CharField(allow_blank=True)


class DirigeantSerializer(serializers.Serializer):
    nom = serializers.CharField(allow_blank=True)
    prenoms = serializers.CharField(allow_blank=True)
    qualite = serializers.CharField(allow_blank=True)


class DossierCompanySerializer(serializers.Serializer):
    raison_sociale = serializers.CharField(allow_blank=True, allow_null=True, help_text="null si protégée.")
    categorie_entreprise = serializers.CharField(allow_blank=True)
    forme_juridique = serializers.CharField(allow_blank=True)
    activite_principale = ActiviteSerializer()
    adresse = serializers.CharField(allow_blank=True, allow_null=True, help_text="null si protégée.")
    etat_administratif = serializers.CharField(allow_blank=True, help_text="A (active) ou F (fermée).")
    ess = serializers.BooleanField(allow_null=True)
    diffusible = serializers.BooleanField()
    dirigeants = DirigeantSerializer(many=True, help_text="Vide si l'identité est protégée.")
    identite_protegee = serializers.BooleanField(
        required=False,
        help_text="Présent (true) quand l'entreprise n'est pas diffusible et que l'organisation n'est pas habilitée "
        "à recevoir son identité : raison sociale, adresse et dirigeants sont alors masqués.",
    )


class TurnoverSerializer(serializers.Serializer):
    montant = serializers.IntegerField(help_text="En euros.")
    date_fin_exercice = serializers.DateField()


class SourceStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SourceFetch.Status.choices)
    http_status = serializers.IntegerField(allow_null=True)
    error_code = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    fetched_at = serializers.DateTimeField(allow_null=True)


class DossierFlagSerializer(FlagSerializer):
    evidence = serializers.DictField(help_text="Les éléments de preuve tels que la source les a donnés.")


class DossierSerializer(serializers.Serializer):
    schema = serializers.ChoiceField(choices=[DOSSIER_SCHEMA])
    siret = serializers.CharField()
    siren = serializers.CharField()
    # The values alone: an enum of its own in the schema, not one shared with the candidature (whose labels it has),
    # which drf-spectacular could only name with a hash.
    status = serializers.ChoiceField(choices=[(value, value) for value in Candidature.Status.values])
    company = DossierCompanySerializer(allow_null=True, help_text="null tant que l'identité n'est pas récupérée.")
    chiffres_affaires = TurnoverSerializer(many=True)
    sources = serializers.DictField(child=SourceStatusSerializer(), help_text="Clé de la source → son état.")
    documents = DossierDocumentSerializer(many=True)
    exclusion_flags = DossierFlagSerializer(many=True)
