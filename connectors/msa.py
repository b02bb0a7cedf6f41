"""MSA (Mutualité sociale agricole) through API Entreprise: are the farm-sector social contributions up to date?

The answer is a status only (no document). `outdated` is an answer, not an error: like PRO BTP's
non-conformité and CIBTP's 38422, the provider refuses to certify, so the result is `withheld`, and the
caller flags it (msa_non_a_jour); `under_investigation` means an MSA agent is still checking the account.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import client, parsing
from .types import CallContext, SourceResult

UP_TO_DATE = "up_to_date"
OUTDATED = "outdated"
UNDER_INVESTIGATION = "under_investigation"
STATUSES = (UP_TO_DATE, OUTDATED, UNDER_INVESTIGATION)


@dataclass(frozen=True, kw_only=True)
class ConformiteMsa(SourceResult):
    status: str  # "up_to_date", "outdated" or "under_investigation"

    @property
    def withheld(self) -> bool:
        return self.status == OUTDATED


def fetch_conformite(siret: str, *, call: CallContext) -> ConformiteMsa:
    response = client.api_entreprise_get(f"/v3/msa/etablissements/{siret}/conformite_cotisations", call=call)
    return parse_conformite(response.body)


def parse_conformite(payload: dict) -> ConformiteMsa:
    try:
        status = parsing.required_text(payload["data"]["status"])
        if status not in STATUSES:
            raise parsing.Unreadable(f"statut inconnu {status!r}")
        return ConformiteMsa(payload=payload, status=status)
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("MSA", "conformité des cotisations", exc) from exc
