from __future__ import annotations

from datetime import date

import pytest

from connectors import ademe, errors

from .payloads import API_ENTREPRISE_URL, load_case

DIRECTORY = "api_entreprise_v3_ademe_certificats_rge"
SIRET = "13002526500013"
URL = f"{API_ENTREPRISE_URL}/v3/ademe/etablissements/{SIRET}/certification_rge"


def test_current_certificates_kept_as_links(http, call, call_records):
    _, body = load_case(DIRECTORY, "200.yml")
    http.get(URL, json=body)

    result = ademe.fetch_certifications(SIRET, call=call)

    assert [certificat.organisme for certificat in result.certificats] == ["qualibat", "qualifelec"]
    first = result.certificats[0]
    assert first.nom_certificat == "Qualisol CESI"
    assert first.domaine == "Fenêtres, volets, portes extérieures 2020"
    assert first.meta_domaine == "anciens domaines avant 2021"
    assert first.qualification_code == "32"
    assert first.qualification_nom == "QualiPV Elec - Pose de générateur photovoltaïque raccordé au réseau (32)"
    assert (first.date_attribution, first.date_expiration) == (date(2020, 12, 24), date(2025, 8, 1))
    assert first.url == body["data"][0]["data"]["url"]
    assert first.archived is False
    assert result.archives == ()
    assert result.documents == ()  # a link, not downloaded
    assert result.payload == body
    assert [record.provider for record in call_records] == ["api_entreprise"]
    assert len(http.calls) == 1


def test_archived_certificates_are_kept_apart_and_soonest_expiry_comes_first():
    _, body = load_case(DIRECTORY, "200.yml")
    body["data"][0]["data"]["meta"]["archived"] = True
    body["data"][1]["data"]["date_expiration"] = "2025-03-01"
    body["data"].append({"data": {**body["data"][1]["data"], "date_expiration": "2024-01-01"}, "links": {}})

    result = ademe.parse_certifications(body)

    assert [certificat.date_expiration for certificat in result.certificats] == [date(2024, 1, 1), date(2025, 3, 1)]
    assert [certificat.organisme for certificat in result.archives] == ["qualibat"]


def test_only_archived_certificates_leave_no_current_one():
    _, body = load_case(DIRECTORY, "200.yml")
    for item in body["data"]:
        item["data"]["meta"]["archived"] = True
    result = ademe.parse_certifications(body)
    assert result.certificats == ()
    assert len(result.archives) == 2


def _changed(change) -> dict:
    _, body = load_case(DIRECTORY, "200.yml")
    change(body["data"][0]["data"])
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"links": {}}, id="no_data"),
        pytest.param({"data": {}}, id="data_not_a_list"),
        pytest.param({"data": [{"data": None}]}, id="null_item"),
        pytest.param(_changed(lambda data: data.pop("meta")), id="no_meta"),
        pytest.param(_changed(lambda data: data["meta"].update(archived="false")), id="archived_not_bool"),
        pytest.param(_changed(lambda data: data.pop("qualification")), id="no_qualification"),
        pytest.param(_changed(lambda data: data.update(date_expiration="01/08/2025")), id="date_not_iso"),
        pytest.param(_changed(lambda data: data.update(url=["https://example.org"])), id="url_not_text"),
    ],
)
def test_malformed_certifications(body):
    with pytest.raises(errors.ProviderError, match="ADEME") as excinfo:
        ademe.parse_certifications(body)
    assert excinfo.value.code == "malformed"
    assert excinfo.value.__cause__ is not None
