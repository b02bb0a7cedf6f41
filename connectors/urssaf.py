"""URSSAF through API Entreprise: the attestation de vigilance (social contributions up to date).

A refusal (`entity_status.code == "refus_de_delivrance"`) is an answer, not an error: the result is
`withheld`, carries no document, and is an exclusion ground (L2141-2) for the caller to flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from . import client, parsing
from .types import CallContext, SourceResult

DOCUMENT_KIND = "attestation_vigilance"
REFUS_DE_DELIVRANCE = "refus_de_delivrance"


@dataclass(frozen=True, kw_only=True)
class AttestationVigilance(SourceResult):
    entity_status_code: str  # "ok" or "refus_de_delivrance"
    entity_status_libelle: str
    date_debut_validite: date | None
    date_fin_validite: date | None
    code_securite: str

    @property
    def withheld(self) -> bool:
        return self.entity_status_code == REFUS_DE_DELIVRANCE


def fetch_attestation_vigilance(siren: str, *, call: CallContext) -> AttestationVigilance:
    """The attestation's status and dates, with its PDF downloaded at once (nothing to fetch on a refusal)."""
    response = client.api_entreprise_get(f"/v4/urssaf/unites_legales/{siren}/attestation_vigilance", call=call)
    result = parse_attestation_vigilance(response.body)
    if result.withheld:
        return result
    return client.with_document(
        result,
        kind=DOCUMENT_KIND,
        call=call,
        valid_from=result.date_debut_validite,
        valid_until=result.date_fin_validite,
    )


def parse_attestation_vigilance(payload: dict) -> AttestationVigilance:
    try:
        data = payload["data"]
        status = data["entity_status"]
        code = parsing.text(status["code"])
        if not code:
            raise ValueError("entity_status.code vide")
        if code != REFUS_DE_DELIVRANCE:
            parsing.document_url(data)
        return AttestationVigilance(
            payload=payload,
            entity_status_code=code,
            entity_status_libelle=parsing.text(status.get("libelle")),
            date_debut_validite=parsing.iso_date(data["date_debut_validite"]),
            date_fin_validite=parsing.iso_date(data["date_fin_validite"]),
            code_securite=parsing.text(data.get("code_securite")),
        )
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("URSSAF", "attestation de vigilance", exc) from exc
