"""ADEME through API Entreprise: the RGE (Reconnu Garant de l'Environnement) certificates of an établissement.

A collection: one item per certificate, each for a domain of works, with its expiry date and the link to
the certificate on the certifying body's site (`url`), kept as a link and not downloaded. Certificates
ADEME has archived (`meta.archived`, i.e. no longer valid) are kept apart from the current ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from . import client, parsing
from .types import CallContext, SourceResult


@dataclass(frozen=True)
class CertificatRge:
    nom_certificat: str
    domaine: str
    meta_domaine: str
    qualification_code: str
    qualification_nom: str
    organisme: str  # qualibat, qualifelec, qualitenr, opqibi, certibat, …
    date_attribution: date | None
    date_expiration: date | None
    url: str  # the certificate on the certifying body's site
    archived: bool


@dataclass(frozen=True, kw_only=True)
class CertificationsRge(SourceResult):
    certificats: tuple[CertificatRge, ...]  # current ones, soonest expiry first
    archives: tuple[CertificatRge, ...]  # archived by ADEME: no longer valid


def fetch_certifications(siret: str, *, call: CallContext) -> CertificationsRge:
    response = client.api_entreprise_get(f"/v3/ademe/etablissements/{siret}/certification_rge", call=call)
    return parse_certifications(response.body)


def parse_certifications(payload: dict) -> CertificationsRge:
    try:
        certificats = [_certificat(item) for item in parsing.collection(payload)]
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("ADEME", "certification RGE", exc) from exc
    certificats.sort(key=lambda certificat: certificat.date_expiration or date.max)
    return CertificationsRge(
        payload=payload,
        certificats=tuple(certificat for certificat in certificats if not certificat.archived),
        archives=tuple(certificat for certificat in certificats if certificat.archived),
    )


def _certificat(data: dict) -> CertificatRge:
    qualification = data["qualification"]
    return CertificatRge(
        nom_certificat=parsing.text(data["nom_certificat"]),
        domaine=parsing.text(data["domaine"]),
        meta_domaine=parsing.text(data.get("meta_domaine")),
        qualification_code=parsing.text(qualification["code"], numbers=True),
        qualification_nom=parsing.text(qualification["nom"]),
        organisme=parsing.text(data["organisme"]),
        date_attribution=parsing.iso_date(data["date_attribution"]),
        date_expiration=parsing.iso_date(data["date_expiration"]),
        url=parsing.text(data["url"]),
        archived=parsing.boolean(data["meta"]["archived"], name="meta.archived"),
    )
