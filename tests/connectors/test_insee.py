from __future__ import annotations

import copy
from datetime import date

import pytest

from connectors import errors, insee
from connectors.insee import Nomenclature

from .payloads import API_ENTREPRISE_URL, load_case

ETABLISSEMENTS = "api_entreprise_v4_insee_etablissements"
UNITES_LEGALES = "api_entreprise_v4_insee_unites_legales"


def test_fetch_etablissement_personne_morale(http, call):
    _, body = load_case(ETABLISSEMENTS, "personne_morale.yaml")
    http.get(f"{API_ENTREPRISE_URL}/v4/insee/sirene/etablissements/55204944776279", json=body)

    result = insee.fetch_etablissement("55204944776279", call=call)

    assert result.siret == "55204944776279"
    assert result.siren == "552049447"
    assert result.siege_social is True
    assert result.etat_administratif == "A"
    assert result.date_fermeture is None
    assert result.status_diffusion == "diffusible"
    assert result.diffusible is True
    assert result.enseigne == "SNCF ST DENIS 2 PL AUX ETOILES"
    assert result.raison_sociale == "SOCIETE NATIONALE SNCF"
    assert result.sigle == "SNCF"
    assert result.categorie_entreprise == "GE"
    assert result.forme_juridique == Nomenclature(code="5599", libelle="SA à conseil d'administration (s.a.i.)")
    assert result.activite_principale == Nomenclature(
        code="49.10Z", libelle="Transport ferroviaire interurbain de voyageurs"
    )
    assert result.adresse == "2 PLACE AUX ETOILES, 93210 SAINT-DENIS"
    assert result.ess is False
    assert result.payload == body
    assert result.documents == ()
    assert result.withheld is False
    assert len(http.calls) == 1


def test_address_with_complement_and_foreign_country():
    _, body = load_case(ETABLISSEMENTS, "200.yaml")
    result = insee.parse_etablissement(body)
    assert result.adresse == "22 RUE DE LA PAIX, ZAE SAINT GUENAULT, 75016 PARIS 12, ROYAUME-UNI"
    assert result.enseigne == "Coiff Land, CoiffureLand"
    assert result.ess is True
    # A closing date on an active établissement means nothing.
    assert result.etat_administratif == "A"
    assert result.date_fermeture is None


def test_address_skips_nulls_and_spells_the_repetition_index():
    _, body = load_case(ETABLISSEMENTS, "200.yaml")
    adresse = body["data"]["adresse"]
    adresse.update(indice_repetition_voie="B", complement_adresse=None, code_pays_etranger=None)
    adresse.update(libelle_pays_etranger=None, libelle_commune=None, libelle_commune_etranger=None)
    assert insee.parse_etablissement(body).adresse == "22 BIS RUE DE LA PAIX, 75016"


def test_closed_etablissement_dates_in_paris_time():
    _, body = load_case(ETABLISSEMENTS, "personne_morale_etat_cesse.yaml")
    result = insee.parse_etablissement(body)
    assert result.etat_administratif == "F"
    # 816390000 is 1995-11-14T23:00:00Z, i.e. midnight of the 15th in Paris.
    assert result.date_fermeture == date(1995, 11, 15)
    assert result.categorie_entreprise == ""
    assert result.ess is None


def test_personne_physique_name():
    _, body = load_case(ETABLISSEMENTS, "personne_physique_diffusible.yaml")
    result = insee.parse_etablissement(body)
    assert result.raison_sociale == "Maxime DUPONT"
    assert result.enseigne == ""
    assert result.forme_juridique.libelle == "Entrepreneur individuel"
    assert result.adresse == "346 ALLÉE DE LA PLAGE, 16210 MEDILLAC"


def test_personne_physique_prefers_nom_usage():
    _, body = load_case(ETABLISSEMENTS, "personne_physique_diffusible.yaml")
    attributs = body["data"]["unite_legale"]["personne_physique_attributs"]
    attributs.update(nom_usage="MARTIN", prenom_usuel=None)
    assert insee.parse_etablissement(body).raison_sociale == "Maxime MARTIN"


def test_non_diffusible_personne_physique():
    _, body = load_case(ETABLISSEMENTS, "personne_physique_non-diffusible.yaml")
    result = insee.parse_etablissement(body)
    assert result.status_diffusion == "partiellement_diffusible"
    assert result.diffusible is False


def test_non_diffusible_unite_legale_protects_a_diffusible_etablissement():
    _, body = load_case(ETABLISSEMENTS, "personne_physique_non-diffusible.yaml")
    body["data"]["status_diffusion"] = "diffusible"
    assert insee.parse_etablissement(body).diffusible is False


def test_fetch_unite_legale(http, call):
    _, body = load_case(UNITES_LEGALES, "personne_morale.yaml")
    http.get(f"{API_ENTREPRISE_URL}/v4/insee/sirene/unites_legales/552049447", json=body)

    result = insee.fetch_unite_legale("552049447", call=call)

    assert result.siren == "552049447"
    assert result.etat_administratif == "A"
    assert result.date_cessation is None
    assert result.raison_sociale == "SOCIETE NATIONALE SNCF"
    assert result.categorie_entreprise == "GE"
    assert result.tranche_effectif == "10 000 salariés et plus"
    assert result.forme_juridique == Nomenclature(code="5599", libelle="SA à conseil d'administration (s.a.i.)")
    assert result.diffusible is True
    assert result.ess is False
    assert result.payload == body


def test_unite_legale_cessee():
    _, body = load_case(UNITES_LEGALES, "personne_morale_etat_cesse.yaml")
    result = insee.parse_unite_legale(body)
    assert result.etat_administratif == "C"
    assert result.date_cessation == date(1995, 11, 15)
    assert result.raison_sociale == "SCI SERGENT"
    assert result.tranche_effectif == ""


def test_unite_legale_personne_physique_non_diffusible():
    _, body = load_case(UNITES_LEGALES, "personne_physique_non-diffusible.yaml")
    result = insee.parse_unite_legale(body)
    assert result.raison_sociale == "Aurelie MOREAU"
    assert result.diffusible is False


def _without(body: dict, *path: str) -> dict:
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return body


def _with(body: dict, value, *path: str) -> dict:
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


ETABLISSEMENT = load_case(ETABLISSEMENTS, "personne_morale_etat_cesse.yaml")[1]
UNITE_LEGALE = load_case(UNITES_LEGALES, "personne_morale.yaml")[1]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no_data"),
        pytest.param({"data": None}, id="null_data"),
        pytest.param(_without(ETABLISSEMENT, "data", "siret"), id="no_siret"),
        pytest.param(_without(ETABLISSEMENT, "data", "unite_legale"), id="no_unite_legale"),
        pytest.param(_without(ETABLISSEMENT, "data", "adresse"), id="no_adresse"),
        pytest.param(_without(ETABLISSEMENT, "data", "etat_administratif"), id="no_etat"),
        pytest.param(_with(ETABLISSEMENT, "oui", "data", "siege_social"), id="siege_social_not_bool"),
        pytest.param(_with(ETABLISSEMENT, "1995-11-15", "data", "date_fermeture"), id="date_not_timestamp"),
        pytest.param(_with(ETABLISSEMENT, 10**15, "data", "date_fermeture"), id="timestamp_out_of_range"),
        pytest.param(_with(ETABLISSEMENT, ["SCI"], "data", "enseigne"), id="enseigne_not_text"),
        pytest.param(_with(ETABLISSEMENT, None, "data", "unite_legale", "forme_juridique"), id="null_forme"),
    ],
)
def test_etablissement_malformed(body):
    with pytest.raises(errors.ProviderError) as excinfo:
        insee.parse_etablissement(body)
    assert excinfo.value.code == "malformed"
    assert "INSEE" in str(excinfo.value)
    assert excinfo.value.__cause__ is not None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_without(UNITE_LEGALE, "data", "siren"), id="no_siren"),
        pytest.param(_without(UNITE_LEGALE, "data", "forme_juridique"), id="no_forme"),
        pytest.param(_with(UNITE_LEGALE, "C", "data", "tranche_effectif_salarie"), id="tranche_not_object"),
        pytest.param(_with(UNITE_LEGALE, "non", "data", "economie_sociale_et_solidaire"), id="ess_not_bool"),
    ],
)
def test_unite_legale_malformed(body):
    with pytest.raises(errors.ProviderError, match="unité légale"):
        insee.parse_unite_legale(body)


def test_fetch_etablissement_missing_keys_is_a_provider_error(http, call):
    http.get(
        f"{API_ENTREPRISE_URL}/v4/insee/sirene/etablissements/35005144700018",
        json=_without(ETABLISSEMENT, "data", "unite_legale"),
    )
    with pytest.raises(errors.ProviderError, match="unite_legale"):
        insee.fetch_etablissement("35005144700018", call=call)


@pytest.mark.parametrize(
    ("filename", "ess"),
    [
        ("association_regime_alsace_moselle.yaml", True),
        ("personne_morale.yaml", False),
        ("personne_morale_etat_cesse.yaml", None),  # INSEE does not say: unknown, not "no"
    ],
)
def test_ess_of_the_unite_legale(filename, ess):
    _, body = load_case(UNITES_LEGALES, filename)
    assert insee.parse_unite_legale(body).ess is ess
