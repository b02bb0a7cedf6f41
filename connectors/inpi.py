"""INPI (Registre national des entreprises) through API Entreprise: the extrait RNE and its PDF, and the
list of the annual accounts (bilans) filed, with the last three downloaded."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from . import client, parsing
from .types import CallContext, DocumentLink, SourceResult

DOCUMENT_KIND = "extrait_rne"
BILAN_DOCUMENT_KIND = "bilan"
BILANS_DOWNLOADED = 3


@dataclass(frozen=True)
class Dirigeant:
    nom: str
    prenoms: str
    qualite: str


@dataclass(frozen=True, kw_only=True)
class ExtraitRne(SourceResult):
    siren: str
    denomination: str
    forme_juridique: str
    capital_social: Decimal | None
    devise: str
    adresse_siege: str
    dirigeants: tuple[Dirigeant, ...]


def fetch_extrait_rne(siren: str, *, call: CallContext) -> ExtraitRne:
    """The extrait's data, with its PDF downloaded at once (the link expires)."""
    response = client.api_entreprise_get(f"/v3/inpi/rne/unites_legales/{siren}/extrait_rne", call=call)
    result = parse_extrait_rne(response.body)
    if not parsing.text(response.data.get("document_url")):
        return result  # the PDF is optional
    return client.with_document(result, kind=DOCUMENT_KIND, call=call)


def parse_extrait_rne(payload: dict) -> ExtraitRne:
    try:
        data = payload["data"]
        identite = data["identite_entreprise"]
        parsing.text(data.get("document_url"))  # optional, but text when given: checked here for the fetch
        capital = identite.get("capital_social") or {}
        return ExtraitRne(
            payload=payload,
            siren=parsing.required_text(identite["siren"]),
            denomination=_denomination(identite),
            forme_juridique=parsing.text((identite.get("forme_juridique") or {}).get("libelle")),
            capital_social=_decimal(capital.get("montant")),
            devise=parsing.text(capital.get("devise")),
            adresse_siege=_adresse(identite.get("adresse_siege_social") or {}),
            dirigeants=tuple(_dirigeant(item) for item in data["dirigeants_et_associes"]),
        )
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("INPI", "extrait RNE", exc) from exc


def _denomination(identite: dict) -> str:
    """A company's dénomination; for an individual entrepreneur, "Prénoms NOM"."""
    denomination = parsing.text(identite.get("denomination"))
    if denomination:
        return denomination
    prenoms = _prenoms(identite.get("prenoms"))
    return " ".join(part for part in (prenoms, parsing.text(identite.get("nom"))) if part)


def _dirigeant(item: dict) -> Dirigeant:
    if not isinstance(item, dict):
        raise parsing.Unreadable(f"dirigeant attendu sous forme d'objet, reçu {type(item).__name__}")
    return Dirigeant(
        # A legal person as manager has a dénomination instead of a name.
        nom=parsing.text(item.get("nom")) or parsing.text(item.get("denomination")),
        prenoms=_prenoms(item.get("prenoms", item.get("prenom"))),
        qualite=parsing.text(item.get("qualite")),
    )


def _prenoms(value: object) -> str:
    if isinstance(value, list):
        return " ".join(parsing.text(prenom) for prenom in value if prenom)
    return parsing.text(value)


def _adresse(adresse: dict) -> str:
    """One postal line: "2 PLACE AUX ETOILES, 93200 SAINT-DENIS"; the country only when it is not France."""
    pays = parsing.text(adresse.get("pays"))
    commune = " ".join(
        part for part in (parsing.text(adresse.get("code_postal")), parsing.text(adresse.get("commune"))) if part
    )
    parts = (
        parsing.text(adresse.get("voie")),
        parsing.text(adresse.get("complement")),
        commune,
        "" if pays.upper() == "FRANCE" else pays,
    )
    return ", ".join(part for part in parts if part)


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise parsing.Unreadable(f"montant attendu, reçu {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise parsing.Unreadable(f"montant illisible : {value!r}") from exc
    if not amount.is_finite():
        raise parsing.Unreadable(f"montant illisible : {value!r}")
    return amount


@dataclass(frozen=True)
class Bilan:
    id: str
    nom_document: str
    date_cloture: date | None  # end of the financial year (null for some old filings)
    date_depot: date | None
    type: str  # "bilan complet", "bilan simplifié", "bilan consolidé", …
    url: str  # download link (API Entreprise's INPI proxy)


@dataclass(frozen=True, kw_only=True)
class ActesBilans(SourceResult):
    bilans: tuple[Bilan, ...]  # newest date de clôture first (undated last)
    nombre_actes: int

    @property
    def derniers_bilans(self) -> tuple[Bilan, ...]:
        """The bilans whose PDF is downloaded: the last three that have a link."""
        return tuple(bilan for bilan in self.bilans if bilan.url)[:BILANS_DOWNLOADED]


def fetch_actes_bilans(siren: str, *, call: CallContext) -> ActesBilans:
    """The list of the bilans filed, with the last three downloaded at once (kind "bilan"; a link shared by
    several bilans, once)."""
    response = client.api_entreprise_get(f"/v3/inpi/rne/unites_legales/open_data/{siren}/actes_bilans", call=call)
    result = parse_actes_bilans(response.body)
    links = [DocumentLink(bilan.url) for bilan in result.derniers_bilans]
    return replace(result, documents=client.download_documents(links, kind=BILAN_DOCUMENT_KIND, call=call))


def parse_actes_bilans(payload: dict) -> ActesBilans:
    try:
        data = payload["data"]
        actes = parsing.list_of(data["actes"], name="actes")
        parsed = [_bilan(item) for item in parsing.list_of(data["bilans"], name="bilans")]
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("INPI", "actes et bilans", exc) from exc
    parsed.sort(key=lambda bilan: (bilan.date_cloture or date.min, bilan.date_depot or date.min), reverse=True)
    return ActesBilans(payload=payload, bilans=tuple(parsed), nombre_actes=len(actes))


def _bilan(item: dict) -> Bilan:
    if not isinstance(item, dict):
        raise parsing.Unreadable(f"bilan attendu sous forme d'objet, reçu {type(item).__name__}")
    return Bilan(
        id=parsing.text(item.get("id")),
        nom_document=parsing.text(item.get("nom_document")),
        date_cloture=parsing.iso_date(item.get("date_cloture")),
        date_depot=parsing.iso_date(item.get("date_depot")),
        type=parsing.text(item.get("type")),
        url=parsing.text(item.get("url")),
    )
