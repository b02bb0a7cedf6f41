from __future__ import annotations

import hashlib

import pytest

from connectors import errors, probtp

from .payloads import API_ENTREPRISE_URL, DATA_DIR, load_case

ATTESTATIONS = "api_entreprise_v3_probtp_attestations_cotisation_retraite"
CONFORMITES = "api_entreprise_v3_probtp_conformites_cotisations_retraite"
SIRET = "30613890001294"
ATTESTATION_URL = f"{API_ENTREPRISE_URL}/v3/probtp/etablissements/{SIRET}/attestation_cotisations_retraite"
CONFORMITE_URL = f"{API_ENTREPRISE_URL}/v3/probtp/etablissements/{SIRET}/conformite_cotisations_retraite"
SAMPLE_PDF = DATA_DIR / ATTESTATIONS / "test_probtp_attestation.pdf"


def test_attestation_with_its_pdf(http, call, call_records):
    _, body = load_case(ATTESTATIONS, "200.yml")
    pdf = SAMPLE_PDF.read_bytes()
    http.get(ATTESTATION_URL, json=body)
    http.get(body["data"]["document_url"], body=pdf, content_type="application/pdf")

    result = probtp.fetch_attestation(SIRET, call=call)

    assert result.payload == body
    assert result.withheld is False
    (document,) = result.documents
    assert document.kind == "attestation_probtp"
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert document.content_type == "application/pdf"
    assert (document.valid_from, document.valid_until) == (None, None)
    assert [record.provider for record in call_records] == ["api_entreprise", "document"]
    assert probtp.parse_attestation(body) == probtp.AttestationProbtp(payload=body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"links": {}}, id="no_data"),
        pytest.param({"data": {"expires_in": 600}}, id="no_document_url"),
        pytest.param({"data": {"document_url": None, "expires_in": 600}}, id="null_document_url"),
        pytest.param({"data": {"document_url": ["https://x/y.pdf"]}}, id="document_url_not_text"),
        pytest.param({"data": None}, id="null_data"),
    ],
)
def test_malformed_attestation(body):
    with pytest.raises(errors.ProviderError, match="PRO BTP") as excinfo:
        probtp.parse_attestation(body)
    assert excinfo.value.code == "malformed"
    assert excinfo.value.__cause__ is not None


def test_conformite_eligible(http, call):
    _, body = load_case(CONFORMITES, "200.yaml")
    http.get(CONFORMITE_URL, json=body)

    result = probtp.fetch_conformite(SIRET, call=call)

    assert result.eligible is True
    assert result.withheld is False
    assert result.documents == ()
    assert result.payload == body


def test_conformite_not_eligible_is_an_answer_withheld(http, call):
    _, body = load_case(CONFORMITES, "200_non_conforme.yaml")
    http.get(CONFORMITE_URL, json=body)

    result = probtp.fetch_conformite(SIRET, call=call)

    assert result.eligible is False
    assert result.withheld is True
    assert probtp.parse_conformite(result.payload) == result


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"data": {}}, id="no_eligible"),
        pytest.param({"data": {"eligible": None}}, id="null_eligible"),
        pytest.param({"data": {"eligible": "false"}}, id="eligible_as_text"),
        pytest.param({"data": {"eligible": 0}}, id="eligible_as_number"),
        pytest.param({"data": []}, id="data_is_a_list"),
    ],
)
def test_malformed_conformite(body):
    with pytest.raises(errors.ProviderError, match="PRO BTP") as excinfo:
        probtp.parse_conformite(body)
    assert excinfo.value.code == "malformed"
