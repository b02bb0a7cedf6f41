from __future__ import annotations

from datetime import date

import pytest

from connectors import errors, opqibi
from connectors.opqibi import QualificationOpqibi

from .payloads import API_ENTREPRISE_URL, load_case

DIRECTORY = "api_entreprise_v3_opqibi_certifications_ingenierie"
SIREN = "130025265"
URL = f"{API_ENTREPRISE_URL}/v3/opqibi/unites_legales/{SIREN}/certification_ingenierie"


def test_certification_with_qualifications_and_probationary_ones_apart(http, call, call_records):
    _, body = load_case(DIRECTORY, "200.yml")
    http.get(URL, json=body)

    result = opqibi.fetch_certification(SIREN, call=call)

    thermique = QualificationOpqibi(
        code="1331",
        nom='Etude thermique réglementaire "maison individuelle"',
        definition=(
            "Cette qualification correspond à la réalisation des calculs thermiques réglementaires pour les "
            "constructions neuves."
        ),
        rge=False,
    )
    assert result.numero_certificat == "string"
    assert result.url == "https://www.opqibi.com/fiche/1777"
    assert result.date_delivrance == date(2021, 1, 28)
    assert result.duree_validite == "valable un an"
    assert result.assurances == "ALLIANZ - XL INSURANCE"
    assert result.qualifications == (thermique,)
    assert result.date_validite_qualifications == date(2025, 2, 21)
    assert result.qualifications_probatoires == (thermique,)
    assert result.date_validite_qualifications_probatoires == date(2025, 2, 21)
    assert result.documents == ()  # the certificate is a page on opqibi.com, kept as a link
    assert result.payload == body
    assert [record.provider for record in call_records] == ["api_entreprise"]


def test_rge_qualification_and_no_probationary_ones():
    _, body = load_case(DIRECTORY, "200.yml")
    body["data"]["qualifications"][0]["rge"] = True
    body["data"].update(qualifications_probatoires=[], date_validite_qualifications_probatoires=None)
    result = opqibi.parse_certification(body)
    assert [qualification.rge for qualification in result.qualifications] == [True]
    assert result.qualifications_probatoires == ()
    assert result.date_validite_qualifications_probatoires is None


def _changed(**changes) -> dict:
    _, body = load_case(DIRECTORY, "200.yml")
    body["data"].update(changes)
    return body


def _without(key: str) -> dict:
    _, body = load_case(DIRECTORY, "200.yml")
    del body["data"][key]
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"links": {}}, id="no_data"),
        pytest.param({"data": None}, id="null_data"),
        pytest.param(_without("qualifications"), id="no_qualifications"),
        pytest.param(_without("date_validite_qualifications_probatoires"), id="no_probatoires_validity"),
        pytest.param(_changed(qualifications={"nom": "x"}), id="qualifications_not_list"),
        pytest.param(_changed(qualifications=[{"code_qualification": "1331"}]), id="qualification_without_name"),
        pytest.param(_changed(qualifications=["1331"]), id="qualification_not_object"),
        pytest.param(_changed(qualifications_probatoires=[{"nom": "x", "code_qualification": "1", "rge": "non"}])),
        pytest.param(_changed(date_validite_qualifications="21/02/2025"), id="date_not_iso"),
    ],
)
def test_malformed_certification(body):
    with pytest.raises(errors.ProviderError, match="OPQIBI") as excinfo:
        opqibi.parse_certification(body)
    assert excinfo.value.code == "malformed"
    assert excinfo.value.__cause__ is not None
