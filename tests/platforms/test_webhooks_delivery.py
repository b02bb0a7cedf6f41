"""Delivering webhooks to a real local receiver: signature, retries on 5xx/429/timeouts only, no redirect, the SSRF
guard, every attempt recorded; and the sweep that sends what was not sent.

Attempts are run in process (the task's function) and the clock is moved by setting `next_attempt_at`; the real
worker is in test_webhooks_integration.py.
"""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from platforms import tasks, webhooks
from platforms.models import WebhookAttempt, WebhookDelivery
from platforms.webhook_verification import InvalidSignature, verify
from tests.platforms.helpers import publish_to_subscriber
from tests.platforms.receiver import Reply

pytestmark = pytest.mark.django_db


SECRET = "secret-de-test-" + "x" * 32


@pytest.fixture
def emit(platform, consultation, queued, django_capture_on_commit_callbacks):
    """Subscribe `platform` at `url`, publish the consultation (the real service): its one delivery."""

    def emit(url: str) -> WebhookDelivery:
        with django_capture_on_commit_callbacks(execute=True):
            delivery = publish_to_subscriber(platform=platform, consultation=consultation, url=url, secret=SECRET)
        assert queued == [(delivery.pk, None)]
        queued.clear()
        return delivery

    return emit


@pytest.fixture
def attempt(django_capture_on_commit_callbacks):
    """Run the task once, as the worker would (its retry enqueued on commit, recorded by `queued`)."""

    def attempt(delivery: WebhookDelivery) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            return tasks.deliver_webhook.run(delivery.pk)

    return attempt


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def attempts_of(delivery: WebhookDelivery) -> list[tuple]:
    return list(
        WebhookAttempt.objects.filter(delivery=delivery)
        .order_by("number")
        .values_list("number", "http_status", "retried", "error")
    )


def test_the_delivery_is_signed_over_the_raw_body_received(receive, emit, attempt, consultation):
    receiver = receive(200)
    delivery = emit(receiver.url)

    assert attempt(delivery) == WebhookDelivery.Status.DELIVERED

    (received,) = receiver.received
    headers = received.headers
    verify(
        secret=SECRET,
        body=received.body,
        timestamp=headers["x-passemarche-timestamp"],
        signature=headers["x-signature-sha256"],
    )
    assert abs(int(headers["x-passemarche-timestamp"]) - time.time()) < 60
    assert headers["x-passemarche-event"] == "consultation.published"
    assert headers["x-passemarche-delivery"] == str(delivery.event_id)
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "PasseMarche-Webhooks/1.0"
    body = json.loads(received.body)
    assert body["id"] == str(delivery.event_id)
    assert body["type"] == "consultation.published"
    assert body["data"] == {
        "consultation": {
            "id": consultation.pk,
            "reference": "MARCHE-2026-01",
            "title": consultation.title,
            "organisation_siret": "13002526500013",
            "candidate_link": "http://127.0.0.1:8000/c/MARCHE-2026-01/",
        }
    }
    # Canonical bytes: what the portal stores and signs is exactly what was received.
    assert received.body == webhooks.delivery_body(payload=delivery.payload)


def test_the_signature_does_not_verify_with_another_secret(receive, emit, attempt):
    receiver = receive(200)
    attempt(emit(receiver.url))

    (received,) = receiver.received
    with pytest.raises(InvalidSignature):
        verify(
            secret="une-autre-plateforme-" + "y" * 32,
            body=received.body,
            timestamp=received.headers["x-passemarche-timestamp"],
            signature=received.headers["x-signature-sha256"],
        )


def test_500_is_retried_with_backoff_until_200(receive, emit, attempt, queued):
    receiver = receive(Reply(500, body=b"indisponible"), 502, 200)
    delivery = emit(receiver.url)

    assert attempt(delivery) == WebhookDelivery.Status.PENDING
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.last_error == "Réponse HTTP 500."
    # base 0.2 s in the test settings: 0.2 then 0.4
    assert queued == [(delivery.pk, 0.2)]
    make_due(delivery)
    assert attempt(delivery) == WebhookDelivery.Status.PENDING
    assert queued[-1] == (delivery.pk, 0.4)
    make_due(delivery)
    assert attempt(delivery) == WebhookDelivery.Status.DELIVERED

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, "")
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert [row[:3] for row in attempts_of(delivery)] == [(1, 500, True), (2, 502, True), (3, 200, False)]
    first = WebhookAttempt.objects.get(delivery=delivery, number=1)
    assert first.response_excerpt == "indisponible"
    assert first.url == receiver.url
    assert len(queued) == 2
    # The same bytes at every attempt, each signed anew and verifiable.
    bodies = {received.body for received in receiver.received}
    assert len(bodies) == 1
    for received in receiver.received:
        verify(
            secret=SECRET,
            body=received.body,
            timestamp=received.headers["x-passemarche-timestamp"],
            signature=received.headers["x-signature-sha256"],
        )
    assert {received.headers["x-passemarche-delivery"] for received in receiver.received} == {str(delivery.event_id)}


def test_a_retry_is_not_sent_before_it_is_due(receive, emit, attempt):
    receiver = receive(500, 200)
    delivery = emit(receiver.url)
    attempt(delivery)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))

    assert attempt(delivery) == "skipped"

    assert len(receiver.received) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_a_4xx_is_not_retried(receive, emit, attempt, queued, status):
    receiver = receive(Reply(status, body=b'{"error": "schema"}'))
    delivery = emit(receiver.url)

    assert attempt(delivery) == WebhookDelivery.Status.FAILED

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
    ((number, http_status, retried, error),) = attempts_of(delivery)
    assert (number, http_status, retried) == (1, status, False)
    assert "non retentée" in error
    assert queued == []
    make_due(delivery)
    assert attempt(delivery) == "skipped"
    assert len(receiver.received) == 1


def test_429_waits_at_least_its_retry_after(receive, emit, attempt, queued):
    receiver = receive(Reply(429, headers={"Retry-After": "7"}), 200)
    delivery = emit(receiver.url)
    before = timezone.now()

    assert attempt(delivery) == WebhookDelivery.Status.PENDING

    delivery.refresh_from_db()
    assert before + timedelta(seconds=7) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=7)
    assert queued == [(delivery.pk, 7.0)]
    assert attempts_of(delivery)[0][:3] == (1, 429, True)


def test_a_retry_far_off_is_left_to_the_sweep_not_held_by_a_worker(receive, emit, attempt, queued, settings):
    settings.WEBHOOK_RETRY_BASE_DELAY = 3600
    settings.WEBHOOK_RETRY_MAX_DELAY = 6 * 3600
    receiver = receive(503)
    delivery = emit(receiver.url)

    assert attempt(delivery) == WebhookDelivery.Status.PENDING

    delivery.refresh_from_db()
    assert delivery.next_attempt_at > timezone.now() + timedelta(minutes=59)
    assert attempts_of(delivery)[0][:3] == (1, 503, True)
    assert queued == []


def test_a_timeout_is_retried(receive, emit, attempt, queued, settings):
    settings.WEBHOOK_READ_TIMEOUT = 0.3
    receiver = receive(Reply(200, delay=3), 200)
    delivery = emit(receiver.url)

    assert attempt(delivery) == WebhookDelivery.Status.PENDING
    ((number, http_status, retried, error),) = attempts_of(delivery)
    assert (number, http_status, retried) == (1, None, True)
    assert "Pas de réponse dans le délai" in error
    assert queued == [(delivery.pk, 0.2)]
    make_due(delivery)
    assert attempt(delivery) == WebhookDelivery.Status.DELIVERED


def test_a_refused_connection_is_retried(emit, attempt, queued):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    delivery = emit(f"http://127.0.0.1:{port}/webhooks")

    assert attempt(delivery) == WebhookDelivery.Status.PENDING

    ((_number, http_status, retried, error),) = attempts_of(delivery)
    assert (http_status, retried) == (None, True)
    assert "Connexion impossible" in error


def test_an_unexpected_failure_of_the_send_is_recorded_and_retried(emit, attempt, queued, monkeypatch, caplog):
    delivery = emit("http://127.0.0.1:9/webhooks")

    def broken(**kwargs):
        raise RuntimeError("bug in the HTTP stack")

    monkeypatch.setattr(webhooks.outbound, "post", broken)

    assert attempt(delivery) == WebhookDelivery.Status.PENDING

    assert attempts_of(delivery) == [(1, None, True, "Erreur interne lors de l'envoi.")]
    delivery.refresh_from_db()
    assert delivery.last_error == "Erreur interne lors de l'envoi."
    assert queued == [(delivery.pk, 0.2)]
    assert "bug in the HTTP stack" in caplog.text  # the traceback is logged for the developers


def test_a_send_the_sweep_took_back_meanwhile_is_recorded_but_left_to_its_new_worker(
    receive, emit, attempt, queued, monkeypatch
):
    receiver = receive(500)
    delivery = emit(receiver.url)
    real_post = webhooks.outbound.post

    def slow_post(**kwargs):
        answer = real_post(**kwargs)
        # Meanwhile the sweep took this worker for dead and another worker claimed the delivery again.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now() + timedelta(seconds=1))
        return answer

    monkeypatch.setattr(webhooks.outbound, "post", slow_post)

    assert attempt(delivery) == "skipped"

    assert attempts_of(delivery) == [(1, 500, False, "Réponse HTTP 500.")]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SENDING  # the other worker's send, untouched
    assert queued == []


def test_a_redirect_is_not_followed_and_fails(receive, emit, attempt, queued):
    target = receive(200)
    receiver = receive(Reply(302, headers={"Location": target.url}))
    delivery = emit(receiver.url)

    assert attempt(delivery) == WebhookDelivery.Status.FAILED

    assert target.received == []
    ((_number, http_status, retried, error),) = attempts_of(delivery)
    assert (http_status, retried) == (302, False)
    assert "redirection non suivie" in error
    assert queued == []


def test_the_last_allowed_attempt_fails_the_delivery(receive, emit, attempt, queued, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver = receive(500, 500, 200)
    delivery = emit(receiver.url)

    attempt(delivery)
    make_due(delivery)
    assert attempt(delivery) == WebhookDelivery.Status.FAILED

    delivery.refresh_from_db()
    assert delivery.last_error == "Réponse HTTP 500. Abandon après 2 tentatives."
    assert [row[:3] for row in attempts_of(delivery)] == [(1, 500, True), (2, 500, False)]
    assert len(receiver.received) == 2
    assert len(queued) == 1


def test_in_production_a_loopback_address_is_refused_and_not_retried(receive, emit, attempt, queued, settings):
    receiver = receive(200)
    delivery = emit(receiver.url)  # subscribed while loopback was allowed (dev), delivered in production
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    assert attempt(delivery) == WebhookDelivery.Status.FAILED

    assert receiver.received == []
    ((_number, http_status, retried, error),) = attempts_of(delivery)
    assert (http_status, retried) == (None, False)
    assert "Adresse refusée : 127.0.0.1" in error
    assert queued == []


def test_a_running_twice_sends_once(receive, emit, attempt):
    receiver = receive(200)
    delivery = emit(receiver.url)

    assert attempt(delivery) == WebhookDelivery.Status.DELIVERED
    assert attempt(delivery) == "skipped"

    assert len(receiver.received) == 1
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


def test_a_delivery_being_sent_is_not_sent_again(receive, emit, attempt):
    receiver = receive(200)
    delivery = emit(receiver.url)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.SENDING, claimed_at=timezone.now()
    )

    assert attempt(delivery) == "skipped"

    assert receiver.received == []


def test_a_deactivated_subscription_is_not_sent(receive, emit, attempt):
    receiver = receive(200)
    delivery = emit(receiver.url)
    delivery.endpoint.is_active = False
    delivery.endpoint.save()

    assert attempt(delivery) == WebhookDelivery.Status.FAILED

    delivery.refresh_from_db()
    assert "désactivé" in delivery.last_error
    assert receiver.received == []
    assert attempts_of(delivery) == []


def test_a_revoked_client_is_not_sent(receive, emit, attempt, platform):
    receiver = receive(200)
    delivery = emit(receiver.url)
    platform.client.is_active = False
    platform.client.save()

    assert attempt(delivery) == WebhookDelivery.Status.FAILED

    assert receiver.received == []


def test_a_client_that_no_longer_acts_for_the_organisation_is_not_sent(receive, emit, attempt, platform, buyer):
    receiver = receive(200)
    delivery = emit(receiver.url)
    platform.client.organisations.remove(buyer)

    assert attempt(delivery) == WebhookDelivery.Status.FAILED

    assert receiver.received == []
    assert "n'agit plus" in WebhookDelivery.objects.get(pk=delivery.pk).last_error


# --- The sweep ------------------------------------------------------------------------------------------------


def test_the_sweep_enqueues_the_pending_deliveries_that_are_due(receive, emit, attempt, queued):
    receiver = receive(200)
    delivery = emit(receiver.url)
    long_ago = timezone.now() - timedelta(minutes=5)
    # Due for minutes (its on-commit enqueue was lost): enqueued.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=long_ago)
    # Just due: its countdown is about to fire, left alone.
    just_due = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint, event=delivery.event, payload=delivery.payload, next_attempt_at=timezone.now()
    )
    # Not due yet.
    later = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint,
        event=delivery.event,
        payload=delivery.payload,
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    # No date, created minutes ago: enqueued; created now: left to its on-commit enqueue.
    undated_old = WebhookDelivery.objects.create(endpoint=delivery.endpoint, event=delivery.event, payload={})
    WebhookDelivery.objects.filter(pk=undated_old.pk).update(created_at=long_ago)
    undated_new = WebhookDelivery.objects.create(endpoint=delivery.endpoint, event=delivery.event, payload={})
    # Final: never again.
    WebhookDelivery.objects.create(
        endpoint=delivery.endpoint,
        event=delivery.event,
        payload={},
        status=WebhookDelivery.Status.DELIVERED,
        next_attempt_at=long_ago,
    )

    assert tasks.deliver_due_webhooks.run() == {"released": 0, "abandoned": 0, "enqueued": 2}

    assert sorted(queued) == sorted([(delivery.pk, None), (undated_old.pk, None)])
    assert {just_due.pk, later.pk, undated_new.pk}.isdisjoint(pk for pk, _ in queued)
    assert attempt(delivery) == WebhookDelivery.Status.DELIVERED
    assert len(receiver.received) == 1


def test_the_sweep_releases_a_send_whose_worker_died(receive, emit, attempt, queued):
    receiver = receive(200)
    delivery = emit(receiver.url)
    long_ago = timezone.now() - timedelta(seconds=webhooks.stuck_after_seconds() + 5)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.SENDING, claimed_at=long_ago, attempts=1
    )
    recent = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint,
        event=delivery.event,
        payload={},
        status=WebhookDelivery.Status.SENDING,
        claimed_at=timezone.now() - timedelta(seconds=30),
        attempts=1,
    )

    assert tasks.deliver_due_webhooks.run() == {"released": 1, "abandoned": 0, "enqueued": 1}

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert "interrompu" in delivery.last_error
    assert queued == [(delivery.pk, None)]
    recent.refresh_from_db()
    assert recent.status == WebhookDelivery.Status.SENDING
    assert attempt(delivery) == WebhookDelivery.Status.DELIVERED
    delivery.refresh_from_db()
    assert delivery.attempts == 2  # the interrupted send counts


def test_the_sweep_fails_a_send_interrupted_at_its_last_attempt(emit, queued, settings):
    delivery = emit("http://127.0.0.1:9/webhooks")
    long_ago = timezone.now() - timedelta(seconds=webhooks.stuck_after_seconds() + 5)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.SENDING, claimed_at=long_ago, attempts=settings.WEBHOOK_MAX_ATTEMPTS
    )

    assert tasks.deliver_due_webhooks.run() == {"released": 0, "abandoned": 1, "enqueued": 0}

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert queued == []
