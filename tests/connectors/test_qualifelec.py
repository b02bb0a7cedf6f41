from __future__ import annotations

import copy
import hashlib
from datetime import date

import pytest

from connectors import errors, qualifelec
from connectors.qualifelec import Assurance, Code

from .payloads import API_ENTREPRISE_URL, DATA_DIR, load_case, sample_pdf

DIRECTORY = "api_entreprise_v3_qualifelec_certificats"
SIRET = "55204944776279"
URL = f"{API_ENTREPRISE_URL}/v3/qualifelec/etablissements/{SIRET}/certificats"
RGE = "200-certification-qualifelec_rge_sans-domaine.yaml"
TWO = "200-certification-qualifelec_2-certificats_sans-domaine.yaml"
PROBATOIRE = "200-certification-qualifelec_probatoire_rge.yaml"


def sample_jpeg() -> bytes:
    """The official sample certificate: Qualifelec's files are images as well as PDFs."""
    return (DATA_DIR / DIRECTORY / "exemple-certificat-qualifelec-bac-a-sable.jpg").read_bytes()


def test_rge_certificate_with_its_image(http, call, call_records):
    _, body = load_case(DIRECTORY, RGE)
    jpeg = sample_jpeg()
    http.get(URL, json=body)
    http.get(body["data"][0]["data"]["document_url"], body=jpeg, content_type="image/jpeg")

    result = qualifelec.fetch_certificats(SIRET, call=call)

    (certificat,) = result.certificats
    assert certificat.numero == "2840"
    assert certificat.rge is True
    assert (certificat.date_debut, certificat.date_fin) == (date(2023, 2, 1), date(2024, 1, 31))
    assert certificat.qualification == "Installations Électriques Logement Commerce Petit Tertiaire - LCPT"
    assert (certificat.qualification_date_debut, certificat.qualification_date_fin) == (
        date(2023, 2, 1),
        date(2027, 1, 31),
    )
    assert certificat.indices == (Code("LCPT", "Logement Commerce Petit Tertiaire"),)
    assert [mention.code for mention in certificat.mentions] == ["RGE", "ATC", "IRVE2"]
    assert certificat.domaines == ()
    assert certificat.classification == "Classe 1 - de 1 à 3 exécutants"
    assert certificat.assurance_decennale == Assurance("AXA", date(2023, 2, 1), date(2024, 1, 31))
    assert certificat.assurance_civile == Assurance("ALLIANZ IARD", date(2023, 2, 1), date(2024, 1, 31))
    assert result.withheld is False
    assert result.payload == body
    (document,) = result.documents
    assert document.kind == "qualifelec"
    assert document.content_type == "image/jpeg"
    assert document.sha256 == hashlib.sha256(jpeg).hexdigest()
    assert (document.valid_from, document.valid_until) == (date(2023, 2, 1), date(2024, 1, 31))
    assert [record.provider for record in call_records] == ["api_entreprise", "document"]


def test_each_certificate_file_is_downloaded(http, call):
    _, body = load_case(DIRECTORY, TWO)
    second = body["data"][1]["data"]
    second["document_url"] = second["document_url"].replace("bac-a-sable.jpg", "bac-a-sable-2841.pdf")
    http.get(URL, json=body)
    http.get(body["data"][0]["data"]["document_url"], body=sample_jpeg())
    http.get(second["document_url"], body=sample_pdf())

    result = qualifelec.fetch_certificats(SIRET, call=call)

    assert [certificat.numero for certificat in result.certificats] == ["2841", "2840"]  # latest end first
    assert [certificat.rge for certificat in result.certificats] == [False, False]
    assert [document.content_type for document in result.documents] == ["application/pdf", "image/jpeg"]
    assert [document.valid_until for document in result.documents] == [date(2024, 7, 31), date(2024, 1, 31)]


def test_a_file_shared_by_two_certificates_is_downloaded_once(http, call):
    _, body = load_case(DIRECTORY, TWO)  # the staging gives both certificates the same sample file
    http.get(URL, json=body)
    http.get(body["data"][0]["data"]["document_url"], body=sample_jpeg())

    result = qualifelec.fetch_certificats(SIRET, call=call)

    assert len(result.certificats) == 2
    assert len(result.documents) == 1
    assert len(http.calls) == 2


def test_probationary_certificate_with_domains():
    _, body = load_case(DIRECTORY, PROBATOIRE)
    (certificat,) = qualifelec.parse_certificats(body).certificats
    assert certificat.rge is True
    assert [mention.code for mention in certificat.mentions] == ["PRGE", "FO"]
    assert certificat.domaines == (Code("RC", "Réseaux de Communications"), Code("ST", "Sécurité"))


def test_probationary_certificate_without_classification_nor_insurance_dates():
    _, body = load_case(DIRECTORY, PROBATOIRE)
    data = body["data"][0]["data"]
    data["qualification"]["classification"] = {"code": None, "label": None}
    data["assurance_decennale"].update(date_debut=None, date_fin=None)
    (certificat,) = qualifelec.parse_certificats(body).certificats
    assert certificat.classification == ""
    assert certificat.assurance_decennale == Assurance("AXA", None, None)


def test_no_certificate_downloads_nothing(http, call):
    http.get(URL, json={"data": [], "meta": {"total": 0}, "links": {}})
    result = qualifelec.fetch_certificats(SIRET, call=call)
    assert (result.certificats, result.documents) == ((), ())


def _changed(change) -> dict:
    _, body = load_case(DIRECTORY, RGE)
    change(body["data"][0]["data"])
    return body


MALFORMED = [
    pytest.param({"links": {}}, id="no_data"),
    pytest.param({"data": {}}, id="data_not_a_list"),
    pytest.param({"data": [{"links": {}}]}, id="item_without_data"),
    pytest.param(_changed(lambda data: data.pop("document_url")), id="no_document_url"),
    pytest.param(_changed(lambda data: data.update(document_url="")), id="empty_document_url"),
    pytest.param(_changed(lambda data: data.update(rge="oui")), id="rge_not_bool"),
    pytest.param(_changed(lambda data: data.update(numero=None)), id="null_numero"),
    pytest.param(_changed(lambda data: data.update(date_fin=None)), id="null_date_fin"),
    pytest.param(_changed(lambda data: data.update(date_debut="01/02/2023")), id="date_not_iso"),
    pytest.param(_changed(lambda data: data.pop("qualification")), id="no_qualification"),
    pytest.param(_changed(lambda data: data["qualification"].update(mentions="RGE")), id="mentions_not_list"),
    pytest.param(_changed(lambda data: data.update(assurance_civile="ALLIANZ")), id="assurance_not_object"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_certificats(body):
    with pytest.raises(errors.ProviderError, match="Qualifelec") as excinfo:
        qualifelec.parse_certificats(body)
    assert excinfo.value.code == "malformed"
    assert excinfo.value.__cause__ is not None


def test_malformed_answer_downloads_nothing(http, call):
    http.get(URL, json=_changed(lambda data: data.update(rge=None)))
    with pytest.raises(errors.ProviderError):
        qualifelec.fetch_certificats(SIRET, call=call)
    assert len(http.calls) == 1


def test_parse_rebuilds_the_stored_answer_without_documents():
    _, body = load_case(DIRECTORY, TWO)
    stored = copy.deepcopy(body)
    result = qualifelec.parse_certificats(stored)
    assert result.documents == ()
    assert stored == body
