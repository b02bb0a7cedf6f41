"""PRO BTP through API Entreprise: the attestation de cotisations retraite (PDF) and the conformité check.

The conformité answers `eligible: false` for a company that is not up to date with its contributions: an
answer, not an error. That result is `withheld` (PRO BTP certifies nothing) and a warning for the caller to
flag (`probtp_non_conforme`).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import client, parsing
from .types import CallContext, SourceResult

DOCUMENT_KIND = "attestation_probtp"


@dataclass(frozen=True, kw_only=True)
class AttestationProbtp(SourceResult):
    """The attestation itself is the PDF; the answer carries no date (`expires_in` is the link's life)."""


@dataclass(frozen=True, kw_only=True)
class ConformiteProbtp(SourceResult):
    eligible: bool  # up to date with its PRO BTP retirement contributions

    @property
    def withheld(self) -> bool:
        return not self.eligible


def fetch_attestation(siret: str, *, call: CallContext) -> AttestationProbtp:
    """The attestation, its PDF downloaded at once (the link expires)."""
    response = client.api_entreprise_get(
        f"/v3/probtp/etablissements/{siret}/attestation_cotisations_retraite", call=call
    )
    result = parse_attestation(response.body)
    return client.with_document(result, kind=DOCUMENT_KIND, call=call)


def parse_attestation(payload: dict) -> AttestationProbtp:
    parsing.document_only(payload, "PRO BTP", "attestation de cotisations retraite")
    return AttestationProbtp(payload=payload)


def fetch_conformite(siret: str, *, call: CallContext) -> ConformiteProbtp:
    response = client.api_entreprise_get(
        f"/v3/probtp/etablissements/{siret}/conformite_cotisations_retraite", call=call
    )
    return parse_conformite(response.body)


def parse_conformite(payload: dict) -> ConformiteProbtp:
    try:
        eligible = parsing.boolean(payload["data"]["eligible"], name="eligible")
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("PRO BTP", "conformité des cotisations retraite", exc) from exc
    return ConformiteProbtp(payload=payload, eligible=eligible)
