"""Webhooks: the domain's facts become signed notifications to the platforms that subscribed to them.

Emission (called by platforms.receivers, inside the domain's transaction): one WebhookDelivery row per active
endpoint subscribed to the event, of an active client acting for the fact's organisation; the rows commit or roll
back with the fact, and their tasks are enqueued on commit. Nothing is lost if the broker is down at that moment:
the periodic sweep enqueues every delivery that is due and was not sent.

Delivery (platforms.tasks.deliver_webhook → `delivery_send`): claim the row (pending and due → sending: only one
worker sends it), POST outside any transaction, record the attempt, then delivered (2xx), pending again with an
exponential backoff (timeout, no connection, 5xx, 429), or failed for good (any other answer, a redirect included,
an address the SSRF guard refuses, or the last allowed attempt).

A body never carries the company's identity, only its SIRET: a platform reads the dossier through the API, where
protected identity is masked.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from candidatures import review
from candidatures.consultations import candidate_link
from candidatures.models import Candidature, Consultation, ExclusionFlag, Organisation
from candidatures.services import retry_delay

from . import outbound, webhook_verification
from .models import ApiClient, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

SECRET_MIN_LENGTH = 32
# A retry further away than this is left to the sweep rather than held by a worker as a countdown (a broker such
# as Redis hands an unacknowledged message out again after its visibility timeout, an hour).
COUNTDOWN_LIMIT_SECONDS = 15 * 60
# The sweep leaves alone what the on-commit enqueue or a countdown is about to send.
SWEEP_GRACE = timedelta(minutes=1)
SWEEP_BATCH = 500


class WebhookError(Exception):
    """A subscription refused, with the field it is about."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


# --- Bodies -------------------------------------------------------------------------------------------------


def consultation_data(*, consultation: Consultation) -> dict:
    return {
        "consultation": {
            "id": consultation.pk,
            "reference": consultation.reference,
            "title": consultation.title,
            "organisation_siret": consultation.organisation.siret,
            "candidate_link": candidate_link(consultation),
        }
    }


def candidature_data(*, candidature: Candidature) -> dict:
    return {
        "candidature": {
            "id": candidature.pk,
            "siret": candidature.siret,
            "consultation_id": candidature.consultation_id,
            "consultation_reference": candidature.consultation.reference,
            "state": review.state_of(candidature),
            # Where the platform reads it (and its dossier): an absolute link to the API.
            "url": settings.SITE_URL.rstrip("/") + reverse("api_candidature", kwargs={"id": candidature.pk}),
        }
    }


def flag_data(*, flag: ExclusionFlag) -> dict:
    # The evidence stays out: it may name the company (a BODACC announcement); the dossier has it, masked if need be.
    return candidature_data(candidature=flag.candidature) | {
        "flag": {"code": flag.code, "severity": flag.severity, "ground": flag.ground, "source": flag.source}
    }


def delivery_body(*, payload: dict) -> bytes:
    """The bytes sent and signed: the same at every attempt, whatever order the database keeps the keys in."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def delivery_headers(*, delivery: WebhookDelivery, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        webhook_verification.TIMESTAMP_HEADER: str(timestamp),
        webhook_verification.SIGNATURE_HEADER: webhook_verification.sign(
            secret=delivery.endpoint.secret, body=body, timestamp=timestamp
        ),
        webhook_verification.EVENT_HEADER: delivery.event,
        webhook_verification.DELIVERY_HEADER: str(delivery.event_id),
    }


# --- Emission -----------------------------------------------------------------------------------------------


def subscribed_endpoints(*, organisation: Organisation, event: str) -> list[WebhookEndpoint]:
    endpoints = WebhookEndpoint.objects.filter(
        is_active=True,
        deleted_at__isnull=True,
        api_client__is_active=True,
        api_client__organisations=organisation,
    ).distinct()
    # In Python: JSON `contains` is not available on SQLite, and an organisation has few endpoints.
    return [endpoint for endpoint in endpoints if event in endpoint.events]


def event_emit(*, organisation: Organisation, event: str, data: Callable[[], dict]) -> list[int]:
    """A delivery per subscribed endpoint, in the caller's transaction; their tasks enqueued on commit."""
    event = str(event)  # the value, not the WebhookEvent member
    endpoints = subscribed_endpoints(organisation=organisation, event=event)
    if not endpoints:
        return []
    now = timezone.now()
    event_id = uuid.uuid4()
    payload = {"id": str(event_id), "type": event, "created_at": now.isoformat(), "data": data()}
    ids = [
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            organisation=organisation,
            event_id=event_id,
            event=event,
            payload=payload,
            next_attempt_at=now,
        ).pk
        for endpoint in endpoints
    ]
    _enqueue_on_commit(ids)
    return ids


def consultation_published_emit(*, consultation: Consultation) -> list[int]:
    return event_emit(
        organisation=consultation.organisation,
        event=WebhookEvent.CONSULTATION_PUBLISHED,
        data=lambda: consultation_data(consultation=consultation),
    )


def candidature_event_emit(*, candidature: Candidature, event: str) -> list[int]:
    return event_emit(
        organisation=candidature.consultation.organisation,
        event=event,
        data=lambda: candidature_data(candidature=candidature),
    )


def flag_raised_emit(*, flag: ExclusionFlag) -> list[int]:
    return event_emit(
        organisation=flag.candidature.consultation.organisation,
        event=WebhookEvent.CANDIDATURE_FLAG_RAISED,
        data=lambda: flag_data(flag=flag),
    )


def _enqueue(delivery_id: int, countdown: float | None = None) -> None:
    from .tasks import deliver_webhook

    deliver_webhook.apply_async((delivery_id,), countdown=countdown)


def _enqueue_all(delivery_ids: Iterable[int], countdown: float | None = None) -> None:
    for delivery_id in delivery_ids:
        _enqueue(delivery_id, countdown=countdown)


def _enqueue_on_commit(delivery_ids: list[int], countdown: float | None = None) -> None:
    def enqueue() -> None:
        _enqueue_all(delivery_ids, countdown=countdown)

    # robust: a broker down at commit time must not fail the request that made the fact; the sweep sends them.
    transaction.on_commit(enqueue, robust=True)


# --- Delivery -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # the delivery's status after this run, or "skipped" (not pending and due: nothing done)
    retry_in: float | None = None


def delivery_claim(*, delivery_id: int) -> WebhookDelivery | None:
    """Pending and due → sending, in one UPDATE: of two workers given the same delivery, one sends it."""
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=WebhookDelivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint__api_client").get(pk=delivery_id)


def delivery_send(*, delivery_id: int) -> Outcome:
    """One attempt of one delivery (the task's body). Safe to run twice: only a pending, due delivery is sent."""
    delivery = delivery_claim(delivery_id=delivery_id)
    if delivery is None:
        return Outcome(status="skipped")
    endpoint = delivery.endpoint
    if not endpoint.is_active or endpoint.deleted_at is not None or not endpoint.api_client.is_active:
        # Nothing is sent, so no attempt row: an admin may re-send it once the subscription is active again.
        _delivery_finish(
            delivery=delivery,
            status=WebhookDelivery.Status.FAILED,
            last_error=_("Abonnement ou client désactivé : notification non envoyée."),
        )
        return Outcome(status=WebhookDelivery.Status.FAILED)
    if delivery.organisation_id and not endpoint.api_client.organisations.filter(pk=delivery.organisation_id).exists():
        _delivery_finish(
            delivery=delivery,
            status=WebhookDelivery.Status.FAILED,
            last_error=_("Le client n'agit plus pour cette organisation : notification non envoyée."),
        )
        return Outcome(status=WebhookDelivery.Status.FAILED)
    body = delivery_body(payload=delivery.payload)
    # Signed anew at each attempt: the timestamp says when this attempt left, for the receiver's tolerance.
    headers = delivery_headers(delivery=delivery, body=body, timestamp=int(time.time()))
    started = time.monotonic()
    answer: outbound.Answer | None = None
    error: outbound.OutboundError | None = None
    try:
        answer = outbound.post(url=endpoint.url, body=body, headers=headers)
    except outbound.OutboundError as exc:
        error = exc
    except Exception:
        logger.exception("Unexpected failure delivering webhook %s", delivery_id)
        error = outbound.OutboundError(_("Erreur interne lors de l'envoi."))
    duration_ms = int((time.monotonic() - started) * 1000)
    return _attempt_record(delivery=delivery, answer=answer, error=error, duration_ms=duration_ms)


def _verdict(*, answer: outbound.Answer | None, error: outbound.OutboundError | None) -> tuple[str, str]:
    """(delivered | retry | failed, what went wrong in French) of one exchange."""
    if error is not None:
        return ("retry" if error.retryable else "failed"), error.message
    status = answer.status
    if 200 <= status < 300:
        return "delivered", ""
    if status >= 500 or status == 429:
        return "retry", _("Réponse HTTP %(status)s.") % {"status": status}
    if 300 <= status < 400:
        return "failed", _("Réponse HTTP %(status)s : redirection non suivie (indiquez l'adresse finale).") % {
            "status": status
        }
    return "failed", _("Réponse HTTP %(status)s : refusée par la plateforme, non retentée.") % {"status": status}


def _attempt_record(
    *,
    delivery: WebhookDelivery,
    answer: outbound.Answer | None,
    error: outbound.OutboundError | None,
    duration_ms: int,
) -> Outcome:
    verdict, message = _verdict(answer=answer, error=error)
    now = timezone.now()
    delay: float | None = None
    if verdict == "delivered":
        status = WebhookDelivery.Status.DELIVERED
    elif verdict == "retry" and delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        status = WebhookDelivery.Status.PENDING
        delay = retry_delay(
            attempt=delivery.attempts,
            retry_after=answer.retry_after if answer is not None and answer.status == 429 else None,
            base=settings.WEBHOOK_RETRY_BASE_DELAY,
            cap=settings.WEBHOOK_RETRY_MAX_DELAY,
        )
    else:
        status = WebhookDelivery.Status.FAILED
        if verdict == "retry":
            message = _("%(error)s Abandon après %(count)s tentatives.") % {
                "error": message,
                "count": delivery.attempts,
            }
    with transaction.atomic():
        # Only if still ours: a sweep that took a send for dead may have handed the delivery to another worker.
        updated = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=WebhookDelivery.Status.SENDING, claimed_at=delivery.claimed_at
        ).update(
            status=status,
            claimed_at=None,
            next_attempt_at=now + timedelta(seconds=delay) if delay is not None else None,
            delivered_at=now if status == WebhookDelivery.Status.DELIVERED else None,
            last_error=message[:255],
        )
        retried = bool(updated) and delay is not None
        WebhookAttempt.objects.create(
            delivery=delivery,
            # Counted, not `delivery.attempts`: that one restarts at each re-send, the rows number every series.
            number=delivery.attempt_rows.count() + 1,
            url=delivery.endpoint.url[:1024],
            http_status=answer.status if answer is not None else None,
            error=message[:255],
            duration_ms=duration_ms,
            response_excerpt=answer.excerpt if answer is not None else "",
            retried=retried,
        )
        if retried and delay <= COUNTDOWN_LIMIT_SECONDS:
            _enqueue_on_commit([delivery.pk], countdown=delay)
    if not updated:
        return Outcome(status="skipped")
    return Outcome(status=status, retry_in=delay)


def _delivery_finish(*, delivery: WebhookDelivery, status: str, last_error: str) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.SENDING).update(
        status=status, claimed_at=None, next_attempt_at=None, last_error=last_error[:255]
    )


def stuck_after_seconds() -> float:
    """How long a send may take before the sweep takes its worker for dead: past the task's hard time limit (the
    worker is killed then), or the HTTP timeouts when there is none, plus a margin."""
    limit = getattr(settings, "CELERY_TASK_TIME_LIMIT", None) or 0
    return max(limit, settings.WEBHOOK_CONNECT_TIMEOUT + settings.WEBHOOK_READ_TIMEOUT) + 60


@dataclass(frozen=True)
class SweepResult:
    released: int  # sends interrupted (worker killed), pending again
    abandoned: int  # sends interrupted at their last allowed attempt, failed
    enqueued: int


def deliveries_sweep() -> SweepResult:
    """Periodic: release the sends of dead workers, and enqueue every pending delivery that is due."""
    now = timezone.now()
    stuck = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.SENDING, claimed_at__lt=now - timedelta(seconds=stuck_after_seconds())
    )
    interrupted = _("Envoi interrompu (processus arrêté pendant l'envoi).")
    abandoned = stuck.filter(attempts__gte=settings.WEBHOOK_MAX_ATTEMPTS).update(
        status=WebhookDelivery.Status.FAILED, claimed_at=None, next_attempt_at=None, last_error=interrupted
    )
    # Due a grace period ago, so that the query below enqueues them now.
    released = stuck.update(
        status=WebhookDelivery.Status.PENDING,
        claimed_at=None,
        next_attempt_at=now - SWEEP_GRACE,
        last_error=interrupted,
    )
    due = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        .filter(
            Q(next_attempt_at__lte=now - SWEEP_GRACE)
            | Q(next_attempt_at__isnull=True, created_at__lte=now - SWEEP_GRACE)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    _enqueue_all(due)
    return SweepResult(released=released, abandoned=abandoned, enqueued=len(due))


def delivery_resend(*, delivery: WebhookDelivery) -> bool:
    """A new series of attempts (the earlier attempt rows stay), enqueued on commit. Not while it is being sent."""
    now = timezone.now()
    with transaction.atomic():
        updated = (
            WebhookDelivery.objects.filter(pk=delivery.pk)
            .exclude(status=WebhookDelivery.Status.SENDING)
            .update(
                status=WebhookDelivery.Status.PENDING,
                attempts=0,
                next_attempt_at=now,
                claimed_at=None,
                delivered_at=None,
                last_error="",
            )
        )
        if updated:
            _enqueue_on_commit([delivery.pk])
    return bool(updated)


# --- Subscriptions ------------------------------------------------------------------------------------------


def client_webhook_endpoints(*, api_client: ApiClient) -> QuerySet[WebhookEndpoint]:
    """The subscriptions a client sees through the API (not those it deleted)."""
    return WebhookEndpoint.objects.filter(api_client=api_client, deleted_at__isnull=True).order_by("pk")


URL_MAX_LENGTH = 1024
SECRET_MAX_LENGTH = 128


def webhook_events_clean(events: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(events))
    if not wanted:
        raise WebhookError(_("Choisissez au moins un événement."), field="events")
    unknown = [event for event in wanted if event not in WebhookEvent.values]
    if unknown:
        raise WebhookError(
            _("Événement inconnu : %(event)s. Événements possibles : %(known)s.")
            % {"event": unknown[0], "known": ", ".join(WebhookEvent.values)},
            field="events",
        )
    return wanted


def webhook_subscription_check(*, url: str, events: Iterable[str], secret: str = "") -> list[str]:
    """The rules of a subscription, for the API, the admin form and the creation itself: raises WebhookError (with
    its field) at the first refusal; returns the events without duplicates. An empty secret is one to generate."""
    if len(url) > URL_MAX_LENGTH:
        raise WebhookError(
            _("L'adresse ne doit pas dépasser %(count)s caractères.") % {"count": URL_MAX_LENGTH}, field="url"
        )
    error = outbound.subscription_url_error(url)
    if error:
        raise WebhookError(error, field="url")
    events = webhook_events_clean(events)
    if secret and not SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH:
        raise WebhookError(
            _("Le secret doit compter de %(min)s à %(max)s caractères.")
            % {"min": SECRET_MIN_LENGTH, "max": SECRET_MAX_LENGTH},
            field="secret",
        )
    return events


def webhook_endpoint_create(
    *, api_client: ApiClient, url: str, events: Iterable[str], secret: str = "", is_active: bool = True
) -> tuple[WebhookEndpoint, str]:
    """A subscription; returns it with its signing secret in clear (generated when not given), to show once."""
    events = webhook_subscription_check(url=url, events=events, secret=secret)
    secret = secret or secrets.token_urlsafe(SECRET_MIN_LENGTH)
    endpoint = WebhookEndpoint.objects.create(
        api_client=api_client, url=url, events=events, secret=secret, is_active=is_active
    )
    return endpoint, secret


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """The platform unsubscribes: nothing more is sent; the row and its deliveries stay for the admin."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, deleted_at=timezone.now())
