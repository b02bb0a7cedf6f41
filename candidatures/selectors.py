"""Reads: what the views, the command, the tasks and the API need, in as few queries as they need."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from connectors import errors, registry
from connectors.types import IdentifierKind, SourceResult

from . import answer_cache
from .models import Candidature, Habilitation, Organisation, SourceFetch

DOSSIER_SCHEMA = "passemarche.dossier/1"


def procurement_habilitations(*, organisation: Organisation) -> list[Habilitation]:
    """The organisation's public-procurement habilitations, whatever their dates: one query, from which
    `sources_in_force` and `refusal_reason` decide without asking again."""
    return list(organisation.habilitations.filter(use_case=Habilitation.UseCase.MARCHES_PUBLICS))


def sources_in_force(*, habilitations: list[Habilitation], on: date) -> set[str]:
    allowed: set[str] = set()
    for habilitation in habilitations:
        if habilitation.is_active_on(on):
            allowed.update(habilitation.sources)
    return allowed & set(registry.SOURCES)


def refusal_reason(*, habilitations: list[Habilitation], source: str, on: date) -> str:
    """Why a source is not called on that day, in the words of the habilitations; "" when it may be called."""
    covering = [habilitation for habilitation in habilitations if source in habilitation.sources]
    if any(habilitation.is_active_on(on) for habilitation in covering):
        return ""
    upcoming = min((h.starts_on for h in covering if h.starts_on > on), default=None)
    ended = max((h.ends_on for h in covering if h.ends_on is not None and h.ends_on < on), default=None)
    if upcoming is not None:
        return _("L'habilitation de l'organisation acheteuse pour cette donnée ne commence que le %(date)s.") % {
            "date": upcoming.strftime("%d/%m/%Y")
        }
    if ended is not None:
        return _("L'habilitation de l'organisation acheteuse pour cette donnée a pris fin le %(date)s.") % {
            "date": ended.strftime("%d/%m/%Y")
        }
    return _("L'organisation acheteuse n'est pas habilitée à recevoir cette donnée.")


def habilitation_refusal(*, organisation: Organisation, source: str, on: date | None = None) -> str:
    """The check before a call: "" when the organisation may receive this source that day, else why not."""
    return refusal_reason(
        habilitations=procurement_habilitations(organisation=organisation),
        source=source,
        on=on or timezone.localdate(),
    )


def habilitated_sources(*, organisation: Organisation, on: date | None = None) -> set[str]:
    """Sources the organisation may receive for public procurement on that day."""
    return sources_in_force(
        habilitations=procurement_habilitations(organisation=organisation), on=on or timezone.localdate()
    )


def habilitations_expiring(*, within_days: int, on: date | None = None) -> list[Habilitation]:
    """Habilitations in force that end within that many days: the admins renew them or let them end knowingly."""
    on = on or timezone.localdate()
    return list(
        Habilitation.objects.in_force(on)
        .filter(ends_on__lte=on + timedelta(days=within_days))
        .select_related("organisation")
        .order_by("ends_on", "organisation__name")
    )


def may_see_protected_identity(*, organisation: Organisation | None, on: date | None = None) -> bool:
    """Whether the organisation is habilitated for the protected identity of non-diffusible companies."""
    if organisation is None:
        return False
    return (
        organisation.habilitations.in_force(on or timezone.localdate())
        .filter(use_case=Habilitation.UseCase.MARCHES_PUBLICS, protected_data=True)
        .exists()
    )


def fetch_for_task(*, fetch_id: int) -> SourceFetch | None:
    return SourceFetch.objects.select_related("candidature__consultation__organisation").filter(pk=fetch_id).first()


# The final status of a fetch whose call ended in a permanent answer (services.fetch_store_failure); any other
# error ends `error`.
FINAL_STATUS_BY_ERROR: tuple[tuple[type[errors.ConnectorError], str], ...] = (
    (errors.NotFound, SourceFetch.Status.NOT_FOUND),
    (errors.NotApplicable, SourceFetch.Status.NOT_APPLICABLE),
    (errors.Refused, SourceFetch.Status.REFUSED),
)
# The answers another candidature may be served (answer_cache): an answer, or a permanent answer that cost a call.
CACHED_STATUSES = (SourceFetch.Status.OK, *(status for _, status in FINAL_STATUS_BY_ERROR))


def fetch_fresh_answer(*, fetch: SourceFetch, now: datetime | None = None) -> SourceFetch | None:
    """The latest answer any candidature got for this fetch's source and identifier (the SIRET, or the SIREN of
    a SIREN-keyed source), with its documents, while it is fresh (answer_cache); None when the source must be
    called. Say nothing of habilitations: the task checks them first."""
    now = now or timezone.now()
    source = registry.get_source(fetch.source)
    candidature = fetch.candidature
    same_identifier = (
        {"candidature__siret": candidature.siret}
        if source.identifier is IdentifierKind.SIRET
        else {"candidature__siren": candidature.siren}
    )
    answer = (
        SourceFetch.objects.filter(
            source=fetch.source,
            status__in=CACHED_STATUSES,
            fetched_at__gt=now - answer_cache.MAX_AGE,
            **same_identifier,
        )
        .exclude(pk=fetch.pk)
        .order_by("-fetched_at")
        .prefetch_related("documents")
        .first()
    )
    if answer is None:
        return None
    valid_until = min(
        (document.valid_until for document in answer.documents.all() if document.valid_until), default=None
    )
    fresh = answer_cache.is_fresh(
        freshness=source.freshness, fetched_at=answer.fetched_at, valid_until=valid_until, now=now
    )
    return answer if fresh else None


def fetch_call_key(*, fetch: SourceFetch) -> str:
    """The coalescing key of the upstream call of this fetch (answer_cache.upstream_lock): its source and the
    identifier it is called with, whichever candidature asks."""
    source = registry.get_source(fetch.source)
    candidature = fetch.candidature
    identifier = candidature.siret if source.identifier is IdentifierKind.SIRET else candidature.siren
    return answer_cache.coalescing_key(source=source.key, identifier=identifier)


def stored_results(*, candidature: Candidature, sources: Iterable[str]) -> dict[str, SourceResult]:
    """Typed results of these sources rebuilt from the raw answers kept on the fetch rows (no HTTP)."""
    fetches = candidature.fetches.filter(
        source__in=list(sources),
        status__in=(SourceFetch.Status.OK, SourceFetch.Status.REFUSED),
        payload__isnull=False,
    ).values_list("source", "payload")
    return {source: registry.get_source(source).parse(payload) for source, payload in fetches}


def candidature_for_dossier(*, pk: int) -> Candidature:
    return (
        Candidature.objects.select_related("consultation__organisation", "company")
        .prefetch_related(
            Prefetch("fetches", queryset=SourceFetch.objects.defer("payload").order_by("source")),
            "turnovers",
            "documents",
            "exclusion_flags",
        )
        .get(pk=pk)
    )


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def dossier_as_dict(*, candidature: Candidature) -> dict:
    """The dossier JSON (`passemarche.dossier/1`), as `assemble_dossier` prints it and the API serves it."""
    company = getattr(candidature, "company", None)
    return {
        "schema": DOSSIER_SCHEMA,
        "siret": candidature.siret,
        "siren": candidature.siren,
        "status": candidature.status,
        "company": None
        if company is None
        else {
            "raison_sociale": company.raison_sociale,
            "categorie_entreprise": company.categorie_entreprise,
            "forme_juridique": company.forme_juridique,
            "activite_principale": {"code": company.activite_code, "libelle": company.activite_libelle},
            "adresse": company.adresse,
            "etat_administratif": company.etat_administratif,
            "ess": company.ess,
            "diffusible": company.diffusible,
            "dirigeants": company.dirigeants,
        },
        "chiffres_affaires": [
            {"montant": turnover.montant, "date_fin_exercice": _iso(turnover.date_fin_exercice)}
            for turnover in candidature.turnovers.all()
        ],
        "sources": {
            fetch.source: {
                "status": fetch.status,
                "http_status": fetch.http_status,
                "error_code": fetch.error_code,
                "attempts": fetch.attempts,
                "fetched_at": _iso(fetch.fetched_at),
            }
            for fetch in candidature.fetches.all()
        },
        "documents": [
            {
                "source": document.source,
                "kind": document.kind,
                "sha256": document.sha256,
                "size": document.size,
                "content_type": document.content_type,
                "valid_until": _iso(document.valid_until),
            }
            for document in sorted(candidature.documents.all(), key=lambda d: (d.source, d.kind))
        ],
        "exclusion_flags": [
            {
                "code": flag.code,
                "severity": flag.severity,
                "ground": flag.ground,
                "source": flag.source,
                "evidence": flag.evidence,
            }
            for flag in sorted(candidature.exclusion_flags.all(), key=lambda f: (f.severity, f.code, f.source))
        ],
    }


def fetches_due_for_retry(*, now=None) -> list[int]:
    now = now or timezone.now()
    return list(
        SourceFetch.objects.filter(status=SourceFetch.Status.ERROR, next_retry_at__lte=now).values_list("pk", flat=True)
    )


def identity_state(*, candidature: Candidature) -> str:
    fetch = next((f for f in candidature.fetches.all() if f.source == "insee_etablissement"), None)
    return identity_state_of(etablissement_fetch=fetch, company=getattr(candidature, "company", None))


def identity_state_of(*, etablissement_fetch: SourceFetch | None, company) -> str:
    """Where the establishment's identity stands: pending, unknown (not in SIRENE), closed, known or error."""
    if etablissement_fetch is None or etablissement_fetch.status == SourceFetch.Status.PENDING:
        return "pending"
    if etablissement_fetch.status == SourceFetch.Status.NOT_FOUND:
        return "unknown"
    if etablissement_fetch.status != SourceFetch.Status.OK:
        return "error"
    if company is not None and company.etat_administratif == "F":
        return "closed"
    return "known"
