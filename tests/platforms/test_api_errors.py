"""What every endpoint of /api/v1/ shares: closed without a token, closed without its scope, a 404 for an object of
another organisation, JSON errors for anything wrong; and an OpenAPI schema that says all this and validates."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.builders import add_document

pytestmark = pytest.mark.django_db

# (method, path, scope): every operation of the API but the webhooks'.
ENDPOINTS = [
    ("get", "/api/v1/consultations/", "consultations:read"),
    ("post", "/api/v1/consultations/", "consultations:write"),
    ("get", "/api/v1/consultations/{consultation}/", "consultations:read"),
    ("post", "/api/v1/consultations/{consultation}/publish/", "consultations:write"),
    ("get", "/api/v1/consultations/{consultation}/candidatures/", "candidatures:read"),
    ("post", "/api/v1/consultations/{consultation}/candidatures/", "candidatures:write"),
    ("get", "/api/v1/candidatures/{candidature}/", "candidatures:read"),
    ("get", "/api/v1/candidatures/{candidature}/dossier/", "candidatures:read"),
    ("post", "/api/v1/candidatures/{candidature}/refresh/", "candidatures:write"),
    ("get", "/api/v1/candidatures/{candidature}/documents/{document}/", "documents:read"),
    ("get", "/api/v1/candidatures/{candidature}/receipt/", "documents:read"),
    ("get", "/api/v1/candidatures/{candidature}/zip/", "documents:read"),
]
WITH_AN_ID = [endpoint for endpoint in ENDPOINTS if "{" in endpoint[1]]
BODIES = {"candidatures/": {"siret": "55204944776279"}, "refresh/": {"source": "urssaf_attestation_vigilance"}}


def ids(candidature, document) -> dict:
    return {"consultation": candidature.consultation_id, "candidature": candidature.pk, "document": document.pk}


@pytest.fixture
def ours(candidature) -> dict:
    return ids(candidature, add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation"))


def call(http, method: str, path: str):
    body = next((value for suffix, value in BODIES.items() if path.endswith(suffix)), {})
    return http.post(path, body, format="json") if method == "post" else http.get(path)


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_without_a_token_every_endpoint_is_a_401(ours, method, path, scope):
    response = call(APIClient(), method, path.format(**ours))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_an_unknown_token_is_a_401(ours):
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = http.get("/api/v1/candidatures/{candidature}/dossier/".format(**ours))

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_without_its_scope_every_endpoint_is_a_403(scoped_http, ours, method, path, scope):
    http = scoped_http([other for other in settings.API_SCOPES if other != scope])

    response = call(http, method, path.format(**ours))

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert scope in response.json()["message"]


@pytest.mark.parametrize(("method", "path", "scope"), WITH_AN_ID)
def test_an_object_of_another_organisation_is_a_404(api_http, foreign_candidature, method, path, scope):
    theirs = ids(foreign_candidature, foreign_candidature.documents.get())

    response = call(api_http, method, path.format(**theirs))

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Ressource introuvable."}


@pytest.mark.parametrize(
    ("method", "path"),
    [("delete", "/api/v1/consultations/"), ("get", "/api/v1/consultations/{consultation}/publish/")],
)
def test_a_method_an_address_does_not_answer_is_a_json_405(api_http, ours, method, path):
    response = getattr(api_http, method)(path.format(**ours))

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_a_body_that_is_not_json_is_a_415(api_http):
    response = api_http.post("/api/v1/consultations/", "reference=X", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_malformed_json_is_a_400(api_http):
    response = api_http.post("/api/v1/consultations/", '{"reference": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


@pytest.mark.parametrize("authenticated", [True, False])
def test_an_unknown_address_under_the_api_is_a_json_404(api_http, authenticated):
    http = api_http if authenticated else APIClient()

    response = http.get("/api/v1/appels-d-offres/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_a_validation_error_names_each_field_with_its_messages(api_http):
    response = api_http.post("/api/v1/consultations/", {"market_type": "travaux"}, format="json")

    assert response.status_code == 400
    answer = response.json()
    assert set(answer) == {"code", "message", "fields"}
    assert answer["fields"] == {"reference": ["Ce champ est obligatoire."], "title": ["Ce champ est obligatoire."]}


# --- The OpenAPI schema ------------------------------------------------------------------------------------


def test_the_schema_validates_without_a_warning(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3")


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_documents_the_client_credentials_flow(schema):
    scheme = schema["components"]["securitySchemes"]["oauth2"]

    assert scheme["type"] == "oauth2"
    assert scheme["flows"] == {
        "clientCredentials": {"tokenUrl": "/api/oauth/token/", "scopes": dict(settings.API_SCOPES)}
    }


def schema_path(path: str) -> str:
    return (
        path.replace("{consultation}", "{id}").replace("{candidature}", "{id}").replace("{document}", "{document_id}")
    )


def test_the_schema_gives_each_operation_the_scope_it_checks(schema):
    documented = {
        (method, path, tuple(operation["security"][0]["oauth2"]))
        for path, operations in schema["paths"].items()
        if not path.startswith("/api/v1/webhooks")
        for method, operation in operations.items()
    }

    assert documented == {(method, schema_path(path), (scope,)) for method, path, scope in ENDPOINTS}


def test_the_schema_describes_the_files_as_binary(schema):
    responses = {
        name: schema["paths"][f"/api/v1/candidatures/{{id}}/{name}/"]["get"]["responses"]["200"]["content"]
        for name in ("receipt", "zip")
    }

    assert responses["receipt"] == {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
    assert responses["zip"] == {"application/zip": {"schema": {"type": "string", "format": "binary"}}}


def test_a_post_to_an_unknown_address_is_a_json_404_not_the_csrf_page(token):
    http = APIClient(enforce_csrf_checks=True)
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    for path in ("/api/v1/nothing/", "/api/v1/consultations"):  # the second: the slash forgotten
        response = http.post(path, {}, format="json")
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


def test_options_is_a_json_405(api_http):
    response = api_http.options("/api/v1/consultations/")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_a_null_body_is_explained_in_french(api_http):
    response = api_http.post("/api/v1/webhooks/", "null", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "non_field_errors": ["Le corps de la requête est vide : envoyez un objet JSON."]
    }


def test_an_unexpected_error_is_a_json_500_in_french(api_http, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("platforms.selectors.client_consultations", broken)

    response = api_http.get("/api/v1/consultations/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "server_error", "message": "Erreur interne : réessayez plus tard."}
    assert "database on fire" in caplog.text
