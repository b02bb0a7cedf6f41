"""Writes. Every status change of a candidature or a fetch goes through a function of this module."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from connectors import errors, registry
from connectors.dgfip import ChiffresAffaires
from connectors.identifiers import siren_of, validate_siret
from connectors.inpi import ExtraitRne
from connectors.insee import InseeEtablissement, InseeUniteLegale
from connectors.types import CallRecord, FetchedDocument, SourceResult

from . import exclusions, habilitations, pieces, selectors, signals, storage
from .models import (
    Candidature,
    CompanyIdentity,
    Consultation,
    Document,
    ExclusionFlag,
    Habilitation,
    Organisation,
    SourceFetch,
    Turnover,
    UpstreamCall,
)

logger = logging.getLogger(__name__)

DEFAULT_CADRE_JURIDIQUE = (
    "Code de la commande publique, articles R2143-3 et suivants ; Dites-le-nous une fois "
    "(articles L113-12 et L114-8 du code des relations entre le public et l'administration)."
)
PUBLIC_PROCUREMENT_SOURCES = tuple(registry.SOURCES)


def organisation_get_or_create(
    *, siret: str, name: str = "", sources: Iterable[str] | None = None, granted_by: str = ""
) -> tuple[Organisation, bool]:
    """A buyer organisation; a new one gets the default public-procurement habilitation (or `sources`)."""
    siret = validate_siret(siret)
    granted = sorted(set(sources) if sources is not None else PUBLIC_PROCUREMENT_SOURCES)
    errors_by_field = habilitations.grant_errors(
        use_case=Habilitation.UseCase.MARCHES_PUBLICS, sources=granted, starts_on=None, ends_on=None
    )
    if errors_by_field:
        raise ValueError(" ".join(str(message) for messages in errors_by_field.values() for message in messages))
    with transaction.atomic():
        organisation, created = Organisation.objects.get_or_create(
            siret=siret, defaults={"name": name or f"Organisation {siret}"}
        )
        if created:
            Habilitation.objects.create(
                organisation=organisation,
                use_case=Habilitation.UseCase.MARCHES_PUBLICS,
                sources=granted,
                cadre_juridique=DEFAULT_CADRE_JURIDIQUE,
                starts_on=timezone.localdate(),
                granted_by=granted_by or "habilitation par défaut (marchés publics)",
            )
    return organisation, created


def consultation_get_or_create(
    *, organisation: Organisation, reference: str, title: str = "", market_type: str = "services"
) -> Consultation:
    consultation, _ = Consultation.objects.get_or_create(
        organisation=organisation,
        reference=reference[:50],
        defaults={
            "title": title or reference,
            "market_type": market_type,
            "required_pieces": pieces.default_pieces(market_type=market_type),
        },
    )
    return consultation


def sources_needed(*, consultation: Consultation) -> list[str]:
    """The sources a candidature of this consultation calls: those of the pieces it requires."""
    return pieces.sources_for(keys=consultation.required_pieces)


def candidature_start(
    *,
    consultation: Consultation,
    siret: str,
    requested_by: str = "",
    only_sources: Iterable[str] | None = None,
    owner=None,
) -> tuple[Candidature, bool]:
    """Create the candidature and fan out one task per source, on commit. Coming back resumes it.

    Sources the buyer organisation is not habilitated for (or outside `only_sources`) end `unauthorized`
    at once and are never called.
    """
    siret = validate_siret(siret)
    today = timezone.localdate()
    habilitations = selectors.procurement_habilitations(organisation=consultation.organisation)
    allowed = selectors.sources_in_force(habilitations=habilitations, on=today)
    if only_sources is not None:
        allowed &= set(only_sources)
    with transaction.atomic():
        candidature, created = Candidature.objects.get_or_create(
            consultation=consultation,
            siret=siret,
            defaults={"siren": siren_of(siret), "requested_by": requested_by, "owner": owner},
        )
        if not created:
            return candidature, False
        now = timezone.now()
        fetches = SourceFetch.objects.bulk_create(
            [
                SourceFetch(
                    candidature=candidature,
                    source=key,
                    status=SourceFetch.Status.PENDING if key in allowed else SourceFetch.Status.UNAUTHORIZED,
                    fetched_at=None if key in allowed else now,
                    error_code="" if key in allowed else UNAUTHORIZED_CODE,
                    error_detail=""
                    if key in allowed
                    else selectors.refusal_reason(habilitations=habilitations, source=key, on=today)
                    # Outside `--sources` but habilitated: the default words.
                    or selectors.refusal_reason(habilitations=[], source=key, on=today),
                )
                for key in sources_needed(consultation=consultation)
            ]
        )
        pending_ids = [fetch.pk for fetch in fetches if fetch.status == SourceFetch.Status.PENDING]
        if pending_ids:
            transaction.on_commit(lambda: _enqueue_fetches(pending_ids))
        else:
            _candidature_refresh_status(candidature)
    return candidature, True


UNAUTHORIZED_CODE = "non_habilite"


def fetch_store_unauthorized(*, fetch: SourceFetch, reason: str) -> SourceFetch:
    """End a fetch `unauthorized` without calling anything: no habilitation covers it today (`reason` says why)."""
    now = timezone.now()
    with transaction.atomic():
        candidature = Candidature.objects.select_for_update().get(pk=fetch.candidature_id)
        fetch.status = SourceFetch.Status.UNAUTHORIZED
        fetch.http_status = None
        fetch.error_code = UNAUTHORIZED_CODE
        fetch.error_detail = reason
        fetch.fetched_at = now
        fetch.next_retry_at = None
        fetch.save()
        _candidature_refresh_status(candidature)
    return fetch


def _enqueue_fetches(fetch_ids: list[int], requested_by: str = "") -> None:
    """One task per fetch; `requested_by` (who asked for a refresh) goes into the audit trail of its calls."""
    from celery import group

    from .tasks import fetch_source

    group(fetch_source.s(fetch_id, requested_by) for fetch_id in fetch_ids).apply_async()


def fetch_begin_attempt(*, fetch_id: int, task_id: str) -> SourceFetch | None:
    """Count an attempt on a pending fetch; None when there is nothing to do (already final: idempotence)."""
    with transaction.atomic():
        fetch = SourceFetch.objects.select_for_update().filter(pk=fetch_id).first()
        if fetch is None or fetch.is_final:
            return None
        fetch.attempts += 1
        fetch.task_id = task_id
        fetch.started_at = timezone.now()
        fetch.save(update_fields=["attempts", "task_id", "started_at"])
    return selectors.fetch_for_task(fetch_id=fetch_id)


def fetch_attempt_cancel(*, fetch: SourceFetch) -> SourceFetch:
    """Give back the attempt fetch_begin_attempt counted when no upstream call was made under it (our limiter
    said wait, or the provider's breaker is open): attempts count tries upstream. Kept when a call of this
    attempt was already recorded (e.g. the JSON answer came, then its document was throttled)."""
    with transaction.atomic():
        locked = SourceFetch.objects.select_for_update().get(pk=fetch.pk)
        if locked.attempts < 1 or UpstreamCall.objects.filter(fetch=locked, attempt=locked.attempts).exists():
            return fetch
        locked.attempts -= 1
        locked.save(update_fields=["attempts"])
    fetch.attempts = locked.attempts
    return fetch


def upstream_call_record(*, fetch: SourceFetch, record: CallRecord, requested_by: str = "") -> UpstreamCall:
    candidature = fetch.candidature
    return UpstreamCall.objects.create(
        fetch=fetch,
        source=fetch.source,
        provider=record.provider,
        organisation=candidature.consultation.organisation,
        siret=candidature.siret,
        siren=candidature.siren,
        recipient=record.params.get("recipient", ""),
        context=record.params.get("context", ""),
        object=record.params.get("object", ""),
        url=record.url,
        http_status=record.http_status,
        error_code=record.error_code,
        duration_ms=record.duration_ms,
        attempt=fetch.attempts,
        task_id=fetch.task_id,
        requested_by=requested_by or candidature.requested_by,
        rate_limit=record.rate_limit,
        response_excerpt=record.response_excerpt,
    )


def _store_document(*, fetch: SourceFetch, document: FetchedDocument, now: datetime) -> Document:
    name = storage.store_content(
        content=document.content,
        folder="documents",
        stem=document.sha256,
        extension=storage.EXTENSIONS[document.content_type],
    )
    return _document_attach(fetch=fetch, file=name, fetched_at=now, document=document)


def _document_attach(*, fetch: SourceFetch, file: str, fetched_at: datetime, document) -> Document:
    """The fetch's Document row for a stored file; `document` is a FetchedDocument or another candidature's
    Document of the same answer (a cached answer: both rows point at the same content-addressed file)."""
    stored, _ = Document.objects.update_or_create(
        candidature=fetch.candidature,
        source=fetch.source,
        kind=document.kind,
        source_url=document.source_url,
        defaults={
            "fetch": fetch,
            "file": file,
            "sha256": document.sha256,
            "size": document.size,
            "content_type": document.content_type,
            "valid_from": document.valid_from,
            "valid_until": document.valid_until,
            "fetched_at": fetched_at,
        },
    )
    return stored


def fetch_store_result(*, fetch: SourceFetch, result: SourceResult) -> SourceFetch:
    """Keep the answer and its documents, then re-derive identity, turnover and flags."""
    now = timezone.now()
    return _fetch_keep_answer(
        fetch=fetch,
        result=result,
        fetched_at=now,
        attach_documents=lambda: [
            _store_document(fetch=fetch, document=document, now=now) for document in result.documents
        ],
    )


def fetch_store_cached(*, fetch: SourceFetch, answer: SourceFetch) -> SourceFetch:
    """Serve the fetch another candidature's fresh answer for the same source and identifier (answer_cache,
    `selectors.fetch_fresh_answer`): no upstream call, so no UpstreamCall row.

    The fetch keeps the answer's `fetched_at` (when the State gave it, not now) and points at the fetch whose
    call gave it (`cached_from`, whose UpstreamCall rows are the audit trail of that call). Its documents are
    attached as new rows on the same stored files; identity, turnover and flags are derived as from a call.
    """
    origin_id = answer.cached_from_id or answer.pk
    if answer.payload is None:
        # A permanent answer that cost a call too (404, 451, not applicable): its words, as it was recorded.
        return _fetch_store_failed(
            fetch=fetch,
            words=(answer.http_status, answer.error_code, answer.error_detail),
            status=answer.status,
            fetched_at=answer.fetched_at,
            cached_from_id=origin_id,
        )
    return _fetch_keep_answer(
        fetch=fetch,
        result=registry.get_source(answer.source).parse(answer.payload),
        fetched_at=answer.fetched_at,
        attach_documents=lambda: [
            _document_attach(fetch=fetch, file=document.file.name, fetched_at=document.fetched_at, document=document)
            for document in answer.documents.all()
        ],
        cached_from_id=origin_id,
    )


def _fetch_keep_answer(
    *,
    fetch: SourceFetch,
    result: SourceResult,
    fetched_at: datetime,
    attach_documents: Callable[[], list[Document]],
    cached_from_id: int | None = None,
) -> SourceFetch:
    """Keep an answer (from its call, or from the cache) and its documents, then re-derive identity, turnover and
    flags; the fetch is final, its refresh (if one was asked) done."""
    now = timezone.now()
    with transaction.atomic():
        candidature = Candidature.objects.select_for_update().get(pk=fetch.candidature_id)
        kept = [document.pk for document in attach_documents()]
        # The source's answer is the truth now: its files of an earlier answer leave the dossier (the bytes stay
        # in the content-addressed storage, and the frozen dossier of a submission keeps their sha256).
        candidature.documents.filter(source=fetch.source, origin=Document.Origin.FETCHED).exclude(pk__in=kept).delete()
        fetch.status = SourceFetch.Status.REFUSED if result.withheld else SourceFetch.Status.OK
        fetch.payload = result.payload
        fetch.http_status = 200
        fetch.error_code = ""
        fetch.error_detail = ""
        fetch.fetched_at = fetched_at
        fetch.next_retry_at = None
        fetch.duration_ms = _elapsed_ms(fetch.started_at, now)
        fetch.cached_from_id = cached_from_id
        fetch.bypass_cache = False
        fetch.save()
        candidature_derive(candidature=candidature, source=fetch.source, result=result)
        _candidature_refresh_status(candidature)
    return fetch


def fetch_store_failure(
    *, fetch: SourceFetch, error: Exception, final: bool = True, next_retry_at: datetime | None = None
) -> SourceFetch:
    """Record a failed attempt. `final=False` keeps the fetch pending (a retry is on its way)."""
    if isinstance(error, errors.ConnectorError):
        words = (error.http_status, error.code or type(error).__name__, error.explanation)
    else:
        words = (None, "erreur_interne", "Erreur interne lors de la récupération.")
    status = next(
        (status for error_class, status in selectors.FINAL_STATUS_BY_ERROR if isinstance(error, error_class)),
        SourceFetch.Status.ERROR,
    )
    return _fetch_store_failed(
        fetch=fetch, words=words, status=status if final else None, fetched_at=None, next_retry_at=next_retry_at
    )


def _fetch_store_failed(
    *,
    fetch: SourceFetch,
    words: tuple[int | None, str, str],
    status: str | None,
    fetched_at: datetime | None,
    next_retry_at: datetime | None = None,
    cached_from_id: int | None = None,
) -> SourceFetch:
    """Keep a failure's words (http_status, error_code, error_detail); with a final `status`, end the fetch
    (fetched now, or at `fetched_at` for an answer from the cache) and refresh its candidature."""
    now = timezone.now()
    with transaction.atomic():
        candidature = Candidature.objects.select_for_update().get(pk=fetch.candidature_id)
        fetch.http_status, fetch.error_code, fetch.error_detail = words
        if status is not None:
            fetch.status = status
            fetch.fetched_at = fetched_at or now
            fetch.next_retry_at = next_retry_at
            fetch.duration_ms = _elapsed_ms(fetch.started_at, now)
            fetch.cached_from_id = cached_from_id
        fetch.save()
        if status is not None:
            _candidature_refresh_status(candidature)
    return fetch


def fetch_back_to_pending(*, fetch: SourceFetch, requested_by: str = "", fresh: bool) -> None:
    """Put a final fetch back to pending and enqueue it on commit; call it in a transaction, the row locked.

    `fresh` (someone asked for it now): a new count of attempts and no trace of the last error; a scheduled
    retry keeps both, it continues the same attempts.
    """
    fetch.status = SourceFetch.Status.PENDING
    fetch.next_retry_at = None
    fetch.cached_from = None
    if fresh:
        fetch.attempts = 0
        fetch.error_code = ""
        fetch.error_detail = ""
        # A new answer from the provider, not the cache's (answer_cache), until one comes.
        fetch.bypass_cache = True
    fetch.save(
        update_fields=[
            "status",
            "next_retry_at",
            "attempts",
            "error_code",
            "error_detail",
            "cached_from",
            "bypass_cache",
        ]
    )
    Candidature.objects.filter(pk=fetch.candidature_id).update(status=Candidature.Status.IN_PROGRESS, completed_at=None)
    fetch_id = fetch.pk
    transaction.on_commit(lambda: _enqueue_fetches([fetch_id], requested_by=requested_by))


def fetch_reschedule(*, fetch_id: int) -> bool:
    """Put a fetch whose scheduled retry is due back to pending, and enqueue it (periodic task)."""
    with transaction.atomic():
        fetch = SourceFetch.objects.select_for_update().filter(pk=fetch_id).first()
        if fetch is None or fetch.status != SourceFetch.Status.ERROR or fetch.next_retry_at is None:
            return False
        fetch_back_to_pending(fetch=fetch, fresh=False)
    return True


IDENTITY_SOURCES = ("insee_etablissement", "insee_unite_legale", "inpi_rne_extrait")


def candidature_derive(*, candidature: Candidature, source: str, result: SourceResult) -> None:
    """Rebuild what this source's new answer feeds (idempotent): its own flags, and the identity or the turnover
    when it carries them. Flags are per source, so the other answers are not parsed again; the identity merges
    the identity sources, the only stored answers re-read."""
    _exclusion_flags_refresh(
        candidature=candidature,
        source=source,
        flags=exclusions.evaluate({source: result}, today=timezone.localdate()),
    )
    if source in IDENTITY_SOURCES:
        stored = selectors.stored_results(candidature=candidature, sources=IDENTITY_SOURCES)
        _company_identity_refresh(candidature=candidature, results=stored | {source: result})
    if isinstance(result, ChiffresAffaires):
        _turnover_refresh(candidature=candidature, chiffres=result)


def _company_identity_refresh(*, candidature: Candidature, results: dict[str, SourceResult]) -> None:
    etablissement = results.get("insee_etablissement")
    unite_legale = results.get("insee_unite_legale")
    extrait = results.get("inpi_rne_extrait")
    if not any((etablissement, unite_legale, extrait)):
        return
    values: dict = {}
    provenance: dict[str, str] = {}

    def take(source: str, fields: dict) -> None:
        """Later sources win, but never with an empty value."""
        for name, value in fields.items():
            if value not in ("", None, []) or name not in values:
                values[name] = value
                if value not in ("", None, []):
                    provenance[name] = source

    if isinstance(extrait, ExtraitRne):
        take(
            "inpi_rne_extrait",
            {
                "raison_sociale": extrait.denomination,
                "forme_juridique": extrait.forme_juridique,
                "adresse": extrait.adresse_siege,
                "dirigeants": [
                    {"nom": dirigeant.nom, "prenoms": dirigeant.prenoms, "qualite": dirigeant.qualite}
                    for dirigeant in extrait.dirigeants
                ],
            },
        )
    if isinstance(unite_legale, InseeUniteLegale):
        take(
            "insee_unite_legale",
            {
                "raison_sociale": unite_legale.raison_sociale,
                "categorie_entreprise": unite_legale.categorie_entreprise,
                "forme_juridique": unite_legale.forme_juridique.libelle,
                "diffusible": unite_legale.diffusible,
                "ess": unite_legale.ess,
            },
        )
    if isinstance(etablissement, InseeEtablissement):
        # The establishment answers for the SIRET that candidates: it wins on address, activity and state.
        take(
            "insee_etablissement",
            {
                "raison_sociale": etablissement.raison_sociale,
                "enseigne": etablissement.enseigne,
                "categorie_entreprise": etablissement.categorie_entreprise,
                "forme_juridique": etablissement.forme_juridique.libelle,
                "activite_code": etablissement.activite_principale.code,
                "activite_libelle": etablissement.activite_principale.libelle,
                "adresse": etablissement.adresse,
                "etat_administratif": etablissement.etat_administratif,
                "diffusible": etablissement.diffusible,
                "ess": etablissement.ess,
            },
        )
    CompanyIdentity.objects.update_or_create(candidature=candidature, defaults=values | {"provenance": provenance})


def _turnover_refresh(*, candidature: Candidature, chiffres: ChiffresAffaires) -> None:
    candidature.turnovers.all().delete()
    Turnover.objects.bulk_create(
        Turnover(candidature=candidature, montant=exercice.montant, date_fin_exercice=exercice.date_fin_exercice)
        for exercice in chiffres.exercices
    )


def _exclusion_flags_refresh(*, candidature: Candidature, source: str, flags: list[exclusions.Flag]) -> None:
    """Update in place (a flag keeps its id across refreshes); drop the flags the source no longer raises."""
    for flag in flags:
        row, created = ExclusionFlag.objects.update_or_create(
            candidature=candidature,
            code=flag.code,
            source=flag.source,
            defaults={"severity": flag.severity, "ground": flag.ground, "evidence": flag.evidence},
        )
        if created:
            signals.flag_raised.send(sender=ExclusionFlag, flag=row)
    candidature.exclusion_flags.filter(source=source).exclude(code__in=[flag.code for flag in flags]).delete()


def _candidature_refresh_status(candidature: Candidature) -> None:
    """`complete` once every source reached a final status."""
    pending = candidature.fetches.filter(status=SourceFetch.Status.PENDING).exists()
    status = Candidature.Status.IN_PROGRESS if pending else Candidature.Status.COMPLETE
    if candidature.status != status:
        candidature.status = status
        candidature.completed_at = None if pending else timezone.now()
        candidature.save(update_fields=["status", "completed_at"])
        if not pending:
            signals.dossier_completed.send(sender=Candidature, candidature=candidature)


def _elapsed_ms(started_at: datetime | None, now: datetime) -> int | None:
    return int((now - started_at).total_seconds() * 1000) if started_at else None


def retry_delay(*, attempt: int, retry_after: float | None, base: float, cap: float) -> float:
    """Exponential backoff (base·2^(attempt-1)), never shorter than what the API asked for."""
    backoff = min(cap, base * (2 ** max(0, attempt - 1)))
    return max(backoff, retry_after or 0.0)


def scheduled_retry_at(*, delay_seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=delay_seconds)
