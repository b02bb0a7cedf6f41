from __future__ import annotations

import hashlib
from datetime import date

import pytest

from connectors import errors, urssaf

from .payloads import API_ENTREPRISE_URL, MANUAL_CHECK_04501, load_case, sample_pdf

DIRECTORY = "api_entreprise_v4_acoss_attestations_sociales"
URL = f"{API_ENTREPRISE_URL}/v4/urssaf/unites_legales/552049447/attestation_vigilance"


def test_attestation_delivered_with_its_pdf(http, call):
    _, body = load_case(DIRECTORY, "attestation_delivree.yaml")
    pdf = sample_pdf()
    http.get(URL, json=body)
    http.get(body["data"]["document_url"], body=pdf, content_type="application/pdf")

    result = urssaf.fetch_attestation_vigilance("552049447", call=call)

    assert result.entity_status_code == "ok"
    assert result.entity_status_libelle == "Attestation délivrée par l'Urssaf"
    assert result.date_debut_validite == date(2023, 1, 31)
    assert result.date_fin_validite == date(2023, 7, 31)
    assert result.code_securite == "YAB458G1B2T8IZW"
    assert result.withheld is False
    assert result.payload == body
    (document,) = result.documents
    assert document.kind == "attestation_vigilance"
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert document.content_type == "application/pdf"
    assert document.valid_from == date(2023, 1, 31)
    assert document.valid_until == date(2023, 7, 31)


def test_refusal_is_withheld_and_downloads_nothing(http, call, call_records):
    _, body = load_case(DIRECTORY, "attestation_non_delivree.yaml")
    http.get(URL, json=body)

    result = urssaf.fetch_attestation_vigilance("552049447", call=call)

    assert result.withheld is True
    assert result.entity_status_code == "refus_de_delivrance"
    assert result.entity_status_libelle == "Délivrance de l'attestation refusée par l'Urssaf"
    assert result.date_debut_validite is None
    assert result.date_fin_validite is None
    assert result.code_securite == ""
    assert result.documents == ()
    assert len(http.calls) == 1
    assert [record.provider for record in call_records] == ["api_entreprise"]


def test_refusal_ignores_a_stray_document_url(http, call):
    _, body = load_case(DIRECTORY, "attestation_non_delivree.yaml")
    _, delivered = load_case(DIRECTORY, "attestation_delivree.yaml")
    body["data"]["document_url"] = delivered["data"]["document_url"]
    http.get(URL, json=body)
    http.get(body["data"]["document_url"], body=sample_pdf())

    result = urssaf.fetch_attestation_vigilance("552049447", call=call)

    assert result.withheld is True
    assert result.documents == ()
    assert len(http.calls) == 1


def _delivered(**changes) -> dict:
    _, body = load_case(DIRECTORY, "attestation_delivree.yaml")
    body["data"].update(changes)
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"links": {}}, id="no_data"),
        pytest.param(_delivered(entity_status=None), id="null_entity_status"),
        pytest.param(_delivered(entity_status={"libelle": "?"}), id="no_status_code"),
        pytest.param(_delivered(document_url=None), id="delivered_without_document"),
        pytest.param(_delivered(date_debut_validite="31/01/2023"), id="date_not_iso"),
        pytest.param(_delivered(date_fin_validite=20230731), id="date_not_text"),
    ],
)
def test_malformed_attestation(body):
    with pytest.raises(errors.ProviderError, match="URSSAF") as excinfo:
        urssaf.parse_attestation_vigilance(body)
    assert excinfo.value.code == "malformed"
    assert excinfo.value.__cause__ is not None


def test_manual_check_asks_to_retry_in_two_days(http, call):
    http.get(URL, json=MANUAL_CHECK_04501, status=502)
    with pytest.raises(errors.Transient) as excinfo:
        urssaf.fetch_attestation_vigilance("552049447", call=call)
    assert excinfo.value.retry_after == 172800
    assert excinfo.value.code == "04501"
