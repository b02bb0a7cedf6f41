"""/api/v1/webhooks/: subscribing (the secret shown once), listing, reading, deleting; scope and ownership."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from platforms import webhooks
from platforms.models import WebhookDelivery, WebhookEndpoint
from tests.platforms.conftest import obtain_token
from tests.platforms.helpers import bearer_client

pytestmark = pytest.mark.django_db

URL = "https://plateforme.example/webhooks"
SECRET = "un-secret-choisi-par-la-plateforme-0123456789"


def subscribe(client, url=URL, events=("candidature.submitted",)) -> WebhookEndpoint:
    endpoint, _ = webhooks.webhook_endpoint_create(api_client=client, url=url, events=events, secret=SECRET)
    return endpoint


def test_subscribing_with_a_secret_returns_it_once(api_http, platform):
    response = api_http.post(
        "/api/v1/webhooks/",
        {"url": URL, "events": ["candidature.submitted", "candidature.flag_raised"], "secret": SECRET},
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body == {
        "id": endpoint.pk,
        "url": URL,
        "events": ["candidature.submitted", "candidature.flag_raised"],
        "is_active": True,
        "created_at": body["created_at"],
        "secret": SECRET,
    }
    assert (endpoint.api_client, endpoint.secret) == (platform.client, SECRET)


def test_subscribing_without_a_secret_generates_one(api_http):
    response = api_http.post("/api/v1/webhooks/", {"url": URL, "events": ["consultation.published"]})

    assert response.status_code == 201, response.json()
    secret = response.json()["secret"]
    assert len(secret) >= 32
    assert WebhookEndpoint.objects.get().secret == secret


def test_the_list_and_the_detail_never_show_the_secret(api_http, platform):
    endpoint = subscribe(platform.client)

    listed = api_http.get("/api/v1/webhooks/")
    detail = api_http.get(f"/api/v1/webhooks/{endpoint.pk}/")

    assert listed.status_code == detail.status_code == 200
    assert listed.json()["count"] == 1
    assert listed.json()["results"] == [detail.json()]
    assert detail.json() == {
        "id": endpoint.pk,
        "url": URL,
        "events": ["candidature.submitted"],
        "is_active": True,
        "created_at": detail.json()["created_at"],
    }
    assert SECRET not in listed.content.decode() + detail.content.decode()


def test_deleting_unsubscribes_and_keeps_the_deliveries(api_http, platform):
    endpoint = subscribe(platform.client)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="candidature.submitted", payload={})

    response = api_http.delete(f"/api/v1/webhooks/{endpoint.pk}/")

    assert response.status_code == 204
    assert api_http.get(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 404
    assert api_http.get("/api/v1/webhooks/").json()["count"] == 0
    endpoint.refresh_from_db()
    assert endpoint.is_active is False and endpoint.deleted_at is not None
    assert WebhookDelivery.objects.filter(pk=delivery.pk).exists()
    assert (
        webhooks.subscribed_endpoints(organisation=platform.client.organisations.get(), event="candidature.submitted")
        == []
    )


def test_another_clients_subscription_is_not_found(api_http, make_api_client, other_org):
    theirs = subscribe(make_api_client(organisations=[other_org], name="Autre").client)

    assert api_http.get(f"/api/v1/webhooks/{theirs.pk}/").status_code == 404
    response = api_http.delete(f"/api/v1/webhooks/{theirs.pk}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.deleted_at is None
    assert api_http.get("/api/v1/webhooks/").json()["count"] == 0


@pytest.mark.parametrize(("method", "path"), [("get", "/api/v1/webhooks/"), ("post", "/api/v1/webhooks/")])
def test_a_token_without_the_webhooks_scope_is_refused(client, platform, method, path):
    http = bearer_client(obtain_token(client, platform, scope="consultations:read candidatures:read")["access_token"])

    response = getattr(http, method)(path, {"url": URL, "events": ["consultation.published"]})

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert "webhooks:manage" in response.json()["message"]
    assert not WebhookEndpoint.objects.exists()


def test_deleting_needs_the_webhooks_scope(client, platform):
    endpoint = subscribe(platform.client)
    http = bearer_client(obtain_token(client, platform, scope="consultations:read")["access_token"])

    assert http.delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 403

    endpoint.refresh_from_db()
    assert endpoint.deleted_at is None


def test_without_a_token_it_is_401():
    response = APIClient().get("/api/v1/webhooks/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "pas une adresse", "events": ["consultation.published"]}, "url"),
        ({"events": ["consultation.published"]}, "url"),
        ({"url": URL, "events": []}, "events"),
        ({"url": URL}, "events"),
        ({"url": URL, "events": ["candidature.deleted"]}, "events"),
        ({"url": URL, "events": "consultation.published"}, "events"),
        ({"url": URL, "events": ["consultation.published"], "secret": "trop-court"}, "secret"),
        ({"url": URL, "events": ["consultation.published"], "secret": "s" * 129}, "secret"),
        ({"url": URL + "/" + "a" * 1024, "events": ["consultation.published"]}, "url"),
        ({"url": "ftp://plateforme.example/", "events": ["consultation.published"]}, "url"),
    ],
)
def test_invalid_subscriptions_name_the_field(api_http, data, field):
    response = api_http.post("/api/v1/webhooks/", data)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["fields"], body
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://plateforme.example/webhooks", "https://"),
        ("https://127.0.0.1/webhooks", "127.0.0.1"),
        ("https://10.0.0.8/webhooks", "10.0.0.8"),
        ("https://[::1]/webhooks", "::1"),
    ],
)
def test_in_production_an_unsafe_address_is_refused(api_http, settings, url, message):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    response = api_http.post("/api/v1/webhooks/", {"url": url, "events": ["consultation.published"]})

    assert response.status_code == 400
    (error,) = response.json()["fields"]["url"]
    assert message in error
    assert not WebhookEndpoint.objects.exists()


def test_the_list_is_paginated(api_http, platform):
    for index in range(3):
        subscribe(platform.client, url=f"{URL}/{index}")

    page = api_http.get("/api/v1/webhooks/", {"page_size": 2, "page": 2}).json()

    assert page["count"] == 3
    assert [endpoint["url"] for endpoint in page["results"]] == [f"{URL}/2"]


def test_the_schema_describes_the_webhooks_endpoints(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    operations = {
        (path, method): operation
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/webhooks/")
        for method, operation in item.items()
    }
    assert set(operations) == {
        ("/api/v1/webhooks/", "get"),
        ("/api/v1/webhooks/", "post"),
        ("/api/v1/webhooks/{id}/", "get"),
        ("/api/v1/webhooks/{id}/", "delete"),
    }
    assert all(operation["tags"] == ["Webhooks"] for operation in operations.values())
    assert all(operation["security"] == [{"oauth2": ["webhooks:manage"]}] for operation in operations.values())
    created = operations[("/api/v1/webhooks/", "post")]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["$ref"].endswith("/WebhookEndpointCreated")
    assert "secret" in schema["components"]["schemas"]["WebhookEndpointCreated"]["properties"]
    assert "secret" not in schema["components"]["schemas"]["WebhookEndpoint"]["properties"]
