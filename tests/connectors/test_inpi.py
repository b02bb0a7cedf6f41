from __future__ import annotations

import copy
import hashlib
from decimal import Decimal

import pytest

from connectors import errors, inpi
from connectors.inpi import Dirigeant

from .payloads import API_ENTREPRISE_URL, load_case, sample_pdf

URL = f"{API_ENTREPRISE_URL}/v3/inpi/rne/unites_legales/552049447/extrait_rne"
CASE = ("api_entreprise_v3_inpi_rne_extrait_rne", "200.yaml")


def test_fetch_extrait_rne_with_its_pdf(http, call, call_records):
    _, body = load_case(*CASE)
    pdf = sample_pdf()
    http.get(URL, json=body)
    http.get(body["data"]["document_url"], body=pdf, content_type="application/octet-stream")

    result = inpi.fetch_extrait_rne("552049447", call=call)

    assert result.siren == "552049447"
    assert result.denomination == "SOCIETE NATIONALE SNCF"
    assert result.forme_juridique == "SAS, société par actions simplifiée"
    assert result.capital_social == Decimal("50000")
    assert result.devise == "EUR"
    assert result.adresse_siege == "2 PLACE AUX ETOILES, 93200 SAINT-DENIS"
    assert result.dirigeants == (Dirigeant(nom="DUPONT", prenoms="JEAN", qualite="Président"),)
    assert result.payload == body

    (document,) = result.documents
    assert document.kind == "extrait_rne"
    assert document.content == pdf
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert document.content_type == "application/pdf"
    assert document.source_url == "https://data.inpi.fr/export/companies"
    assert [record.provider for record in call_records] == ["api_entreprise", "document"]
    assert http.calls[1].request.params == {"format": "pdf", "ids": '["552049447"]'}


def test_entrepreneur_individuel_and_legal_person_manager():
    _, body = load_case(*CASE)
    identite = body["data"]["identite_entreprise"]
    identite.update(denomination=None, nom="DUPONT", prenoms=["JEAN", "PAUL"], capital_social=None)
    identite["adresse_siege_social"].update(complement="BATIMENT B", pays="BELGIQUE")
    manager = copy.deepcopy(body["data"]["dirigeants_et_associes"][0])
    manager.update(nom=None, prenom=None, denomination="EXPERTS ASSOCIES", qualite="Commissaire aux comptes")
    body["data"]["dirigeants_et_associes"].append(manager)

    result = inpi.parse_extrait_rne(body)

    assert result.denomination == "JEAN PAUL DUPONT"
    assert result.capital_social is None
    assert result.devise == ""
    assert result.adresse_siege == "2 PLACE AUX ETOILES, BATIMENT B, 93200 SAINT-DENIS, BELGIQUE"
    assert result.dirigeants[1] == Dirigeant(nom="EXPERTS ASSOCIES", prenoms="", qualite="Commissaire aux comptes")


def test_without_document_url_nothing_is_downloaded(http, call):
    _, body = load_case(*CASE)
    body["data"]["document_url"] = None
    http.get(URL, json=body)
    result = inpi.fetch_extrait_rne("552049447", call=call)
    assert result.documents == ()
    assert result.denomination == "SOCIETE NATIONALE SNCF"
    assert len(http.calls) == 1


def _variant(change) -> dict:
    body = copy.deepcopy(load_case(*CASE)[1])
    change(body["data"])
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_variant(lambda data: data.pop("identite_entreprise")), id="no_identite"),
        pytest.param(_variant(lambda data: data.pop("dirigeants_et_associes")), id="no_dirigeants"),
        pytest.param(_variant(lambda data: data["identite_entreprise"].pop("siren")), id="no_siren"),
        pytest.param(
            _variant(lambda data: data["identite_entreprise"]["capital_social"].update(montant="beaucoup")),
            id="capital_not_a_number",
        ),
        pytest.param(_variant(lambda data: data.update(dirigeants_et_associes=["DUPONT"])), id="dirigeant_not_object"),
        pytest.param(_variant(lambda data: data.update(document_url=42)), id="document_url_not_text"),
    ],
)
def test_malformed_extrait(body):
    with pytest.raises(errors.ProviderError, match="INPI") as excinfo:
        inpi.parse_extrait_rne(body)
    assert excinfo.value.code == "malformed"


def test_fetch_with_missing_keys_downloads_nothing(http, call):
    body = _variant(lambda data: data.pop("identite_entreprise"))
    http.get(URL, json=body)
    with pytest.raises(errors.ProviderError):
        inpi.fetch_extrait_rne("552049447", call=call)
    assert len(http.calls) == 1
