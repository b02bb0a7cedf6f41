"""The REST API of the buyers' platforms (/api/v1/): consultations, candidatures, their dossiers and files.

Every object is reached through the client's querysets (`platforms.selectors`): one of an organisation the client
does not act for is a 404, never a 403. The rules live in the domain (`candidatures.consultations`, `services`,
`dossiers`); a refusal becomes a JSON error with a stable code (`errors.py`). Every read of a dossier or a file, and
every refresh, is written to the buyers' audit trail with the client as the actor.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from candidatures import audit, consultations, dossiers, protected, review
from candidatures import selectors as domain_selectors
from candidatures.models import Candidature, DossierAccess, ExclusionFlag, SourceFetch
from candidatures.services import candidature_start
from candidatures.storage import ZIP
from candidatures.views.files import document_response, receipt_response, zip_response

from .. import selectors
from . import schema  # noqa: F401 (registers the OpenAPI description of the authentication)
from .errors import ApiError, error_body
from .pagination import Pagination
from .serializers import (
    CandidatureFilters,
    CandidatureSerializer,
    ConsultationInput,
    ConsultationSerializer,
    DossierSerializer,
    ErrorSerializer,
    RefreshInput,
    RefreshSerializer,
    SiretInput,
)

CONSULTATIONS = "Consultations"
CANDIDATURES = "Candidatures"
FILES = "Fichiers"


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


AUTH_ERRORS = {
    401: _error("Jeton absent (`not_authenticated`), ou invalide, expiré ou révoqué (`invalid_token`)."),
    403: _error("Le jeton n'a pas la portée demandée (`insufficient_scope`)."),
    429: _error("Trop de requêtes (`throttled`) : voir l'en-tête Retry-After."),
}
NOT_FOUND = {404: _error("Objet introuvable, ou d'une organisation pour laquelle le client n'agit pas (`not_found`).")}
NO_PAGE = {404: _error("Pas de page de ce numéro (`not_found`).")}
INVALID = {400: _error("Données invalides (`validation_error`) : `fields` nomme chaque champ en erreur.")}
BODY_ERRORS = INVALID | {415: _error("Le corps n'est pas du JSON (`unsupported_media_type`).")}


def reads(scope: str) -> dict:
    return {"GET": scope, "HEAD": scope}


# What every view of the API shares: the scopes it asks (`required_scopes`), a 405 before any scope check for a
# method the view does not answer, and the client the request acts for. (Comments, not docstrings, on these base
# classes: drf-spectacular would print a docstring in every operation of the schema.)
class ApiView(APIView):
    http_method_names = ["get", "post", "head"]
    required_scopes: dict = {}

    def check_permissions(self, request):
        method = request.method.lower()
        # APIView answers OPTIONS itself: not here, where every method is one the view declares.
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method)
        super().check_permissions(request)

    @property
    def client(self):
        return self.request.api_client

    @property
    def actor(self) -> str:
        """Who acts, in the buyers' audit trail and in the trail of the upstream calls (`requested_by`)."""
        return f"API : {self.client.name} ({self.request.auth.application.client_id})"

    def candidature(self, id: int) -> Candidature:
        return get_object_or_404(selectors.client_candidatures(client=self.client), pk=id)

    def candidature_context(self, *, organisation) -> dict:
        """The context of CandidatureSerializer: whether the organisation may see a non-diffusible identity, asked
        once for a page."""
        may_see = domain_selectors.may_see_protected_identity(organisation=organisation)
        return {"request": self.request, "may_see_protected": may_see}

    def record(self, candidature: Candidature, action: str, detail: str = "") -> None:
        audit.dossier_access_record(
            actor=self.actor,
            organisation=candidature.consultation.organisation,
            candidature=candidature,
            action=action,
            detail=detail,
            ip_address=audit.client_ip(self.request),
        )


# A download: the file is not rendered by DRF (whatever the Accept header); its errors are still JSON.
class FileView(ApiView):
    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@csrf_exempt  # a platform's POST to a wrong address gets this JSON 404, not the CSRF page
def not_found(request, *args, **kwargs):
    """Any other address under /api/v1/: a JSON 404 too (no token asked: nothing is there)."""
    return JsonResponse(error_body(code="not_found", message=_("Ressource introuvable.")), status=404)


# --- Consultations ----------------------------------------------------------------------------------------


def _consultations(client):
    return selectors.client_consultations(client=client).prefetch_related("lots")


def _organisation_for(client, siret: str | None):
    """The organisation a new consultation is for: the one named, or the client's only one."""
    organisations = selectors.client_organisations(client=client)
    if siret:
        organisation = organisations.filter(siret=siret.replace(" ", "")).first()
        if organisation is None:
            raise exceptions.ValidationError(
                {"organisation": [_("Ce client de l'API n'agit pas pour l'organisation %(siret)s.") % {"siret": siret}]}
            )
        return organisation
    candidates = list(organisations[:2])
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        message = _(
            "Ce client de l'API n'agit pour aucune organisation : demandez à l'administrateur d'en ajouter une."
        )
    else:
        message = _("Ce client de l'API agit pour plusieurs organisations : indiquez le SIRET de l'organisation.")
    raise exceptions.ValidationError({"organisation": [message]})


class ConsultationListView(ApiView):
    required_scopes = reads("consultations:read") | {"POST": "consultations:write"}
    pagination_class = Pagination

    @extend_schema(
        operation_id="consultations_list",
        tags=[CONSULTATIONS],
        summary="Lister les consultations",
        description="Les consultations des organisations pour lesquelles le client agit, les plus récentes d'abord.",
        parameters=[
            OpenApiParameter("organisation", str, description="SIRET d'une organisation : ses consultations seules.")
        ],
        responses={200: ConsultationSerializer(many=True)} | AUTH_ERRORS | NO_PAGE,
    )
    def get(self, request):
        queryset = _consultations(self.client).order_by("-created_at", "-pk")
        organisation = request.query_params.get("organisation")
        if organisation:
            queryset = queryset.filter(organisation__siret=organisation.replace(" ", ""))
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(
            ConsultationSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="consultations_create",
        tags=[CONSULTATIONS],
        summary="Créer (et publier) une consultation",
        description=(
            "Crée la consultation pour l'organisation indiquée et, sauf `publish: false`, la publie : "
            "`candidate_link` est alors le lien à donner aux entreprises."
        ),
        request=ConsultationInput,
        responses={201: ConsultationSerializer} | BODY_ERRORS | AUTH_ERRORS,
    )
    def post(self, request):
        data = _valid(ConsultationInput, request.data)
        organisation = _organisation_for(self.client, data.get("organisation"))
        try:
            with transaction.atomic():  # a consultation that cannot be published is not left behind as a draft
                consultation = consultations.consultation_create(
                    organisation=organisation,
                    user=None,
                    reference=data["reference"],
                    title=data["title"],
                    market_type=data["market_type"],
                    deadline=data.get("deadline"),
                    lots=data.get("lots", []),
                    required_pieces=data.get("required_pieces"),
                )
                if data["publish"]:
                    consultations.consultation_publish(consultation=consultation)
        except consultations.ConsultationError as error:
            raise exceptions.ValidationError({error.field or "non_field_errors": [error.message]}) from error
        consultation = _consultations(self.client).get(pk=consultation.pk)
        return Response(
            ConsultationSerializer(consultation, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class ConsultationDetailView(ApiView):
    required_scopes = reads("consultations:read")

    @extend_schema(
        operation_id="consultations_retrieve",
        tags=[CONSULTATIONS],
        summary="Lire une consultation",
        responses={200: ConsultationSerializer} | AUTH_ERRORS | NOT_FOUND,
    )
    def get(self, request, id: int):
        consultation = get_object_or_404(_consultations(self.client), pk=id)
        return Response(ConsultationSerializer(consultation, context={"request": request}).data)


class ConsultationPublishView(ApiView):
    required_scopes = {"POST": "consultations:write"}

    @extend_schema(
        operation_id="consultations_publish",
        tags=[CONSULTATIONS],
        summary="Publier une consultation",
        description="Ouvre la consultation aux entreprises. Publier deux fois ne change rien.",
        request=None,
        responses={
            200: ConsultationSerializer,
            409: _error("Publication refusée (`publish_refused`) : date limite passée, référence déjà publiée."),
        }
        | AUTH_ERRORS
        | NOT_FOUND,
    )
    def post(self, request, id: int):
        consultation = get_object_or_404(_consultations(self.client), pk=id)
        try:
            consultations.consultation_publish(consultation=consultation)
        except consultations.ConsultationError as error:
            raise ApiError(code="publish_refused", message=error.message, status_code=409, field=error.field) from error
        return Response(ConsultationSerializer(consultation, context={"request": request}).data)


# --- Candidatures -----------------------------------------------------------------------------------------


def _with_rows(queryset):
    """What the candidature JSON shows, prefetched once for a whole page."""
    return queryset.prefetch_related("documents", "exclusion_flags")


def _flag_condition(flag: str):
    """`exclusion` / `warning`: at least one flag of that severity (whatever the others); `none`: no flag at all."""
    flags = ExclusionFlag.objects.filter(candidature=OuterRef("pk"))
    return ~Exists(flags) if flag == "none" else Exists(flags.filter(severity=flag))


def _of_consultation(consultation):
    """The candidatures of a consultation already reached through the client's querysets (no second join to the
    client), each pointing to that consultation object."""
    return consultation.candidatures.select_related("company")


class ConsultationCandidaturesView(ApiView):
    required_scopes = reads("candidatures:read") | {"POST": "candidatures:write"}
    pagination_class = Pagination

    @extend_schema(
        operation_id="candidatures_list",
        tags=[CANDIDATURES],
        summary="Lister les candidatures d'une consultation",
        description="Par ordre de création, avec leurs motifs d'exclusion et points d'attention.",
        parameters=[CandidatureFilters],
        responses={200: CandidatureSerializer(many=True)} | INVALID | AUTH_ERRORS | NOT_FOUND,
    )
    def get(self, request, id: int):
        consultation = get_object_or_404(selectors.client_consultations(client=self.client), pk=id)
        filters = _valid(CandidatureFilters, request.query_params)
        queryset = _with_rows(_of_consultation(consultation))
        if filters.get("state"):
            queryset = queryset.filter(review.STATE_CONDITIONS[filters["state"]])
        if filters.get("flag"):
            queryset = queryset.filter(_flag_condition(filters["flag"]))
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset.order_by("pk"), request, view=self)
        context = self.candidature_context(organisation=consultation.organisation)
        return paginator.get_paginated_response(CandidatureSerializer(page, many=True, context=context).data)

    @extend_schema(
        operation_id="candidatures_create",
        tags=[CANDIDATURES],
        summary="Créer la candidature d'un SIRET",
        description=(
            "Crée la candidature et lance la récupération des données (201), ou rend celle qui existe déjà pour ce "
            "SIRET sur cette consultation (200, même identifiant). `company_link` est le lien à donner à l'entreprise "
            "pour qu'elle complète et dépose son dossier."
        ),
        request=SiretInput,
        responses={
            201: CandidatureSerializer,
            200: CandidatureSerializer,
            409: _error(
                "Consultation non publiée (`consultation_not_published`) ou date limite dépassée (`deadline_passed`)."
            ),
        }
        | BODY_ERRORS
        | AUTH_ERRORS
        | NOT_FOUND,
    )
    def post(self, request, id: int):
        consultation = get_object_or_404(selectors.client_consultations(client=self.client), pk=id)
        siret = _valid(SiretInput, request.data)["siret"]
        try:
            dossiers.candidature_open_check(consultation=consultation, siret=siret)
        except dossiers.DossierError as error:  # code: consultation_not_published or deadline_passed
            raise ApiError(code=error.code, message=error.message, status_code=409) from error
        candidature, created = candidature_start(
            consultation=consultation, siret=siret, requested_by=self.actor, owner=None
        )
        candidature = _with_rows(_of_consultation(consultation)).get(pk=candidature.pk)
        return Response(
            CandidatureSerializer(
                candidature, context=self.candidature_context(organisation=consultation.organisation)
            ).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class CandidatureDetailView(ApiView):
    required_scopes = reads("candidatures:read")

    @extend_schema(
        operation_id="candidatures_retrieve",
        tags=[CANDIDATURES],
        summary="Lire l'état d'une candidature",
        responses={200: CandidatureSerializer} | AUTH_ERRORS | NOT_FOUND,
    )
    def get(self, request, id: int):
        candidature = get_object_or_404(_with_rows(selectors.client_candidatures(client=self.client)), pk=id)
        context = self.candidature_context(organisation=candidature.consultation.organisation)
        return Response(CandidatureSerializer(candidature, context=context).data)


class CandidatureDossierView(ApiView):
    required_scopes = reads("candidatures:read")

    @extend_schema(
        operation_id="candidatures_dossier",
        tags=[CANDIDATURES],
        summary="Lire le dossier (passemarche.dossier/1)",
        description=(
            "Le dossier tel que l'imprime `assemble_dossier --json`. Pour une entreprise non diffusible, une "
            "organisation non habilitée aux données protégées reçoit `company` sans raison sociale, adresse ni "
            "dirigeants, avec `identite_protegee: true`. Chaque lecture est inscrite au journal d'audit."
        ),
        responses={200: DossierSerializer} | AUTH_ERRORS | NOT_FOUND,
    )
    def get(self, request, id: int):
        # Checked through the client's querysets (its pk only, else a 404), then loaded once with what the JSON shows.
        get_object_or_404(selectors.client_candidatures(client=self.client).values("pk"), pk=id)
        candidature = domain_selectors.candidature_for_dossier(pk=id)
        dossier = domain_selectors.dossier_as_dict(candidature=candidature)
        if protected.hidden_from_buyers_of(candidature):
            dossier["company"] = protected.masked_company(dossier["company"])
        self.record(candidature, DossierAccess.Action.VIEW)
        return Response(dossier)


class CandidatureRefreshView(ApiView):
    required_scopes = {"POST": "candidatures:write"}

    @extend_schema(
        operation_id="candidatures_refresh",
        tags=[CANDIDATURES],
        summary="Actualiser une source",
        description="Demande une nouvelle récupération d'une source du dossier ; le résultat arrive plus tard.",
        request=RefreshInput,
        responses={
            202: RefreshSerializer,
            409: _error("L'organisation n'est pas habilitée pour cette source aujourd'hui (`refresh_refused`)."),
        }
        | BODY_ERRORS
        | AUTH_ERRORS
        | NOT_FOUND,
    )
    def post(self, request, id: int):
        candidature = self.candidature(id)
        source = _valid(RefreshInput, request.data)["source"]
        fetch = SourceFetch.objects.defer("payload").filter(candidature=candidature, source=source).first()
        if fetch is None:
            raise exceptions.ValidationError(
                {"source": [_("Cette candidature n'a pas de source « %(source)s ».") % {"source": source}]}
            )
        fetch.candidature = candidature
        try:
            dossiers.fetch_restart(fetch=fetch, requested_by=self.actor)
        except dossiers.DossierError as error:
            raise ApiError(code="refresh_refused", message=error.message, status_code=409) from error
        self.record(candidature, DossierAccess.Action.REFRESH, detail=source)
        return Response(
            RefreshSerializer({"source": source, "status": SourceFetch.Status.PENDING.value}).data,
            status=status.HTTP_202_ACCEPTED,
        )


# --- Files ------------------------------------------------------------------------------------------------


def _binary(*content_types: str) -> dict:
    return {(200, content_type): OpenApiTypes.BINARY for content_type in content_types}


class DocumentView(FileView):
    required_scopes = reads("documents:read")

    @extend_schema(
        operation_id="candidatures_document",
        tags=[FILES],
        summary="Télécharger un justificatif",
        parameters=[OpenApiParameter("document_id", int, OpenApiParameter.PATH, description="`documents[].id`.")],
        responses=_binary("application/pdf", "image/jpeg", "image/png") | AUTH_ERRORS | NOT_FOUND,
    )
    def get(self, request, id: int, document_id: int):
        candidature = self.candidature(id)
        response = document_response(candidature, document_id)
        self.record(candidature, DossierAccess.Action.DOCUMENT, detail=response.filename)
        return response


class ReceiptView(FileView):
    required_scopes = reads("documents:read")

    @extend_schema(
        operation_id="candidatures_receipt",
        tags=[FILES],
        summary="Télécharger le récépissé de dépôt (PDF)",
        responses=_binary("application/pdf")
        | {
            409: _error("La candidature n'est pas déposée (`not_submitted`)."),
            503: _error("Le récépissé ne peut pas être produit pour le moment (`receipt_unavailable`)."),
        }
        | AUTH_ERRORS
        | NOT_FOUND,
    )
    def get(self, request, id: int):
        candidature = self.candidature(id)
        if not candidature.is_submitted:
            raise ApiError(
                code="not_submitted",
                message=_("La candidature n'est pas déposée : elle n'a pas encore de récépissé."),
                status_code=409,
            )
        response = receipt_response(candidature, hide_identity=protected.hidden_from_buyers_of(candidature))
        if response.status_code != status.HTTP_200_OK:
            raise ApiError(
                code="receipt_unavailable",
                message=_("Le récépissé ne peut pas être produit pour le moment : réessayez dans quelques minutes."),
                status_code=503,
            )
        self.record(candidature, DossierAccess.Action.RECEIPT)
        return response


class ZipView(FileView):
    required_scopes = reads("documents:read")

    @extend_schema(
        operation_id="candidatures_zip",
        tags=[FILES],
        summary="Télécharger le dossier complet (ZIP)",
        description="Le récépissé et le dossier déposé (s'il l'est), puis chaque justificatif ; envoyé en flux.",
        responses=_binary(ZIP) | AUTH_ERRORS | NOT_FOUND,
    )
    def get(self, request, id: int):
        candidature = self.candidature(id)
        response = zip_response(candidature, hide_identity=protected.hidden_from_buyers_of(candidature))
        self.record(candidature, DossierAccess.Action.ZIP)
        return response
