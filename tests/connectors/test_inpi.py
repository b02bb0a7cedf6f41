from __future__ import annotations

import copy
import hashlib
from datetime import date
from decimal import Decimal

import pytest

from connectors import errors, inpi
from connectors.inpi import Dirigeant

from .payloads import API_ENTREPRISE_URL, DATA_DIR, load_case, sample_pdf

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


# Actes et bilans ---------------------------------------------------------------------------------------------
ACTES_BILANS_URL = f"{API_ENTREPRISE_URL}/v3/inpi/rne/unites_legales/open_data/130025265/actes_bilans"
ACTES_BILANS = ("api_entreprise_v3_inpi_rne_actes_bilans", "200.yaml")


def bilan_pdf() -> bytes:
    """The official sample bilan of the staging data."""
    return (DATA_DIR / ACTES_BILANS[0] / "exemple-bilan-inpi.pdf").read_bytes()


def _bilan_urls(body: dict, suffixes=("2022", "2021", "2020")) -> list[str]:
    """The staging gives every bilan the same sample; give each its own link, as the real proxy does."""
    for bilan, suffix in zip(body["data"]["bilans"], suffixes, strict=False):
        bilan["url"] = f"{bilan['url']}?bilan={suffix}"
    return [bilan["url"] for bilan in body["data"]["bilans"]]


def test_fetch_actes_bilans_downloads_the_last_three(http, call, call_records):
    _, body = load_case(*ACTES_BILANS)
    pdf = bilan_pdf()
    urls = _bilan_urls(body)
    http.get(ACTES_BILANS_URL, json=body)
    for url in urls:
        http.get(url, body=pdf, content_type="application/pdf")

    result = inpi.fetch_actes_bilans("130025265", call=call)

    assert [(bilan.date_cloture, bilan.type) for bilan in result.bilans] == [
        (date(2022, 12, 31), "bilan complet"),
        (date(2021, 12, 31), "bilan complet"),
        (date(2020, 12, 31), "bilan simplifié"),
    ]
    first = result.bilans[0]
    assert (first.id, first.nom_document, first.date_depot) == (
        "65419234a1f7d1f2ba09bd8c",
        "Bilan_2022_complet",
        date(2023, 8, 8),
    )
    assert result.nombre_actes == 1
    assert result.payload == body
    assert [document.kind for document in result.documents] == ["bilan"] * 3
    assert [document.source_url for document in result.documents] == [url.split("?")[0] for url in urls]
    assert all(document.sha256 == hashlib.sha256(pdf).hexdigest() for document in result.documents)
    assert [record.provider for record in call_records] == ["api_entreprise"] + ["document"] * 3


def test_only_the_three_newest_bilans_are_downloaded(http, call):
    _, body = load_case(*ACTES_BILANS)
    oldest = copy.deepcopy(body["data"]["bilans"][2])
    oldest.update(date_cloture="2019-12-31", url=oldest["url"] + "?bilan=2019")
    undated = copy.deepcopy(oldest)
    undated.update(date_cloture=None, url=oldest["url"] + "-undated")
    body["data"]["bilans"] = [oldest, undated, *body["data"]["bilans"]]  # the API orders by date de mise à jour
    urls = _bilan_urls(body, suffixes=("x", "y", "2022", "2021", "2020"))
    http.get(ACTES_BILANS_URL, json=body)
    for url in urls:
        http.get(url, body=bilan_pdf())

    result = inpi.fetch_actes_bilans("130025265", call=call)

    assert [bilan.date_cloture for bilan in result.bilans] == [
        date(2022, 12, 31),
        date(2021, 12, 31),
        date(2020, 12, 31),
        date(2019, 12, 31),
        None,
    ]
    assert [document.source_url.rsplit("/", 1)[-1] for document in result.documents] == ["exemple-bilan-inpi.pdf"] * 3
    assert [call.request.url.rsplit("=", 1)[-1] for call in http.calls[1:]] == ["2022", "2021", "2020"]


def test_a_link_shared_by_several_bilans_is_downloaded_once(http, call, call_records):
    _, body = load_case(*ACTES_BILANS)  # the staging gives the three bilans the same link
    (url,) = {bilan["url"] for bilan in body["data"]["bilans"]}
    http.get(ACTES_BILANS_URL, json=body)
    http.get(url, body=bilan_pdf())

    result = inpi.fetch_actes_bilans("130025265", call=call)

    assert len(result.bilans) == 3
    (document,) = result.documents
    assert document.source_url == url
    assert [record.provider for record in call_records] == ["api_entreprise", "document"]


def test_no_bilan_downloads_nothing(http, call):
    http.get(ACTES_BILANS_URL, json={"data": {"actes": [], "bilans": []}, "links": {}, "meta": {}})
    result = inpi.fetch_actes_bilans("130025265", call=call)
    assert (result.bilans, result.documents, result.nombre_actes) == ((), (), 0)
    assert len(http.calls) == 1


def test_a_bilan_without_link_is_listed_not_downloaded(http, call):
    _, body = load_case(*ACTES_BILANS)
    urls = _bilan_urls(body)
    body["data"]["bilans"][0]["url"] = None
    http.get(ACTES_BILANS_URL, json=body)
    for url in urls[1:]:
        http.get(url, body=bilan_pdf())

    result = inpi.fetch_actes_bilans("130025265", call=call)

    assert len(result.bilans) == 3
    assert len(result.documents) == 2


def _actes_bilans(change) -> dict:
    _, body = load_case(*ACTES_BILANS)
    change(body["data"])
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"links": {}}, id="no_data"),
        pytest.param({"data": {}}, id="empty_data"),
        pytest.param(_actes_bilans(lambda data: data.pop("actes")), id="no_actes"),
        pytest.param(_actes_bilans(lambda data: data.update(bilans=None)), id="null_bilans"),
        pytest.param(_actes_bilans(lambda data: data.update(bilans=["Bilan_2022"])), id="bilan_not_object"),
        pytest.param(
            _actes_bilans(lambda data: data["bilans"][0].update(date_cloture="31/12/2022")), id="date_not_iso"
        ),
        pytest.param(_actes_bilans(lambda data: data["bilans"][0].update(url=42)), id="url_not_text"),
    ],
)
def test_malformed_actes_bilans(body):
    with pytest.raises(errors.ProviderError, match="INPI") as excinfo:
        inpi.parse_actes_bilans(body)
    assert excinfo.value.code == "malformed"
    assert excinfo.value.__cause__ is not None
