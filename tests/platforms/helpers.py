"""Helpers shared by the platforms' tests (fixtures live in conftest.py)."""

from __future__ import annotations

from rest_framework.test import APIClient

from candidatures import consultations
from platforms import webhooks
from platforms.models import WebhookDelivery, WebhookEvent


def actor(platform) -> str:
    """How the API names `platform` (Credentials) in the audit trails: ApiView.actor."""
    return f"API : {platform.client.name} ({platform.client_id})"


def bearer_client(access_token: str) -> APIClient:
    """DRF's test client, authenticated with this bearer token, sending JSON."""
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    http.default_format = "json"
    return http


def publish_to_subscriber(*, platform, consultation, url: str, secret: str) -> WebhookDelivery:
    """Subscribe `platform` (Credentials) at `url` to the publications, publish the consultation through the real
    service: its one delivery. The caller decides what happens on commit (captured, or the real worker)."""
    webhooks.webhook_endpoint_create(
        api_client=platform.client, url=url, events=[WebhookEvent.CONSULTATION_PUBLISHED], secret=secret
    )
    consultations.consultation_publish(consultation=consultation)
    return WebhookDelivery.objects.get()
