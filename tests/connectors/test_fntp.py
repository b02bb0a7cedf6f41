from __future__ import annotations

import hashlib

import pytest

from connectors import errors, fntp

from .payloads import API_ENTREPRISE_URL, DATA_DIR, load_case

DIRECTORY = "api_entreprise_v3_fntp_carte_professionnelle_travaux_publics"
SIREN = "130025265"
URL = f"{API_ENTREPRISE_URL}/v3/fntp/unites_legales/{SIREN}/carte_professionnelle_travaux_publics"
SAMPLE_PDF = DATA_DIR / DIRECTORY / "carte_professionnelle_tp_test.pdf"


def test_carte_professionnelle_with_its_pdf(http, call):
    _, body = load_case(DIRECTORY, "200.yml")
    pdf = SAMPLE_PDF.read_bytes()
    http.get(URL, json=body)
    http.get(body["data"]["document_url"], body=pdf, content_type="application/pdf")

    result = fntp.fetch_carte_professionnelle(SIREN, call=call)

    assert result.payload == body
    assert result.withheld is False
    (document,) = result.documents
    assert document.kind == "carte_pro_tp"
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert document.source_url == body["data"]["document_url"]
    assert fntp.parse_carte_professionnelle(body) == fntp.CarteProfessionnelleTp(payload=body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"meta": {}}, id="no_data"),
        pytest.param({"data": {"expires_in": 7889238}}, id="no_document_url"),
        pytest.param({"data": {"document_url": "  "}}, id="blank_document_url"),
        pytest.param({"data": "https://x/y.pdf"}, id="data_is_text"),
    ],
)
def test_malformed_carte(body):
    with pytest.raises(errors.ProviderError, match="FNTP") as excinfo:
        fntp.parse_carte_professionnelle(body)
    assert excinfo.value.code == "malformed"
