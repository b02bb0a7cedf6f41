"""The HTTP seam: API Entreprise's conventions, the audit hook, document checks, configuration."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, timedelta

import pytest
import requests
from django.utils import timezone
from django.utils.http import http_date

from connectors import client, errors
from connectors.client import parse_retry_after
from connectors.types import DocumentLink, SourceResult

from . import payloads
from .payloads import (
    API_ENTREPRISE_URL,
    BODACC_URL,
    BUYER_SIRET,
    TOO_MANY_REQUESTS_00429,
    load_case,
    sample_pdf,
)

PATH = "/v4/insee/sirene/unites_legales/552049447"
URL = API_ENTREPRISE_URL + PATH
DOCUMENT_URL = "https://storage.entreprise.api.gouv.fr/siade/1569139162-attestation.pdf"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def _unite_legale() -> dict:
    return load_case("api_entreprise_v4_insee_unites_legales", "personne_morale.yaml")[1]


def test_bearer_token_and_mandatory_params_are_sent(http, call):
    http.get(URL, json=_unite_legale())
    long_object = "Marché 2026-042 : travaux de rénovation énergétique des écoles du quartier nord"
    response = client.api_entreprise_get(PATH, call=replace(call, object=long_object))

    assert response.http_status == 200
    assert response.data["siren"] == "552049447"
    request = http.calls[0].request
    assert request.headers["Authorization"] == "Bearer test-token"
    params = request.params
    assert params == {
        "context": "Candidature marché public",
        "recipient": BUYER_SIRET,
        "object": long_object[:50],
    }
    assert len(params["object"]) == 50
    assert params["recipient"] != "552049447"


def test_call_context_overrides_the_default_context(http, call):
    http.get(URL, json=_unite_legale())
    client.api_entreprise_get(PATH, call=replace(call, context="Contrôle candidature"))
    assert http.calls[0].request.params["context"] == "Contrôle candidature"


@pytest.mark.parametrize("no_cache", [True, False])
def test_cache_control_only_when_no_cache(http, call, no_cache):
    http.get(URL, json=_unite_legale())
    client.api_entreprise_get(PATH, call=replace(call, no_cache=no_cache))
    headers = http.calls[0].request.headers
    if no_cache:
        assert headers["Cache-Control"] == "no-cache"
    else:
        assert "Cache-Control" not in headers


def test_on_call_receives_one_record_per_exchange(http, call, call_records):
    rate_limit = {"RateLimit-Limit": "250", "RateLimit-Remaining": "247", "RateLimit-Reset": "1637223155"}
    http.get(URL, json=_unite_legale(), headers=rate_limit)
    http.get(DOCUMENT_URL, body=sample_pdf(), content_type="application/pdf")

    client.api_entreprise_get(PATH, call=call)
    client.download_document(DOCUMENT_URL, kind="attestation_vigilance", call=call)

    assert len(call_records) == 2
    json_call, document_call = call_records
    assert json_call.provider == "api_entreprise"
    assert json_call.url == URL
    assert json_call.params["recipient"] == BUYER_SIRET
    assert json_call.http_status == 200
    assert json_call.error_code == ""
    assert json_call.rate_limit == rate_limit
    # A success carries the company's data: kept on the fetch as evidence, never copied into the audit trail.
    assert json_call.response_excerpt == ""
    assert json_call.duration_ms >= 0
    assert document_call.provider == "document"
    assert document_call.http_status == 200
    assert document_call.response_excerpt == ""  # binary bodies are not copied into the audit trail


def test_on_call_records_failures_with_their_code(http, call, call_records):
    status, body = load_case("api_entreprise_v4_insee_etablissements", "404.yaml")
    http.get(URL, json=body, status=status, headers={"RateLimit-Remaining": "12"})
    with pytest.raises(errors.NotFound):
        client.api_entreprise_get(PATH, call=call)
    (record,) = call_records
    assert record.http_status == 404
    assert record.error_code == "04003"
    assert record.rate_limit == {"RateLimit-Remaining": "12"}
    assert '"code": "04003"' in record.response_excerpt  # an error answer is kept: it says why


def test_on_call_records_a_timeout_without_status(http, call, call_records):
    http.get(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(errors.Transient):
        client.api_entreprise_get(PATH, call=call)
    (record,) = call_records
    assert (record.http_status, record.error_code) == (None, "timeout")


def test_on_call_records_a_connection_error_without_status(http, call, call_records):
    http.get(URL, body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(errors.Transient):
        client.api_entreprise_get(PATH, call=call)
    (record,) = call_records
    assert (record.http_status, record.error_code) == (None, "connection_error")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(sample_pdf(), "application/pdf"), (JPEG, "image/jpeg"), (PNG, "image/png")],
    ids=["pdf", "jpeg", "png"],
)
def test_download_sniffs_the_real_type(http, call, content, content_type):
    # The declared type is deliberately wrong: only the bytes count.
    http.get(DOCUMENT_URL + "?token=secret", body=content, content_type="application/octet-stream")
    document = client.download_document(DOCUMENT_URL + "?token=secret", kind="piece", call=call)
    assert document.content_type == content_type
    assert document.content == content
    assert document.size == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.source_url == DOCUMENT_URL  # the signed query string is not kept


def test_download_refuses_html_served_as_pdf(http, call):
    http.get(
        DOCUMENT_URL,
        body=b"<!DOCTYPE html><html><body>Lien expir\xc3\xa9</body></html>",
        content_type="application/pdf",
    )
    with pytest.raises(errors.InvalidDocument) as excinfo:
        client.download_document(DOCUMENT_URL, kind="piece", call=call)
    assert excinfo.value.code == "document_invalide"


def test_download_refuses_oversized_documents(http, call, settings):
    settings.DOCUMENT_MAX_BYTES = 1024
    http.get(DOCUMENT_URL, body=b"%PDF-1.7\n" + b"0" * 2048, content_type="application/pdf")
    with pytest.raises(errors.InvalidDocument) as excinfo:
        client.download_document(DOCUMENT_URL, kind="piece", call=call)
    assert excinfo.value.code == "document_trop_volumineux"


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(403, errors.InvalidDocument), (404, errors.InvalidDocument), (503, errors.Transient)],
)
def test_download_failures(http, call, status, error_class):
    http.get(DOCUMENT_URL, body=b"<Error>AccessDenied</Error>", status=status, content_type="application/xml")
    with pytest.raises(error_class) as excinfo:
        client.download_document(DOCUMENT_URL, kind="piece", call=call)
    assert excinfo.value.http_status == status


def test_download_documents_skips_a_link_already_downloaded(http, call, call_records):
    other = DOCUMENT_URL.replace("attestation", "bilan")
    http.get(DOCUMENT_URL, body=sample_pdf())
    http.get(other, body=JPEG)
    links = [
        DocumentLink(DOCUMENT_URL, valid_until=date(2026, 1, 31)),
        DocumentLink(other),
        DocumentLink(DOCUMENT_URL, valid_until=date(2027, 1, 31)),
    ]

    documents = client.download_documents(links, kind="piece", call=call)

    assert [(document.source_url, document.valid_until) for document in documents] == [
        (DOCUMENT_URL, date(2026, 1, 31)),  # the first item's dates
        (other, None),
    ]
    assert [record.url for record in call_records] == [DOCUMENT_URL, other]


def test_with_document_attaches_the_downloaded_file(http, call):
    http.get(DOCUMENT_URL, body=sample_pdf())
    result = SourceResult(payload={"data": {"document_url": DOCUMENT_URL}})

    attached = client.with_document(result, kind="piece", call=call, valid_from=date(2026, 1, 1))

    (document,) = attached.documents
    assert (document.kind, document.content_type, document.valid_from) == ("piece", "application/pdf", date(2026, 1, 1))
    assert attached.payload == result.payload
    assert result.documents == ()


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, payloads.NOT_FOUND_01003), (422, payloads.UNPROCESSABLE_00201), (502, payloads.PROVIDER_UNKNOWN_04999)],
)
def test_an_error_keeps_the_decoded_error_body(http, call, status, body):
    http.get(URL, json=body, status=status)
    with pytest.raises(errors.ConnectorError) as excinfo:
        client.api_entreprise_get(PATH, call=call)
    assert excinfo.value.body == body


def test_an_error_without_a_json_body_has_none(http, call):
    http.get(URL, body="<html>Bad Gateway</html>", status=502, content_type="text/html")
    with pytest.raises(errors.Transient) as excinfo:
        client.api_entreprise_get(PATH, call=call)
    assert excinfo.value.body is None


def test_misconfigured_when_the_token_is_empty(http, call, settings):
    settings.API_ENTREPRISE_TOKEN = ""
    with pytest.raises(errors.Misconfigured):
        client.api_entreprise_get(PATH, call=call)
    assert len(http.calls) == 0


def test_misconfigured_when_bodacc_has_no_base_url(http, call, settings):
    settings.BODACC_BASE_URL = ""
    with pytest.raises(errors.Misconfigured):
        client.bodacc_get("/catalog/datasets/annonces-commerciales/records", params={}, call=call)
    assert len(http.calls) == 0


def test_a_200_without_data_is_a_provider_error(http, call):
    http.get(URL, json={"links": {}, "meta": {}})
    with pytest.raises(errors.ProviderError) as excinfo:
        client.api_entreprise_get(PATH, call=call)
    assert excinfo.value.code == "malformed"


def test_bodacc_sends_no_token(http, call):
    http.get(BODACC_URL + "/catalog/datasets/annonces-commerciales/records", json={"total_count": 0, "results": []})
    client.bodacc_get("/catalog/datasets/annonces-commerciales/records", params={"limit": "1"}, call=call)
    request = http.calls[0].request
    assert "Authorization" not in request.headers
    assert request.params == {"limit": "1"}


@pytest.mark.parametrize("header", ["Retry-After", "retry-after"])
def test_retry_after_header_is_read_whatever_its_case(http, call, header):
    http.get(URL, json=TOO_MANY_REQUESTS_00429, status=429, headers={header: "42"})
    with pytest.raises(errors.RateLimited) as excinfo:
        client.api_entreprise_get(PATH, call=call)
    assert excinfo.value.retry_after == 42


def test_429_without_retry_after_waits_a_minute(http, call):
    http.get(URL, json=TOO_MANY_REQUESTS_00429, status=429)
    with pytest.raises(errors.RateLimited) as excinfo:
        client.api_entreprise_get(PATH, call=call)
    assert excinfo.value.retry_after == 60


def test_a_malformed_answer_is_explained_in_french_never_in_pythons_words():
    from connectors import parsing

    unreadable_date = parsing.malformed("INPI", "bilans", parsing.Unreadable("date ISO attendue, reçu '31/12/2022'"))
    internal = parsing.malformed("CIBTP", None, IndexError("list index out of range"))
    missing = parsing.malformed("MSA", None, KeyError("data"))

    assert str(unreadable_date) == (
        "Réponse INPI (bilans) incomplète ou mal formée : date ISO attendue, reçu '31/12/2022'."
    )
    assert str(internal) == "Réponse CIBTP incomplète ou mal formée : structure inattendue."
    assert str(missing) == "Réponse MSA incomplète ou mal formée : champ manquant 'data'."
    with pytest.raises(parsing.Unreadable, match="date ISO attendue"):
        parsing.iso_date("31/12/2022")


def test_a_document_link_is_recorded_without_its_query_string(http, call, call_records):
    signed = DOCUMENT_URL + "?X-Amz-Signature=abcdef0123456789&X-Amz-Expires=600"
    http.get(signed, body=sample_pdf(), content_type="application/pdf")

    client.download_document(signed, kind="attestation_vigilance", call=call)

    (record,) = call_records
    assert record.url == DOCUMENT_URL


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (None, None),
        ("", None),
        ("bientôt", None),
        ("-5", None),
        ("1.5", 1.5),
        ("inf", None),
        ("nan", None),
    ],
)
def test_retry_after_in_seconds(header, expected):
    assert parse_retry_after(header) == expected


def test_retry_after_as_an_http_date():
    in_a_minute = http_date((timezone.now() + timedelta(seconds=60)).timestamp())

    assert 55 <= parse_retry_after(in_a_minute) <= 60


def test_retry_after_as_a_past_http_date_is_now():
    assert parse_retry_after(http_date((timezone.now() - timedelta(seconds=60)).timestamp())) == 0.0
