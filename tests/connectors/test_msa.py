from __future__ import annotations

import pytest

from connectors import errors, msa

from .payloads import API_ENTREPRISE_URL, load_case

DIRECTORY = "api_entreprise_v3_msa_conformites_cotisations"
SIRET = "20005379100014"
URL = f"{API_ENTREPRISE_URL}/v3/msa/etablissements/{SIRET}/conformite_cotisations"


def test_up_to_date(http, call, call_records):
    _, body = load_case(DIRECTORY, "200.yaml")
    http.get(URL, json=body)

    result = msa.fetch_conformite(SIRET, call=call)

    assert result.status == "up_to_date"
    assert result.withheld is False
    assert result.documents == ()
    assert result.payload == body
    assert [record.provider for record in call_records] == ["api_entreprise"]


@pytest.mark.parametrize(
    ("status", "withheld"),
    [
        # Not up to date: the MSA refuses to certify, like PRO BTP's non-conformité and CIBTP's 38422.
        ("outdated", True),
        # Still being checked by an MSA agent: not a refusal (yet).
        ("under_investigation", False),
    ],
)
def test_not_up_to_date_is_an_answer_not_an_error(status, withheld):
    _, body = load_case(DIRECTORY, "200.yaml")
    body["data"]["status"] = status
    result = msa.parse_conformite(body)
    assert result.status == status
    assert result.withheld is withheld


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"links": {}}, id="no_data"),
        pytest.param({"data": {}}, id="no_status"),
        pytest.param({"data": {"status": None}}, id="null_status"),
        pytest.param({"data": {"status": True}}, id="status_not_text"),
        pytest.param({"data": {"status": "a_jour"}}, id="unknown_status"),
    ],
)
def test_malformed_conformite(body):
    with pytest.raises(errors.ProviderError, match="MSA") as excinfo:
        msa.parse_conformite(body)
    assert excinfo.value.code == "malformed"
    assert excinfo.value.__cause__ is not None
