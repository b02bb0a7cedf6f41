"""Exclusion grounds (motifs d'exclusion) decided from typed source results. Pure: no ORM, no HTTP.

BODACC grounds are decided on the company's latest relevant judgement, not on a keyword: cancelled
notices are dropped, a rectificatif replaces the notice it corrects, neutral judgements (claims deposits,
designation of the procedure's bodies, appeals) never change the state, and a clôture ends it.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from connectors.bodacc import Annonce, AnnoncesBodacc
from connectors.insee import InseeEtablissement, InseeUniteLegale
from connectors.types import SourceResult
from connectors.urssaf import AttestationVigilance


@dataclass(frozen=True)
class Flag:
    code: str
    severity: str  # "exclusion" | "warning"
    ground: str
    source: str
    evidence: dict = field(default_factory=dict)


class ProcedureEvent(enum.StrEnum):
    LIQUIDATION = "liquidation"
    REDRESSEMENT = "redressement"
    SAUVEGARDE = "sauvegarde"
    PLAN = "plan"
    CLOTURE = "cloture"
    NEUTRAL = "neutre"


def normalise(text: str) -> str:
    """Lower-case, accents and apostrophe variants removed, spaces collapsed: BODACC writes the same nature
    several ways (and real data carries mojibake, repaired upstream by the connector)."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.replace("’", "'").lower()
    return re.sub(r"\s+", " ", text).strip()


_OPENING_WORDS = ("ouverture", "extension", "conversion", "resolution", "mettant fin", "prononcant")


def classify_judgement(nature: str, complement: str = "") -> ProcedureEvent:
    """Map a `jugement.nature` (and, for "Autre jugement…", its complement) to a procedure event."""
    text = normalise(nature)
    if text.startswith("autre jugement") or not text:
        text = normalise(complement)
    if any(word in text for word in ("etat des creances", "liste des creances", "depot de l'etat")):
        return ProcedureEvent.NEUTRAL
    if "cloture" in text:
        return ProcedureEvent.CLOTURE
    opens = any(word in text for word in _OPENING_WORDS)
    if "liquidation judiciaire" in text and opens:
        return ProcedureEvent.LIQUIDATION
    if "redressement judiciaire" in text and opens:
        return ProcedureEvent.REDRESSEMENT
    if "plan de redressement" in text or "plan de continuation" in text or "arretant le plan" in text:
        return ProcedureEvent.PLAN
    if "sauvegarde" in text and "ouverture" in text:
        return ProcedureEvent.SAUVEGARDE
    return ProcedureEvent.NEUTRAL


def _notice_key(numero_parution: str, numero_annonce: str) -> tuple[str, str]:
    return (str(numero_parution or "").strip(), str(numero_annonce or "").strip().lstrip("0"))


def effective_notices(annonces: Iterable[Annonce]) -> list[Annonce]:
    """Drop cancelled notices (and the cancellations), let each rectificatif replace what it corrects."""
    annonces = list(annonces)
    replaced: set[tuple[str, str]] = set()
    for annonce in annonces:
        previous = annonce.parution_precedente or {}
        if annonce.typeavis in ("annulation", "rectificatif") and previous:
            replaced.add(_notice_key(previous.get("numeroParution", ""), previous.get("numeroAnnonce", "")))
    return [
        annonce
        for annonce in annonces
        if annonce.typeavis != "annulation"
        and _notice_key(annonce.numero_parution, annonce.numero_annonce) not in replaced
    ]


def _judgement_date(annonce: Annonce) -> date:
    return (annonce.jugement.date if annonce.jugement and annonce.jugement.date else None) or annonce.dateparution


def _evidence(annonce: Annonce) -> dict:
    jugement = annonce.jugement
    return {
        "annonce_id": annonce.id,
        "url": annonce.url,
        "date_parution": annonce.dateparution.isoformat() if annonce.dateparution else None,
        "date_jugement": jugement.date.isoformat() if jugement and jugement.date else None,
        "tribunal": annonce.tribunal,
        "nature": jugement.nature if jugement else "",
        "complement": jugement.complement if jugement else "",
    }


def bodacc_flags(result: AnnoncesBodacc, *, source: str = "bodacc") -> list[Flag]:
    collective = [
        annonce
        for annonce in effective_notices(result.annonces)
        if annonce.familleavis == "collective" and annonce.jugement is not None
    ]
    collective.sort(key=lambda annonce: (_judgement_date(annonce), annonce.dateparution))
    latest: Annonce | None = None
    latest_event = ProcedureEvent.NEUTRAL
    sanction: Annonce | None = None
    for annonce in collective:
        event = classify_judgement(annonce.jugement.nature, annonce.jugement.complement)
        if event is not ProcedureEvent.NEUTRAL:
            latest, latest_event = annonce, event
        text = normalise(f"{annonce.jugement.nature} {annonce.jugement.complement}")
        if "faillite personnelle" in text or "interdiction de gerer" in text:
            sanction = annonce
    flags: list[Flag] = []
    if sanction is not None:
        evidence = _evidence(sanction) | {
            "avertissement": "Détection au mieux : le jugement mentionne une sanction personnelle ; "
            "vérifiez qu'elle vise les dirigeants de l'entreprise."
        }
        flags.append(Flag("faillite_interdiction", "exclusion", "L2141-3 2°", source, evidence))
    if latest is not None and latest_event is ProcedureEvent.LIQUIDATION:
        flags.append(Flag("liquidation_judiciaire", "exclusion", "L2141-3 1°", source, _evidence(latest)))
    if latest is not None and latest_event is ProcedureEvent.REDRESSEMENT:
        flags.append(Flag("redressement_judiciaire", "exclusion", "L2141-3 3°", source, _evidence(latest)))
    return flags


def evaluate(results: Mapping[str, SourceResult]) -> list[Flag]:
    """All flags raised by the results available so far (source key → typed result)."""
    flags: list[Flag] = []
    for source, result in results.items():
        if isinstance(result, AttestationVigilance) and result.withheld:
            flags.append(
                Flag(
                    "urssaf_refus",
                    "exclusion",
                    "L2141-2",
                    source,
                    {"code": result.entity_status_code, "libelle": result.entity_status_libelle},
                )
            )
        elif isinstance(result, InseeEtablissement) and result.etat_administratif == "F":
            evidence = {"etat_administratif": "F", "siret": result.siret}
            if result.date_fermeture:
                evidence["date_fermeture"] = result.date_fermeture.isoformat()
            flags.append(Flag("etablissement_ferme", "warning", "", source, evidence))
        elif isinstance(result, InseeUniteLegale) and result.etat_administratif == "C":
            evidence = {"etat_administratif": "C", "siren": result.siren}
            if result.date_cessation:
                evidence["date_cessation"] = result.date_cessation.isoformat()
            flags.append(Flag("etablissement_ferme", "warning", "", source, evidence))
        elif isinstance(result, AnnoncesBodacc):
            flags.extend(bodacc_flags(result, source=source))
    return flags
