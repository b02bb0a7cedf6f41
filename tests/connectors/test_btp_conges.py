from __future__ import annotations

import copy
import hashlib

import pytest

from connectors import btp_conges, errors

from .payloads import API_ENTREPRISE_URL, DATA_DIR, load_case

CIBTP = "api_entreprise_v3_cibtp_attestation_cotisations_conges_payes_chomage_intemperies"
CNETP = "api_entreprise_v3_cnetp_attestation_cotisations_conges_payes_chomage_intemperies"
SIRET = "30613890001294"
SIREN = "306138900"
ATTESTATION = "attestation_cotisations_conges_payes_chomage_intemperies"
CIBTP_URL = f"{API_ENTREPRISE_URL}/v3/cibtp/etablissements/{SIRET}/{ATTESTATION}"
CNETP_URL = f"{API_ENTREPRISE_URL}/v3/cnetp/unites_legales/{SIREN}/{ATTESTATION}"

# openapi.yaml, 404 example `attestation_non_disponible_38422` of the CIBTP path (also the project's case
# 404_non_a_jour.yaml).
NON_A_JOUR_38422 = {
    "errors": [
        {
            "code": "38422",
            "title": "Attestation non disponible",
            "detail": (
                "L'attestation ne peut être délivrée car l'entreprise n'est pas en règle de ses cotisations CIBTP."
            ),
            "source": None,
            "meta": {"provider": "CIBTP"},
        }
    ]
}


@pytest.mark.parametrize(
    ("fetch", "url", "directory", "sample", "caisse"),
    [
        (btp_conges.fetch_attestation_cibtp, CIBTP_URL, CIBTP, "test_cibtp_certificat.pdf", "CIBTP"),
        (btp_conges.fetch_attestation_cnetp, CNETP_URL, CNETP, "test_cnetp_certificat.pdf", "CNETP"),
    ],
    ids=["cibtp", "cnetp"],
)
def test_attestation_with_its_pdf(http, call, fetch, url, directory, sample, caisse):
    _, body = load_case(directory, "200.yaml")
    pdf = (DATA_DIR / directory / sample).read_bytes()
    http.get(url, json=body)
    http.get(body["data"]["document_url"], body=pdf, content_type="application/pdf")

    result = fetch(SIRET if caisse == "CIBTP" else SIREN, call=call)

    assert result.caisse == caisse
    assert result.a_jour is True
    assert result.withheld is False
    assert result.motif == ""
    assert result.payload == body
    (document,) = result.documents
    assert document.kind == "attestation_conges_payes"
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert document.content_type == "application/pdf"


def test_cibtp_38422_is_a_not_up_to_date_result(http, call, call_records):
    http.get(CIBTP_URL, json=NON_A_JOUR_38422, status=404)

    result = btp_conges.fetch_attestation_cibtp(SIRET, call=call)

    assert result.caisse == "CIBTP"
    assert result.a_jour is False
    assert result.withheld is True
    assert result.motif.startswith("L'attestation ne peut être délivrée")
    assert result.documents == ()
    assert result.payload == NON_A_JOUR_38422  # the error body as CIBTP sent it: title and meta kept
    assert len(http.calls) == 1
    assert [(record.http_status, record.error_code) for record in call_records] == [(404, "38422")]
    # The stored payload rebuilds the same result (the dossier re-derives flags from it).
    assert btp_conges.parse_attestation_cibtp(copy.deepcopy(result.payload)) == result


def test_project_case_404_non_a_jour_is_the_spec_example():
    status, body = load_case(CIBTP, "404_non_a_jour.yaml")
    assert (status, body) == (404, NON_A_JOUR_38422)


def test_cnetp_404_is_not_found_even_with_the_cibtp_code(http, call):
    """38422 is the CIBTP's word: CNETP has no such answer, a 404 there stays "not found"."""
    http.get(CNETP_URL, json=NON_A_JOUR_38422, status=404)
    with pytest.raises(errors.NotFound):
        btp_conges.fetch_attestation_cnetp(SIREN, call=call)


@pytest.mark.parametrize(("directory", "fetch", "url"), [(CIBTP, "cibtp", CIBTP_URL), (CNETP, "cnetp", CNETP_URL)])
def test_official_504_case_is_transient(http, call, directory, fetch, url):
    status, body = load_case(directory, "504.yaml")
    http.get(url, json=body, status=status)
    with pytest.raises(errors.Transient) as excinfo:
        getattr(btp_conges, f"fetch_attestation_{fetch}")(SIRET if fetch == "cibtp" else SIREN, call=call)
    assert excinfo.value.code == "38002"


def test_cibtp_404_without_a_readable_body_is_not_found(http, call):
    http.get(CIBTP_URL, body="<html>404</html>", status=404, content_type="text/html")
    with pytest.raises(errors.NotFound):
        btp_conges.fetch_attestation_cibtp(SIRET, call=call)


def test_cibtp_422_is_a_bad_request_not_a_result(http, call):
    body = copy.deepcopy(NON_A_JOUR_38422)  # same code, other status: branch on the status
    http.get(CIBTP_URL, json=body, status=422)
    with pytest.raises(errors.BadRequest):
        btp_conges.fetch_attestation_cibtp(SIRET, call=call)


def _cibtp(**changes) -> dict:
    _, body = load_case(CIBTP, "200.yaml")
    body["data"].update(changes)
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"links": {}}, id="no_data"),
        pytest.param(_cibtp(document_url=None), id="null_document_url"),
        pytest.param(_cibtp(document_url=42), id="document_url_not_text"),
        pytest.param({"errors": []}, id="empty_errors"),
        pytest.param({"errors": [{"code": "38003", "detail": "?"}]}, id="other_error_code"),
        pytest.param({"errors": [{"detail": "?"}]}, id="error_without_code"),
    ],
)
def test_malformed_cibtp(body):
    with pytest.raises(errors.ProviderError, match="CIBTP") as excinfo:
        btp_conges.parse_attestation_cibtp(body)
    assert excinfo.value.code == "malformed"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"links": {}}, id="no_data"),
        pytest.param({"data": {"document_url": None, "expires_in": 600}}, id="null_document_url"),
        pytest.param({"data": None}, id="null_data"),
        pytest.param(NON_A_JOUR_38422, id="cibtp_refusal_body"),
    ],
)
def test_malformed_cnetp(body):
    with pytest.raises(errors.ProviderError, match="CNETP") as excinfo:
        btp_conges.parse_attestation_cnetp(body)
    assert excinfo.value.code == "malformed"
