from __future__ import annotations

from datetime import date

import pytest

from connectors import carif_oref, errors
from connectors.carif_oref import HabilitationFranceCompetences

from .payloads import API_ENTREPRISE_URL, load_case

DIRECTORY = "api_entreprise_v3_carif_oref_certifications_qualiopi_france_competences"
SIRET = "30613890001294"
URL = f"{API_ENTREPRISE_URL}/v3/carif_oref/etablissements/{SIRET}/certifications_qualiopi_france_competences"


def test_qualiopi_and_france_competences(http, call, call_records):
    _, body = load_case(DIRECTORY, "200.yaml")
    http.get(URL, json=body)

    result = carif_oref.fetch_certifications(SIRET, call=call)

    assert result.siret == SIRET
    assert result.code_uai == ""
    assert result.unite_legale_avec_plusieurs_nda is False
    (declaration,) = result.declarations
    assert declaration.numero == "11910843391"
    assert declaration.actif is True
    assert declaration.date_derniere_declaration == date(2021, 1, 30)
    assert declaration.qualiopi == ("action_formation",)
    assert declaration.qualiopi_via_unite_legale is True
    assert declaration.specialites == (
        "Finances, banque, assurances",
        "Informatique, traitement de l'information, réseaux de transmission des données",
    )
    assert result.habilitations == (
        HabilitationFranceCompetences(
            code="RNCP10013",
            actif=True,
            date_actif=date(2020, 1, 30),
            date_fin_enregistrement=date(2030, 1, 30),
            pour_former=True,
            pour_organiser_evaluation=True,
        ),
    )
    assert result.documents == ()
    assert result.payload == body
    assert [record.provider for record in call_records] == ["api_entreprise"]


def test_no_qualiopi_category_is_not_certified():
    _, body = load_case(DIRECTORY, "200.yaml")
    qualiopi = body["data"]["declarations_activites_etablissement"][0]["certification_qualiopi"]
    qualiopi.update(action_formation=False, obtention_via_unite_legale=None)
    result = carif_oref.parse_certifications(body)
    assert result.declarations[0].qualiopi == ()
    assert result.declarations[0].qualiopi_via_unite_legale is None


def test_no_declaration_nor_habilitation():
    _, body = load_case(DIRECTORY, "200.yaml")
    body["data"].update(declarations_activites_etablissement=[], habilitations_france_competence=[])
    result = carif_oref.parse_certifications(body)
    assert (result.declarations, result.habilitations) == ((), ())


def _changed(change) -> dict:
    _, body = load_case(DIRECTORY, "200.yaml")
    change(body["data"])
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"links": {}}, id="no_data"),
        pytest.param(_changed(lambda data: data.pop("siret")), id="no_siret"),
        pytest.param(_changed(lambda data: data.pop("habilitations_france_competence")), id="no_habilitations"),
        pytest.param(
            _changed(lambda data: data.update(declarations_activites_etablissement=None)), id="null_declarations"
        ),
        pytest.param(_changed(lambda data: data.update(unite_legale_avec_plusieurs_nda="non")), id="nda_not_bool"),
        pytest.param(
            _changed(lambda data: data["declarations_activites_etablissement"][0].pop("numero_de_declaration")),
            id="no_numero",
        ),
        pytest.param(
            _changed(
                lambda data: data["declarations_activites_etablissement"][0]["certification_qualiopi"].update(
                    action_formation="true"
                )
            ),
            id="qualiopi_not_bool",
        ),
        pytest.param(
            _changed(lambda data: data["habilitations_france_competence"][0].update(date_decision=None, actif=1)),
            id="actif_not_bool",
        ),
        pytest.param(
            _changed(lambda data: data["habilitations_france_competence"][0].update(date_actif="30/01/2020")),
            id="date_not_iso",
        ),
    ],
)
def test_malformed_certifications(body):
    with pytest.raises(errors.ProviderError, match="Carif-Oref") as excinfo:
        carif_oref.parse_certifications(body)
    assert excinfo.value.code == "malformed"
    assert excinfo.value.__cause__ is not None
