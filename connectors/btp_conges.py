"""CIBTP and CNETP through API Entreprise: the attestation de cotisations congés payés et chômage-intempéries.

Building firms contribute to the CIBTP network (per établissement), public-works firms to the CNETP (per
unité légale); either attestation proves the piece "attestation_conges_payes".

CIBTP answers 404 with the code `38422` when the company is not up to date with its contributions: an
answer, not "not found". The connector turns it into a result that is `withheld` (`a_jour=False`, no
document) for the caller to flag (`cibtp_non_a_jour`); any other 404 stays `errors.NotFound`.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import client, errors, parsing
from .types import CallContext, SourceResult

DOCUMENT_KIND = "attestation_conges_payes"
CIBTP = "CIBTP"
CNETP = "CNETP"
CIBTP_NON_A_JOUR = "38422"  # 404 "Attestation non disponible": contributions not up to date


@dataclass(frozen=True, kw_only=True)
class AttestationCongesPayes(SourceResult):
    caisse: str  # CIBTP or CNETP
    a_jour: bool = True  # False: the caisse refuses the attestation, contributions not up to date
    motif: str = ""  # the caisse's words when it refuses

    @property
    def withheld(self) -> bool:
        return not self.a_jour


def fetch_attestation_cibtp(siret: str, *, call: CallContext) -> AttestationCongesPayes:
    """The CIBTP attestation with its PDF, or the not-up-to-date answer (38422) as a withheld result."""
    path = f"/v3/cibtp/etablissements/{siret}/attestation_cotisations_conges_payes_chomage_intemperies"
    try:
        response = client.api_entreprise_get(path, call=call)
    except errors.NotFound as exc:
        if exc.code != CIBTP_NON_A_JOUR:
            raise
        # The error body as CIBTP sent it is the evidence: `parse_attestation_cibtp` rebuilds the same result.
        return parse_attestation_cibtp(exc.body)
    result = parse_attestation_cibtp(response.body)
    # The link lives 10 minutes: download at once.
    return client.with_document(result, kind=DOCUMENT_KIND, call=call)


def parse_attestation_cibtp(payload: dict) -> AttestationCongesPayes:
    try:
        if "errors" in payload:  # stored by the fetch for a 38422 answer
            error = payload["errors"][0]
            if error["code"] != CIBTP_NON_A_JOUR:
                raise parsing.Unreadable(f"erreur inattendue {error['code']!r}")
            return AttestationCongesPayes(
                payload=payload, caisse=CIBTP, a_jour=False, motif=parsing.text(error.get("detail"))
            )
        parsing.document_url(payload["data"])
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed(CIBTP, "attestation congés payés", exc) from exc
    return AttestationCongesPayes(payload=payload, caisse=CIBTP)


def fetch_attestation_cnetp(siren: str, *, call: CallContext) -> AttestationCongesPayes:
    path = f"/v3/cnetp/unites_legales/{siren}/attestation_cotisations_conges_payes_chomage_intemperies"
    response = client.api_entreprise_get(path, call=call)
    result = parse_attestation_cnetp(response.body)
    return client.with_document(result, kind=DOCUMENT_KIND, call=call)


def parse_attestation_cnetp(payload: dict) -> AttestationCongesPayes:
    parsing.document_only(payload, CNETP, "attestation congés payés")
    return AttestationCongesPayes(payload=payload, caisse=CNETP)
