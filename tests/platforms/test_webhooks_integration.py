"""End to end: a publication commits → its delivery is enqueued → the real Celery worker sends it to a local receiver
that answers 500, 500, then 200 → retried with the (short, test) backoff → delivered, every attempt recorded."""

from __future__ import annotations

import time

import pytest

from platforms.models import WebhookAttempt, WebhookDelivery
from platforms.webhook_verification import verify
from tests.platforms.helpers import publish_to_subscriber

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


SECRET = "secret-integration-" + "i" * 32


def test_the_worker_retries_500s_then_delivers(celery_worker, receive, platform, consultation):
    receiver = receive(500, 500, 200)

    delivery = publish_to_subscriber(platform=platform, consultation=consultation, url=receiver.url, secret=SECRET)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.status in (WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.FAILED):
            break
        time.sleep(0.1)
    assert delivery.status == WebhookDelivery.Status.DELIVERED, delivery.last_error
    rows = list(
        WebhookAttempt.objects.filter(delivery=delivery)
        .order_by("number")
        .values_list("number", "http_status", "retried")
    )
    assert rows == [(1, 500, True), (2, 500, True), (3, 200, False)]
    assert len(receiver.received) == 3
    for received in receiver.received:
        verify(
            secret=SECRET,
            body=received.body,
            timestamp=received.headers["x-passemarche-timestamp"],
            signature=received.headers["x-signature-sha256"],
        )
