"""Qualifelec through API Entreprise: the electrical-engineering certificates of an établissement.

A collection: one item per certificate (a yearly certificate for one qualification), each with its own
file (`document_url`: a PDF or an image), downloaded at once. A certificate is valid from `date_debut` to
`date_fin`; its qualification lasts longer (4 years, 2 when probationary) but needs the yearly certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from . import client, parsing
from .types import CallContext, DocumentLink, SourceResult

DOCUMENT_KIND = "qualifelec"


@dataclass(frozen=True)
class Code:
    code: str
    label: str


@dataclass(frozen=True)
class Assurance:
    nom: str
    date_debut: date | None
    date_fin: date | None


@dataclass(frozen=True)
class CertificatQualifelec:
    numero: str
    rge: bool
    date_debut: date  # validity of the certificate
    date_fin: date
    qualification: str
    qualification_date_debut: date | None
    qualification_date_fin: date | None
    indices: tuple[Code, ...]
    mentions: tuple[Code, ...]
    domaines: tuple[Code, ...]
    classification: str  # e.g. "Classe 1 - de 1 à 3 exécutants"; empty for a probationary qualification
    assurance_decennale: Assurance | None
    assurance_civile: Assurance | None
    document_url: str


@dataclass(frozen=True, kw_only=True)
class CertificatsQualifelec(SourceResult):
    certificats: tuple[CertificatQualifelec, ...]  # latest end of validity first


def fetch_certificats(siret: str, *, call: CallContext) -> CertificatsQualifelec:
    """The certificates, each file downloaded at once (a file shared by several certificates, once)."""
    response = client.api_entreprise_get(f"/v3/qualifelec/etablissements/{siret}/certificats", call=call)
    result = parse_certificats(response.body)
    links = [
        DocumentLink(certificat.document_url, valid_from=certificat.date_debut, valid_until=certificat.date_fin)
        for certificat in result.certificats
    ]
    return replace(result, documents=client.download_documents(links, kind=DOCUMENT_KIND, call=call))


def parse_certificats(payload: dict) -> CertificatsQualifelec:
    try:
        certificats = [_certificat(item) for item in parsing.collection(payload)]
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("Qualifelec", "certificats", exc) from exc
    certificats.sort(key=lambda certificat: certificat.date_fin, reverse=True)
    return CertificatsQualifelec(payload=payload, certificats=tuple(certificats))


def _certificat(data: dict) -> CertificatQualifelec:
    qualification = data["qualification"]
    numero = data["numero"]
    if isinstance(numero, bool) or not isinstance(numero, int | str):
        raise parsing.Unreadable(f"numéro de certificat attendu, reçu {numero!r}")
    classification = qualification.get("classification") or {}
    return CertificatQualifelec(
        numero=parsing.required_text(str(numero)),
        rge=parsing.boolean(data["rge"], name="rge"),
        date_debut=_required_date(data["date_debut"]),
        date_fin=_required_date(data["date_fin"]),
        qualification=parsing.required_text(qualification["label"]),
        qualification_date_debut=parsing.iso_date(qualification.get("date_debut")),
        qualification_date_fin=parsing.iso_date(qualification.get("date_fin")),
        indices=_codes(qualification.get("indices")),
        mentions=_codes(qualification.get("mentions")),
        domaines=_codes(qualification.get("domaines")),
        classification=parsing.text(classification.get("label")),
        assurance_decennale=_assurance(data.get("assurance_decennale")),
        assurance_civile=_assurance(data.get("assurance_civile")),
        document_url=parsing.document_url(data),
    )


def _required_date(value: object) -> date:
    result = parsing.iso_date(value)
    if result is None:
        raise parsing.Unreadable("date de validité vide")
    return result


def _codes(items: object) -> tuple[Code, ...]:
    if items is None:
        return ()
    return tuple(
        Code(code=parsing.text(item.get("code"), numbers=True), label=parsing.text(item.get("label")))
        for item in parsing.list_of(items)
    )


def _assurance(value: object) -> Assurance | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise parsing.Unreadable(f"assurance attendue, reçu {type(value).__name__}")
    return Assurance(
        nom=parsing.text(value.get("nom")),
        date_debut=parsing.iso_date(value.get("date_debut")),
        date_fin=parsing.iso_date(value.get("date_fin")),
    )
