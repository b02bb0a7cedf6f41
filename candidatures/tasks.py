"""Thin tasks: ids in, reload the row, call the connector, hand the result to a service."""

from __future__ import annotations

import logging
import time
from typing import NoReturn

from celery import shared_task
from django.conf import settings

from connectors import errors, registry
from connectors.types import CallContext

from . import answer_cache, audit, selectors, services

logger = logging.getLogger(__name__)


# Run inline (tests, CELERY_TASK_ALWAYS_EAGER), a retry is a nested call: give up after this many rather than
# recurse without end (a lock held by another process for good).
EAGER_MAX_RETRIES = 20


@shared_task(bind=True, acks_late=True, max_retries=None, name="candidatures.tasks.fetch_source")
def fetch_source(self, fetch_id: int, requested_by: str = "") -> str:
    """Fetch one source of one candidature. Safe to run twice: a final fetch is left alone.

    A fresh answer in the cache (answer_cache) is served at once. Otherwise one upstream call at a time per source
    and identifier: a task finding that call under way elsewhere comes back shortly, before counting an attempt;
    the task holding it looks the cache up once more under the lock (the call it waited for may just have stored
    its answer). Redis down (the lock, the limiter, the breakers): `StateUnavailable`, retried like an upstream
    outage (`_retry_or_give_up`).
    """
    fetch = selectors.fetch_for_task(fetch_id=fetch_id)
    if fetch is None or fetch.is_final:
        return "skipped"
    answer = _fresh_answer(fetch)
    if answer is not None:
        return _fetch_source(self, fetch_id, requested_by, answer=answer)
    try:
        with answer_cache.upstream_lock(selectors.fetch_call_key(fetch=fetch)) as granted:
            if not granted:
                _come_back_later(self, countdown=answer_cache.COALESCING_RETRY_DELAY)
            return _fetch_source(self, fetch_id, requested_by, answer=_fresh_answer(fetch))
    except errors.StateUnavailable as exc:
        # The lock could not be asked for: an attempt like an upstream outage, bounded by FETCH_MAX_ATTEMPTS.
        fetch = services.fetch_begin_attempt(fetch_id=fetch_id, task_id=self.request.id or "")
        if fetch is None:
            return "skipped"
        return _retry_or_give_up(self, fetch=fetch, error=exc, retry_after=exc.retry_after)


def _fresh_answer(fetch):
    return None if fetch.bypass_cache else selectors.fetch_fresh_answer(fetch=fetch)


def _come_back_later(task, *, countdown: float) -> NoReturn:
    """Retry the task in `countdown` seconds without counting an attempt (our limiter said wait, or the same call
    is under way elsewhere), without holding a worker. Run inline there is no countdown: wait here first."""
    if task.request.is_eager:
        time.sleep(countdown)
        raise task.retry(countdown=countdown, max_retries=EAGER_MAX_RETRIES)
    raise task.retry(countdown=countdown)


def _fetch_source(self, fetch_id: int, requested_by: str, *, answer) -> str:
    """Count the attempt, check the habilitation, then serve `answer` (a fresh answer from the cache) or call."""
    fetch = services.fetch_begin_attempt(fetch_id=fetch_id, task_id=self.request.id or "")
    if fetch is None:
        return "skipped"
    candidature = fetch.candidature
    # The check before every call: a habilitation may have ended between the request and this attempt.
    refusal = selectors.habilitation_refusal(organisation=candidature.consultation.organisation, source=fetch.source)
    if refusal:
        services.fetch_store_unauthorized(fetch=fetch, reason=refusal)
        return fetch.status
    if answer is not None:
        return _store_or_retry(self, fetch=fetch, store=lambda: services.fetch_store_cached(fetch=fetch, answer=answer))
    source = registry.get_source(fetch.source)
    call = CallContext(
        recipient=candidature.consultation.organisation.siret,
        object=candidature.consultation.reference,
        no_cache=fetch.bypass_cache,
        reserve_document=bool(source.document_kind),
        on_call=lambda record: services.upstream_call_record(fetch=fetch, record=record, requested_by=requested_by),
    )
    try:
        result = source.call(siret=candidature.siret, siren=candidature.siren, call=call)
    except errors.Throttled as exc:
        # Our limiter said wait (no HTTP sent): this run was not an attempt; come back without holding a worker.
        services.fetch_attempt_cancel(fetch=fetch)
        _come_back_later(self, countdown=exc.retry_after)
    except errors.ProviderDown as exc:
        # The provider's breaker is open (no HTTP sent): end `error` now, retried by retry_due_fetches later.
        services.fetch_attempt_cancel(fetch=fetch)
        services.fetch_store_failure(
            fetch=fetch,
            error=exc,
            final=True,
            next_retry_at=services.scheduled_retry_at(delay_seconds=max(exc.retry_after, 1.0)),
        )
        return fetch.status
    except errors.Transient as exc:
        return _retry_or_give_up(self, fetch=fetch, error=exc, retry_after=exc.retry_after)
    except errors.ConnectorError as exc:
        # Permanent answers (404, 422, 451, malformed body, fake document…) are never retried.
        services.fetch_store_failure(fetch=fetch, error=exc, final=True)
        return fetch.status
    except Exception as exc:
        logger.exception("Unexpected failure fetching %s for fetch %s", fetch.source, fetch_id)
        return _retry_or_give_up(self, fetch=fetch, error=exc, retry_after=None)
    return _store_or_retry(self, fetch=fetch, store=lambda: services.fetch_store_result(fetch=fetch, result=result))


def _store_or_retry(task, *, fetch, store) -> str:
    """Store an answer (fresh or from the cache). If storing or deriving fails (its transaction rolled back), retry:
    without it the fetch would stay pending for good and the company could never submit. The fetch is reloaded,
    since the failed store changed it in memory."""
    try:
        store()
    except Exception as exc:
        logger.exception("Storing the answer of %s failed for fetch %s", fetch.source, fetch.pk)
        fetch = selectors.fetch_for_task(fetch_id=fetch.pk)
        return _retry_or_give_up(task, fetch=fetch, error=exc, retry_after=None)
    return fetch.status


def _retry_or_give_up(task, *, fetch, error: Exception, retry_after: float | None) -> str:
    delay = services.retry_delay(
        attempt=fetch.attempts,
        retry_after=retry_after,
        base=settings.FETCH_RETRY_BASE_DELAY,
        cap=settings.FETCH_RETRY_MAX_DELAY,
    )
    if retry_after is not None and retry_after > settings.FETCH_SCHEDULED_RETRY_AFTER:
        # e.g. URSSAF's manual check (retry_in 172800 s): a scheduled refresh, not a worker held for days.
        services.fetch_store_failure(
            fetch=fetch,
            error=error,
            final=True,
            next_retry_at=services.scheduled_retry_at(delay_seconds=retry_after),
        )
        return fetch.status
    if fetch.attempts >= settings.FETCH_MAX_ATTEMPTS:
        # Our own Redis down, not the provider: like an open breaker, the fetch ends `error` and retry_due_fetches
        # tries it again after the longest backoff.
        next_retry_at = (
            services.scheduled_retry_at(delay_seconds=settings.FETCH_RETRY_MAX_DELAY)
            if isinstance(error, errors.StateUnavailable)
            else None
        )
        services.fetch_store_failure(fetch=fetch, error=error, final=True, next_retry_at=next_retry_at)
        return fetch.status
    services.fetch_store_failure(fetch=fetch, error=error, final=False)
    raise task.retry(countdown=delay, exc=error)


@shared_task(name="candidatures.tasks.retry_due_fetches")
def retry_due_fetches() -> int:
    """Periodic: re-enqueue the fetches whose scheduled retry (a long `retry_in`) has come."""
    return sum(services.fetch_reschedule(fetch_id=fetch_id) for fetch_id in selectors.fetches_due_for_retry())


@shared_task(name="candidatures.tasks.purge_audit_trail")
def purge_audit_trail() -> dict:
    """Periodic: delete the audit rows older than AUDIT_RETENTION_DAYS."""
    result = audit.audit_purge()
    logger.info(
        "Audit trail purged before %s: %s upstream calls, %s dossier accesses",
        result.cutoff.isoformat(),
        result.upstream_calls,
        result.dossier_accesses,
    )
    return {"upstream_calls": result.upstream_calls, "dossier_accesses": result.dossier_accesses}


@shared_task(name="candidatures.tasks.vigilance_follow_up")
def vigilance_follow_up() -> dict:
    """Periodic: the duty of vigilance of awarded contracts (refresh the URSSAF attestation, alert the buyers)."""
    from dataclasses import asdict

    from . import vigilance

    report = vigilance.vigilance_follow_up()
    logger.info("Vigilance follow-up: %s", report)
    return asdict(report)
