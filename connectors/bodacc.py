"""BODACC open data (DILA, Opendatasoft Explore v2.1): every commercial notice about a company.

The connector fetches all pages (newest first) and parses the JSON-string fields; it decides nothing:
the exclusion grounds are drawn from the notices by `candidatures.exclusions`.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from . import client, errors, parsing
from .types import CallContext, SourceResult

logger = logging.getLogger(__name__)

RECORDS_PATH = "/catalog/datasets/annonces-commerciales/records"
PAGE_SIZE = 100  # the API's maximum `limit`
WINDOW = 10_000  # the API refuses offset + limit >= 10 000
NOTICE_URL = "https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:{id}"

_MONTHS = {
    "janvier": 1,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
}
_FRENCH_DATE = re.compile(r"^(\d{1,2})(?:er)?\s+([a-z]+)\s+(\d{4})$")
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_MOJIBAKE_MARKERS = ("Ã", "Â", "â€")


@dataclass(frozen=True)
class Jugement:
    famille: str
    nature: str
    date: date | None
    complement: str


@dataclass(frozen=True, kw_only=True)
class Annonce:
    id: str
    publication: str  # "A", "B" or "C"
    dateparution: date
    typeavis: str  # "annonce", "rectificatif" or "annulation"
    familleavis: str  # "collective", "vente", "modification", "radiation", "dpc", ...
    tribunal: str
    url: str
    jugement: Jugement | None
    parution_precedente: dict | None  # {"nomPublication", "numeroParution", "numeroAnnonce"}
    numero_parution: str
    numero_annonce: str


@dataclass(frozen=True, kw_only=True)
class AnnoncesBodacc(SourceResult):
    total_count: int
    annonces: tuple[Annonce, ...]  # newest first

    @property
    def truncated(self) -> bool:
        """True when the API's 10 000-record window hid the oldest notices."""
        return len(self.annonces) < self.total_count


def siren_spaced(siren: str) -> str:
    return f"{siren[:3]} {siren[3:6]} {siren[6:]}"


def fetch_annonces(siren: str, *, call: CallContext) -> AnnoncesBodacc:
    """Every notice registered under the SIREN (both spellings), following `offset` to the last page."""
    if not (len(siren) == 9 and siren.isascii() and siren.isdigit()):
        raise errors.BadRequest("SIREN invalide pour la recherche BODACC.", code="siren_invalide")
    params = {
        "where": f'registre="{siren}" OR registre="{siren_spaced(siren)}"',
        "order_by": "dateparution desc",
    }
    records: list = []
    seen: set[str] = set()
    total_count = 0
    offset = 0
    while True:
        limit = min(PAGE_SIZE, WINDOW - 1 - offset)
        if limit <= 0:
            # Never the SIREN in the logs: a sole trader's SIREN is personal data.
            logger.warning("BODACC : %s annonces, seules les %s plus récentes sont lues.", total_count, offset)
            break
        body = client.bodacc_get(RECORDS_PATH, params=params | {"limit": str(limit), "offset": str(offset)}, call=call)
        total_count = body.get("total_count")
        if isinstance(total_count, bool) or not isinstance(total_count, int):
            raise errors.ProviderError("Réponse BODACC sans total_count.", http_status=200, code="malformed")
        page = body["results"]
        for record in page:
            # A notice published between two pages shifts the window: never keep a record twice.
            record_id = record.get("id") if isinstance(record, dict) else None
            if isinstance(record_id, str):
                if record_id in seen:
                    continue
                seen.add(record_id)
            records.append(record)
        offset += len(page)
        if not page or offset >= total_count:
            break
    return parse_annonces({"total_count": total_count, "results": records})


def parse_annonces(payload: dict) -> AnnoncesBodacc:
    try:
        total_count = payload["total_count"]
        if isinstance(total_count, bool) or not isinstance(total_count, int):
            raise parsing.Unreadable(f"total_count entier attendu, reçu {total_count!r}")
        annonces = [_annonce(record) for record in parsing.list_of(payload["results"], name="results")]
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("BODACC", None, exc) from exc
    annonces.sort(key=lambda annonce: annonce.dateparution, reverse=True)
    return AnnoncesBodacc(payload=payload, total_count=total_count, annonces=tuple(annonces))


def _annonce(record: dict) -> Annonce:
    if not isinstance(record, dict):
        raise parsing.Unreadable(f"annonce attendue sous forme d'objet, reçu {type(record).__name__}")
    annonce_id = _text(record["id"])
    if not annonce_id:
        raise parsing.Unreadable("annonce sans id")
    dateparution = _parse_date(_text(record["dateparution"]))
    if dateparution is None:
        raise parsing.Unreadable(f"dateparution illisible : {record['dateparution']!r}")
    return Annonce(
        id=annonce_id,
        publication=_text(record.get("publicationavis")) or annonce_id[:1],
        dateparution=dateparution,
        typeavis=_text(record.get("typeavis")),
        familleavis=_text(record.get("familleavis")),
        tribunal=repair_mojibake(_text(record.get("tribunal"))),
        url=_text(record.get("url_complete")) or NOTICE_URL.format(id=annonce_id),
        jugement=_jugement(record.get("jugement"), annonce_id),
        parution_precedente=_json_object(record.get("parutionavisprecedent"), "parutionavisprecedent", annonce_id),
        numero_parution=_text(record.get("parution")),
        numero_annonce=_text(record.get("numeroannonce")),
    )


def _jugement(value: object, annonce_id: str) -> Jugement | None:
    """The judgement of a collective procedure; None when absent or unreadable (the notice is kept)."""
    data = _json_object(value, "jugement", annonce_id)
    if data is None:
        return None
    try:
        return Jugement(
            famille=repair_mojibake(_text(data.get("famille"))),
            nature=repair_mojibake(_text(data.get("nature"))),
            date=_parse_date(_text(data.get("date"))),
            complement=repair_mojibake(_text(data.get("complementJugement"))),
        )
    except parsing.Unreadable:
        logger.warning("BODACC %s : jugement illisible, ignoré.", annonce_id)
        return None


def _json_object(value: object, field: str, annonce_id: str) -> dict | None:
    """Parse one of the JSON-string fields; None (with a warning) when it is not a JSON object."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    logger.warning("BODACC %s : champ %s illisible, ignoré.", annonce_id, field)
    return None


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 read as Latin-1/CP1252 ("clÃ´ture" → "clôture"); leave any other text as it is."""
    for _ in range(2):  # some records went through the mistake twice
        if not any(marker in text for marker in _MOJIBAKE_MARKERS):
            break
        for codec in ("cp1252", "latin-1"):
            try:
                text = text.encode(codec).decode("utf-8")
                break
            except UnicodeError:
                continue
        else:
            break
    return text


def _parse_date(text: str) -> date | None:
    """ "2026-01-20", "20/01/2026" or "20 janvier 2026" (also "1er février 2026"); None when unreadable."""
    text = repair_mojibake(text.strip())
    if not text:
        return None
    try:
        if match := _ISO_DATE.match(text):
            year, month, day = (int(group) for group in match.groups())
        elif match := _SLASH_DATE.match(text):
            day, month, year = (int(group) for group in match.groups())
        else:
            match = _FRENCH_DATE.match(re.sub(r"\s+", " ", fold_accents(text.lower())))
            if match is None or match.group(2) not in _MONTHS:
                return None
            day, month, year = int(match.group(1)), _MONTHS[match.group(2)], int(match.group(3))
        return date(year, month, day)
    except ValueError:
        return None


def fold_accents(text: str) -> str:
    """The text without its accents ("clôture" → "cloture"), case kept: BODACC spells the same words with and
    without them."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _text(value: object) -> str:
    """A plain field: text, or a number BODACC sometimes writes as such (numeroannonce); null as empty."""
    return parsing.text(value, numbers=True)
