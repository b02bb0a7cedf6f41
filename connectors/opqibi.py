"""OPQIBI through API Entreprise: the engineering qualification certificate of an unité légale.

The certificate is a page on opqibi.com (`url`), kept as a link: there is no document to download.
Probationary qualifications (the company is able but has not yet delivered enough) are kept apart,
with their own validity date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from . import client, parsing
from .types import CallContext, SourceResult


@dataclass(frozen=True)
class QualificationOpqibi:
    code: str
    nom: str
    definition: str
    rge: bool


@dataclass(frozen=True, kw_only=True)
class CertificationOpqibi(SourceResult):
    numero_certificat: str
    url: str  # the certificate's page on opqibi.com
    date_delivrance: date | None
    duree_validite: str  # free text, e.g. "valable un an"
    assurances: str
    qualifications: tuple[QualificationOpqibi, ...]
    date_validite_qualifications: date | None
    qualifications_probatoires: tuple[QualificationOpqibi, ...]
    date_validite_qualifications_probatoires: date | None


def fetch_certification(siren: str, *, call: CallContext) -> CertificationOpqibi:
    response = client.api_entreprise_get(f"/v3/opqibi/unites_legales/{siren}/certification_ingenierie", call=call)
    return parse_certification(response.body)


def parse_certification(payload: dict) -> CertificationOpqibi:
    try:
        data = payload["data"]
        return CertificationOpqibi(
            payload=payload,
            numero_certificat=parsing.text(data["numero_certificat"]),
            url=parsing.text(data["url"]),
            date_delivrance=parsing.iso_date(data["date_delivrance_certificat"]),
            duree_validite=parsing.text(data["duree_validite_certificat"]),
            assurances=parsing.text(data["assurances"]),
            qualifications=_qualifications(data["qualifications"]),
            date_validite_qualifications=parsing.iso_date(data["date_validite_qualifications"]),
            qualifications_probatoires=_qualifications(data["qualifications_probatoires"]),
            date_validite_qualifications_probatoires=parsing.iso_date(data["date_validite_qualifications_probatoires"]),
        )
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("OPQIBI", "certification d'ingénierie", exc) from exc


def _qualifications(items: object) -> tuple[QualificationOpqibi, ...]:
    return tuple(_qualification(item) for item in parsing.list_of(items, name="qualifications"))


def _qualification(item: dict) -> QualificationOpqibi:
    return QualificationOpqibi(
        code=parsing.text(item["code_qualification"], numbers=True),
        nom=parsing.required_text(item["nom"]),
        definition=parsing.text(item.get("definition")),
        rge=parsing.boolean(item.get("rge", False), name="rge"),
    )
