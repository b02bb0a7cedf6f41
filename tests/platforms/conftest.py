"""Fixtures of the platforms' API: an API client acting for the buyer organisation, its tokens, a client to call."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from candidatures import services
from candidatures.models import CompanyIdentity
from platforms import services as platform_services
from platforms import webhooks
from tests.builders import add_document
from tests.platforms.helpers import bearer_client
from tests.platforms.receiver import Receiver, Reply


@dataclass
class Credentials:
    client: object  # platforms.models.ApiClient
    client_id: str
    secret: str

    @property
    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()


@pytest.fixture
def make_api_client(db):
    def make(*, organisations=(), scopes=None, name="Plateforme de test") -> Credentials:
        client, secret = platform_services.api_client_create(
            name=name, organisations=list(organisations), scopes=list(settings.API_SCOPES) if scopes is None else scopes
        )
        return Credentials(client=client, client_id=client.client_id, secret=secret)

    return make


@pytest.fixture
def platform(make_api_client, buyer) -> Credentials:
    """An API client with every scope, acting for the `buyer` organisation."""
    return make_api_client(organisations=[buyer])


def obtain_token(http, credentials: Credentials, scope: str | None = None) -> dict:
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope is not None else {})
    response = http.post("/api/oauth/token/", data, HTTP_AUTHORIZATION=credentials.basic)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def token(client, platform) -> str:
    return obtain_token(client, platform)["access_token"]


@pytest.fixture
def api_http(token) -> APIClient:
    """DRF's test client, authenticated with a bearer token of `platform`, sending JSON."""
    return bearer_client(token)


@pytest.fixture
def queued(monkeypatch):
    """The (delivery id, countdown) pairs `platforms.webhooks` enqueues, recorded instead of sent to the broker."""
    sent: list[tuple[int, float | None]] = []
    monkeypatch.setattr(webhooks, "_enqueue", lambda delivery_id, countdown=None: sent.append((delivery_id, countdown)))
    return sent


@pytest.fixture
def scoped_http(client, make_api_client, buyer):
    """`scoped_http(["consultations:read"])`: a client of the API with only these scopes, acting for `buyer` (or
    for `organisations`), authenticated."""

    def make(scopes: list[str], organisations=None) -> APIClient:
        credentials = make_api_client(
            organisations=[buyer] if organisations is None else organisations,
            scopes=scopes,
            name="Plateforme restreinte",
        )
        return bearer_client(obtain_token(client, credentials)["access_token"])

    return make


@pytest.fixture
def foreign_candidature(other_org, start):
    """A candidature of an organisation that `platform` does not act for, with a document."""
    consultation = services.consultation_get_or_create(organisation=other_org, reference="PARIS-2026-07")
    candidature = start(consultation, "73282932000074")
    add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance")
    return candidature


@pytest.fixture
def make_non_diffusible(db):
    """`make_non_diffusible(candidature)`: its company becomes non-diffusible (a protected name, address and
    officers), returned as its CompanyIdentity."""

    def make(candidature) -> CompanyIdentity:
        return CompanyIdentity.objects.create(
            candidature=candidature,
            raison_sociale="SOCIÉTÉ DISCRÈTE",
            adresse="3 rue des Secrets 75001 Paris",
            diffusible=False,
            dirigeants=[{"nom": "MARTIN", "prenoms": "Jeanne", "qualite": "Présidente"}],
        )

    return make


@pytest.fixture
def receive():
    """`receive(500, 200)` → a started Receiver; every receiver is stopped after the test."""
    started: list[Receiver] = []

    def start(*replies: int | Reply) -> Receiver:
        receiver = Receiver(*replies).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()
