from __future__ import annotations

import copy
import hashlib
from datetime import date

import pytest

from connectors import errors, qualibat
from connectors.qualibat import Assurance, Qualification

from .payloads import API_ENTREPRISE_URL, DATA_DIR, load_case, sample_pdf

DIRECTORY = "api_entreprise_v4_qualibat_certifications_batiment"
SIRET = "30613890001294"
URL = f"{API_ENTREPRISE_URL}/v4/qualibat/etablissements/{SIRET}/certification_batiment"


def _case() -> dict:
    return load_case(DIRECTORY, "200.yml")[1]


def test_certification_with_its_dated_pdf(http, call):
    body = _case()
    pdf = (DATA_DIR / DIRECTORY / "exemple-qualibat.pdf").read_bytes()
    http.get(URL, json=body)
    http.get(body["data"]["document_url"], body=pdf, content_type="application/pdf")

    result = qualibat.fetch_certification(SIRET, call=call)

    assert result.date_emission == date(2023, 1, 1)
    assert result.date_fin_validite == date(2024, 2, 2)
    assert result.qualifications == (
        Qualification(
            code="4322",
            libelle="Fabrication et pose de menuiserie intérieure en bois",
            rge=False,
            date_attribution=date(2022, 3, 3),
        ),
    )
    assert result.assurance_responsabilite_travaux == Assurance(nom="GROUPAMA", identifiant="1234567890")
    assert result.assurance_responsabilite_civile == Assurance(nom="GROUPAMA", identifiant="1234567890")
    assert result.withheld is False
    assert result.payload == body
    (document,) = result.documents
    assert document.kind == "qualibat"
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert (document.valid_from, document.valid_until) == (date(2023, 1, 1), date(2024, 2, 2))


def test_nullable_fields_and_several_qualifications():
    body = _case()
    data = body["data"]
    data["date_emission"] = data["date_fin_validite"] = None
    data["entity"]["assurance_responsabilite_civile"] = {"nom": None, "identifiant": None}
    rge = copy.deepcopy(data["entity"]["certifications"][0]) | {"code": "5111", "rge": True}
    del rge["date_attribution"]
    data["entity"]["certifications"] += [None, rge]

    result = qualibat.parse_certification(body)

    assert (result.date_emission, result.date_fin_validite) == (None, None)
    assert result.assurance_responsabilite_civile == Assurance(nom="", identifiant="")
    assert [(q.code, q.rge, q.date_attribution) for q in result.qualifications] == [
        ("4322", False, date(2022, 3, 3)),
        ("5111", True, None),
    ]


def test_no_qualification():
    body = _case()
    body["data"]["entity"]["certifications"] = []
    assert qualibat.parse_certification(body).qualifications == ()


def _changed(path: str, value) -> dict:
    body = _case()
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is KeyError:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"links": {}}, id="no_data"),
        pytest.param(_changed("data.document_url", None), id="null_document_url"),
        pytest.param(_changed("data.entity", KeyError), id="no_entity"),
        pytest.param(_changed("data.entity", None), id="null_entity"),
        pytest.param(_changed("data.date_fin_validite", KeyError), id="no_date_fin_validite"),
        pytest.param(_changed("data.date_fin_validite", "02/02/2024"), id="date_not_iso"),
        pytest.param(_changed("data.entity.certifications", {"code": "4322"}), id="certifications_not_a_list"),
        pytest.param(_changed("data.entity.certifications.0.code", KeyError), id="qualification_without_code"),
        pytest.param(_changed("data.entity.certifications.0.rge", "non"), id="rge_not_boolean"),
        pytest.param(_changed("data.entity.certifications.0.date_attribution", "2022"), id="bad_attribution_date"),
        pytest.param(_changed("data.entity.assurance_responsabilite_travaux", None), id="null_assurance"),
        pytest.param(_changed("data.entity.assurance_responsabilite_civile.nom", KeyError), id="assurance_no_nom"),
    ],
)
def test_malformed_certification(body):
    with pytest.raises(errors.ProviderError, match="Qualibat") as excinfo:
        qualibat.parse_certification(body)
    assert excinfo.value.code == "malformed"
    assert excinfo.value.__cause__ is not None


def test_malformed_answer_downloads_nothing(http, call):
    http.get(URL, json=_changed("data.entity", None))
    http.get(_case()["data"]["document_url"], body=sample_pdf())
    with pytest.raises(errors.ProviderError):
        qualibat.fetch_certification(SIRET, call=call)
    assert len(http.calls) == 1
