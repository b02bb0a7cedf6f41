"""Qualibat through API Entreprise (v4): the building certification, its qualifications and its PDF.

The dates are the certificate's own (émission, fin de validité) and go on the document; the insurers are
read from the PDF by API Entreprise and may be null.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from . import client, parsing
from .types import CallContext, SourceResult

DOCUMENT_KIND = "qualibat"


@dataclass(frozen=True)
class Qualification:
    code: str  # e.g. "4322"
    libelle: str
    rge: bool  # reconnu garant de l'environnement
    date_attribution: date | None


@dataclass(frozen=True)
class Assurance:
    nom: str  # empty when unknown
    identifiant: str


@dataclass(frozen=True, kw_only=True)
class CertificationQualibat(SourceResult):
    date_emission: date | None
    date_fin_validite: date | None
    qualifications: tuple[Qualification, ...]
    assurance_responsabilite_travaux: Assurance
    assurance_responsabilite_civile: Assurance


def fetch_certification(siret: str, *, call: CallContext) -> CertificationQualibat:
    """The certification, its PDF downloaded at once and dated with the certificate's validity."""
    response = client.api_entreprise_get(f"/v4/qualibat/etablissements/{siret}/certification_batiment", call=call)
    result = parse_certification(response.body)
    return client.with_document(
        result, kind=DOCUMENT_KIND, call=call, valid_from=result.date_emission, valid_until=result.date_fin_validite
    )


def parse_certification(payload: dict) -> CertificationQualibat:
    try:
        data = payload["data"]
        parsing.document_url(data)
        entity = data["entity"]
        qualifications = parsing.list_of(entity["certifications"], name="certifications")
        return CertificationQualibat(
            payload=payload,
            date_emission=parsing.iso_date(data["date_emission"]),
            date_fin_validite=parsing.iso_date(data["date_fin_validite"]),
            qualifications=tuple(_qualification(item) for item in qualifications if item is not None),
            assurance_responsabilite_travaux=_assurance(entity["assurance_responsabilite_travaux"]),
            assurance_responsabilite_civile=_assurance(entity["assurance_responsabilite_civile"]),
        )
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("Qualibat", "certification bâtiment", exc) from exc


def _qualification(item: dict) -> Qualification:
    return Qualification(
        code=parsing.required_text(item["code"], numbers=True),
        libelle=parsing.text(item.get("libelle")),
        rge=bool(parsing.optional_boolean(item.get("rge"), name="rge")),
        date_attribution=parsing.iso_date(item.get("date_attribution")),
    )


def _assurance(item: dict) -> Assurance:
    return Assurance(nom=parsing.text(item["nom"]), identifiant=parsing.text(item["identifiant"], numbers=True))
