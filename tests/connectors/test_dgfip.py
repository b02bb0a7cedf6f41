from __future__ import annotations

import copy
import hashlib
from datetime import date

import pytest

from connectors import dgfip, errors
from connectors.dgfip import Exercice

from .payloads import API_ENTREPRISE_URL, load_case, sample_pdf

ATTESTATIONS = "api_entreprise_v4_dgfip_attestations_fiscales"
CHIFFRES = "api_entreprise_v3_dgfip_chiffres_affaires"
ATTESTATION_URL = f"{API_ENTREPRISE_URL}/v4/dgfip/unites_legales/418166096/attestation_fiscale"
CHIFFRES_URL = f"{API_ENTREPRISE_URL}/v3/dgfip/etablissements/13002526500001/chiffres_affaires"


def test_attestation_fiscale_with_its_pdf(http, call):
    _, body = load_case(ATTESTATIONS, "200.yaml")
    pdf = sample_pdf()
    http.get(ATTESTATION_URL, json=body)
    http.get(body["data"]["document_url"], body=pdf, content_type="application/pdf")

    result = dgfip.fetch_attestation_fiscale("418166096", call=call)

    assert result.date_delivrance == date(2023, 4, 11)
    assert result.date_periode_analysee == date(2023, 3, 31)
    assert result.payload == body
    (document,) = result.documents
    assert document.kind == "attestation_fiscale"
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert document.content_type == "application/pdf"
    assert document.valid_from == date(2023, 4, 11)
    assert document.source_url == "https://entreprise.api.gouv.fr/files/attestation-fiscale-dgfip-exemple.pdf"


def _attestation(**changes) -> dict:
    _, body = load_case(ATTESTATIONS, "attestation_delivree.yaml")
    body["data"].update(changes)
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no_data"),
        pytest.param(_attestation(document_url=None), id="no_document"),
        pytest.param({"data": {"document_url": "https://x/y.pdf"}}, id="no_date_delivrance"),
        pytest.param(_attestation(date_delivrance_attestation="11 avril 2023"), id="date_not_iso"),
    ],
)
def test_malformed_attestation(body):
    with pytest.raises(errors.ProviderError, match="DGFIP") as excinfo:
        dgfip.parse_attestation_fiscale(body)
    assert excinfo.value.code == "malformed"


def _all_years() -> dict:
    """The staging cases give one exercice per year; the real answer holds them all in one collection."""
    _, body = load_case(CHIFFRES, "200-2023.yaml")
    body["data"] = [load_case(CHIFFRES, f"200-{year}.yaml")[1]["data"][0] for year in ("2022", "2024", "2023")]
    body["data"][0]["data"]["chiffre_affaires"] = 750000
    body["data"][1]["data"]["chiffre_affaires"] = 1200000.0
    return body


def test_chiffres_affaires_newest_first(http, call):
    body = _all_years()
    http.get(CHIFFRES_URL, json=body)

    result = dgfip.fetch_chiffres_affaires("13002526500001", call=call)

    assert result.exercices == (
        Exercice(montant=1200000, date_fin_exercice=date(2024, 12, 1)),
        Exercice(montant=900001, date_fin_exercice=date(2023, 12, 1)),
        Exercice(montant=750000, date_fin_exercice=date(2022, 12, 1)),
    )
    assert all(type(exercice.montant) is int for exercice in result.exercices)
    assert result.documents == ()
    assert result.payload == body


def test_chiffres_affaires_single_staging_case():
    _, body = load_case(CHIFFRES, "200-2024.yaml")
    result = dgfip.parse_chiffres_affaires(body)
    assert result.exercices == (Exercice(montant=900001, date_fin_exercice=date(2024, 12, 1)),)


def test_chiffres_affaires_empty_collection():
    assert dgfip.parse_chiffres_affaires({"data": [], "links": {}, "meta": {}}).exercices == ()


def _chiffres(change) -> dict:
    body = copy.deepcopy(_all_years())
    change(body["data"])
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"data": {"chiffre_affaires": 1}}, id="data_not_a_list"),
        pytest.param(_chiffres(lambda items: items[0].pop("data")), id="item_without_data"),
        pytest.param(_chiffres(lambda items: items[1]["data"].pop("chiffre_affaires")), id="no_montant"),
        pytest.param(_chiffres(lambda items: items[1]["data"].update(chiffre_affaires="900 001")), id="montant_text"),
        pytest.param(_chiffres(lambda items: items[2]["data"].update(date_fin_exercice=None)), id="no_date"),
        pytest.param(_chiffres(lambda items: items[2]["data"].update(date_fin_exercice="2023-13-01")), id="bad_date"),
    ],
)
def test_malformed_chiffres_affaires(body):
    with pytest.raises(errors.ProviderError, match="chiffres d'affaires") as excinfo:
        dgfip.parse_chiffres_affaires(body)
    assert excinfo.value.__cause__ is not None
