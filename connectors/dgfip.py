"""DGFIP through API Entreprise: the attestation de régularité fiscale and the chiffres d'affaires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from . import client, parsing
from .types import CallContext, SourceResult

DOCUMENT_KIND = "attestation_fiscale"


@dataclass(frozen=True, kw_only=True)
class AttestationFiscale(SourceResult):
    date_delivrance: date | None
    date_periode_analysee: date | None


@dataclass(frozen=True)
class Exercice:
    montant: int  # euros
    date_fin_exercice: date


@dataclass(frozen=True, kw_only=True)
class ChiffresAffaires(SourceResult):
    exercices: tuple[Exercice, ...]  # newest first


def fetch_attestation_fiscale(siren: str, *, call: CallContext) -> AttestationFiscale:
    """The attestation's dates, with its PDF downloaded at once (the link expires)."""
    response = client.api_entreprise_get(f"/v4/dgfip/unites_legales/{siren}/attestation_fiscale", call=call)
    result = parse_attestation_fiscale(response.body)
    return client.with_document(result, kind=DOCUMENT_KIND, call=call, valid_from=result.date_delivrance)


def parse_attestation_fiscale(payload: dict) -> AttestationFiscale:
    try:
        data = payload["data"]
        parsing.document_url(data)
        return AttestationFiscale(
            payload=payload,
            date_delivrance=parsing.iso_date(data["date_delivrance_attestation"]),
            date_periode_analysee=parsing.iso_date(data.get("date_periode_analysee")),
        )
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("DGFIP", "attestation fiscale", exc) from exc


def fetch_chiffres_affaires(siret: str, *, call: CallContext) -> ChiffresAffaires:
    response = client.api_entreprise_get(f"/v3/dgfip/etablissements/{siret}/chiffres_affaires", call=call)
    return parse_chiffres_affaires(response.body)


def parse_chiffres_affaires(payload: dict) -> ChiffresAffaires:
    """A collection: `data` is a list of `{data: {chiffre_affaires, date_fin_exercice}, links, meta}`."""
    try:
        exercices = [_exercice(item) for item in parsing.collection(payload)]
    except (*parsing.PARSE_ERRORS, OverflowError) as exc:  # OverflowError: round() of an infinite montant
        raise parsing.malformed("DGFIP", "chiffres d'affaires", exc) from exc
    exercices.sort(key=lambda exercice: exercice.date_fin_exercice, reverse=True)
    return ChiffresAffaires(payload=payload, exercices=tuple(exercices))


def _exercice(data: dict) -> Exercice:
    montant = data["chiffre_affaires"]
    if isinstance(montant, bool) or not isinstance(montant, int | float):
        raise parsing.Unreadable(f"montant attendu, reçu {montant!r}")
    fin = parsing.iso_date(data["date_fin_exercice"])
    if fin is None:
        raise parsing.Unreadable("date_fin_exercice vide")
    return Exercice(montant=round(montant), date_fin_exercice=fin)
