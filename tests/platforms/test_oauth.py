"""OAuth2 client credentials: the token endpoint, the scopes a client may obtain, revocation, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from platforms import services as platform_services

from .conftest import obtain_token

pytestmark = pytest.mark.django_db


def test_a_client_obtains_a_bearer_token_with_its_scopes(client, platform):
    body = obtain_token(client, platform)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == set(platform.client.scopes)


def test_the_secret_is_kept_hashed(platform):
    stored = Application.objects.get(pk=platform.client.application_id).client_secret
    assert platform.secret not in stored
    assert stored.startswith(("pbkdf2_", "md5$", "argon2", "bcrypt"))


def test_a_client_cannot_obtain_a_scope_it_was_not_given(client, make_api_client, buyer):
    credentials = make_api_client(organisations=[buyer], scopes=["consultations:read"])
    response = client.post(
        "/api/oauth/token/",
        {"grant_type": "client_credentials", "scope": "consultations:read candidatures:write"},
        HTTP_AUTHORIZATION=credentials.basic,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert obtain_token(client, credentials)["scope"] == "consultations:read"


def test_a_wrong_secret_is_refused(client, platform):
    platform.secret = "not-the-secret"
    response = client.post("/api/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=platform.basic)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_revoked_client_obtains_no_token_and_loses_its_tokens(client, platform, api_http):
    assert api_http.get("/api/v1/consultations/").status_code == 200
    revoked = platform_services.api_client_revoke(client=platform.client)
    assert revoked == 1
    assert not AccessToken.objects.filter(application_id=platform.client.application_id).exists()
    response = api_http.get("/api/v1/consultations/")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    refused = client.post("/api/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=platform.basic)
    assert refused.status_code == 401


def test_a_deactivated_client_is_refused_even_with_a_live_token(platform, api_http):
    type(platform.client).objects.filter(pk=platform.client.pk).update(is_active=False)
    response = api_http.get("/api/v1/consultations/")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_an_expired_token_is_refused(platform, api_http, token):
    AccessToken.objects.filter(application_id=platform.client.application_id).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    response = api_http.get("/api/v1/consultations/")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert "Bearer" in response["WWW-Authenticate"]


def test_rotating_the_secret_revokes_the_tokens_and_the_old_secret(client, platform, api_http):
    old = platform.secret
    new = platform_services.api_client_secret_rotate(client=platform.client)
    assert new != old
    assert api_http.get("/api/v1/consultations/").status_code == 401
    platform.secret = new
    assert obtain_token(client, platform)["access_token"]


def test_no_token_is_a_401_in_json(client):
    response = client.get("/api/v1/consultations/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "jeton" in response.json()["message"]


def test_tokens_are_stored_hashed_and_refused_in_a_query_string(client, platform, token):
    stored = AccessToken.objects.get(application_id=platform.client.application_id)
    assert token not in {stored.token, stored.token_checksum}
    response = client.get(f"/api/v1/consultations/?access_token={token}")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_scope_removed_from_the_client_stops_working_at_once(platform, api_http):
    assert api_http.get("/api/v1/webhooks/").status_code == 200
    type(platform.client).objects.filter(pk=platform.client.pk).update(scopes=["consultations:read"])

    response = api_http.get("/api/v1/webhooks/")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert api_http.get("/api/v1/consultations/").status_code == 200
