"""FNTP through API Entreprise: the carte professionnelle d'entrepreneur de travaux publics (PDF).

The card is delivered to a company in order with its social, administrative and legal obligations; the
answer is only its link (`expires_in` is the link's life, not the card's validity).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import client, parsing
from .types import CallContext, SourceResult

DOCUMENT_KIND = "carte_pro_tp"


@dataclass(frozen=True, kw_only=True)
class CarteProfessionnelleTp(SourceResult):
    """The card is the PDF."""


def fetch_carte_professionnelle(siren: str, *, call: CallContext) -> CarteProfessionnelleTp:
    response = client.api_entreprise_get(
        f"/v3/fntp/unites_legales/{siren}/carte_professionnelle_travaux_publics", call=call
    )
    result = parse_carte_professionnelle(response.body)
    return client.with_document(result, kind=DOCUMENT_KIND, call=call)


def parse_carte_professionnelle(payload: dict) -> CarteProfessionnelleTp:
    parsing.document_only(payload, "FNTP", "carte professionnelle travaux publics")
    return CarteProfessionnelleTp(payload=payload)
