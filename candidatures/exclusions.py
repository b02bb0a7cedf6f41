"""Exclusion grounds (motifs d'exclusion) decided from typed source results. Pure: no ORM, no HTTP.

BODACC grounds are decided on the company's latest relevant judgement, not on a keyword: only collective
procedures (Bodacc A) count; cancelled notices are dropped, a rectificatif replaces the notice it corrects;
every judgement's nature is classified from the exact BODACC natures (NATURES below; "Autre jugement…"
natures by their complement); neutral judgements (claims deposits, designation of the procedure's bodies,
appeals) never change the state; a plan de redressement ends a redressement, a clôture ends a procedure.
The rules, with the articles of the code de la commande publique, are explained in docs/EXCLUSION.md.

Every function deciding on dates takes `today` from its caller: the engine never reads the clock. Evidence
values are written for the reader (French), the raw answer being kept with the source's fetch.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from connectors import registry
from connectors.ademe import CertificationsRge
from connectors.bodacc import Annonce, AnnoncesBodacc, fold_accents
from connectors.btp_conges import AttestationCongesPayes
from connectors.insee import InseeEtablissement, InseeUniteLegale
from connectors.msa import OUTDATED, UNDER_INVESTIGATION, ConformiteMsa
from connectors.opqibi import CertificationOpqibi
from connectors.probtp import ConformiteProbtp
from connectors.qualibat import CertificationQualibat
from connectors.qualifelec import CertificatsQualifelec
from connectors.types import SourceResult
from connectors.urssaf import AttestationVigilance

EXCLUSION = "exclusion"
WARNING = "warning"


@dataclass(frozen=True)
class Flag:
    code: str
    severity: str  # "exclusion" | "warning"
    ground: str  # the article of the code de la commande publique ("" when the warning has none)
    source: str
    evidence: dict = field(default_factory=dict)


# BODACC: the judgements ---------------------------------------------------------------------------------
class ProcedureEvent(enum.StrEnum):
    """What a judgement does to the company's state of collective procedure."""

    LIQUIDATION = "liquidation"  # opens, extends, converts into or resumes a liquidation judiciaire
    REDRESSEMENT = "redressement"  # opens, extends or converts into a redressement judiciaire
    SAUVEGARDE = "sauvegarde"  # opens a sauvegarde (also accélérée, financière accélérée)
    AUTRE_PROCEDURE = "autre_procedure"  # opens a sortie de crise or a rétablissement professionnel
    PLAN = "plan"  # adopts (or modifies) a plan de redressement / continuation / sauvegarde
    CLOTURE = "cloture"  # ends the procedure: clôture, "mettant fin", resolution of a plan without new procedure
    NEUTRAL = "neutre"  # no change of state: claims, bodies of the procedure, appeals, plan de cession, sanctions


def normalise(text: str) -> str:
    """Lower-case, accents and apostrophe variants removed, spaces collapsed, final full stop dropped: BODACC
    writes the same nature several ways. Mojibake is the connector's business (`connectors.bodacc` repairs it
    when it parses a notice)."""
    text = re.sub(r"[’‘`´]", "'", fold_accents(text or "")).lower()
    return re.sub(r"\s+", " ", text).strip().rstrip(".").strip()


_SAUVEGARDES = ("sauvegarde", "sauvegarde acceleree", "sauvegarde financiere acceleree")
_PLANS_ENDED_BY_RESOLUTION = (*_SAUVEGARDES, "redressement", "continuation", "traitement de sortie de crise")


def _natures() -> dict[str, ProcedureEvent]:
    """The exact BODACC natures (normalised) and their event: DESIGN §5, and the open-data rules of the
    annuaire-entreprises project it summarises."""
    L, R, S, A = (
        ProcedureEvent.LIQUIDATION,
        ProcedureEvent.REDRESSEMENT,
        ProcedureEvent.SAUVEGARDE,
        ProcedureEvent.AUTRE_PROCEDURE,
    )
    P, C, N = ProcedureEvent.PLAN, ProcedureEvent.CLOTURE, ProcedureEvent.NEUTRAL
    table = {
        # liquidation judiciaire
        "jugement d'ouverture de liquidation judiciaire": L,
        "jugement d'ouverture d'une procedure de liquidation judiciaire": L,
        "jugement d'extension de liquidation judiciaire": L,
        "jugement d'extension d'une procedure de liquidation judiciaire": L,
        "jugement de conversion en liquidation judiciaire": L,
        "jugement de conversion en liquidation judiciaire de la procedure de redressement judiciaire": L,
        "jugement prononcant la liquidation judiciaire": L,
        "jugement de reprise de la procedure de liquidation judiciaire": L,
        "jugement mettant fin a la procedure de traitement de sortie de crise et ouvrant une procedure de "
        "liquidation judiciaire": L,
        # redressement judiciaire
        "jugement d'ouverture d'une procedure de redressement judiciaire": R,
        "jugement d'ouverture de redressement judiciaire": R,
        "jugement d'extension d'une procedure de redressement judiciaire": R,
        "jugement prononcant le redressement judiciaire": R,
        "jugement mettant fin a la procedure de traitement de sortie de crise et ouvrant une procedure de "
        "redressement judiciaire": R,
        # other procedures, not exclusion grounds
        "jugement d'extension d'une procedure de sauvegarde": S,
        "jugement d'ouverture d'une procedure de traitement de sortie de crise": A,
        "jugement d'ouverture d'une procedure de retablissement professionnel": A,
        # plans (continuation of the activity); "jugement de plan de redressement" is read with its complement
        # (a plan de cession is not a continuation): see _classify
        "jugement arretant le plan de redressement": P,
        "jugement arretant le plan de continuation": P,
        "jugement modifiant le plan de redressement": P,
        "jugement modifiant le plan de continuation": P,
        "jugement modifiant le plan de sauvegarde": P,
        "jugement de plan de traitement de sortie de crise": P,
        "jugement arretant le plan de traitement de sortie de crise": P,
        # end of the procedure
        "jugement de cloture pour insuffisance d'actif": C,
        "jugement de cloture pour insuffisance d'actif et autorisant la reprise des poursuites individuelles": C,
        "jugement de cloture pour extinction du passif": C,
        "jugement de cloture de la procedure de sauvegarde": C,
        "jugement prononcant la cloture de la procedure de retablissement professionnel": C,
        "jugement mettant fin a la procedure de redressement judiciaire": C,
        "jugement mettant fin a la procedure de traitement de sortie de crise": C,
        # neutral: no change of state
        "depot de l'etat des creances": N,
        "depot de l'etat des creances loi de 1985": N,
        "depot de l'etat des creances et du projet de repartition": N,
        "depot de l'etat de collocation": N,
        "depot du projet de repartition": N,
        "autre avis de depot": N,
        "autres avis de depot": N,
        "liste des creances nees apres le jugement d'ouverture d'une procedure de liquidation judiciaire": N,
        "liste des creances nees apres le jugement d'ouverture d'une procedure de redressement judiciaire": N,
        "liste des creances nees apres le jugement d'ouverture d'une procedure de sauvegarde": N,
        "jugement de designation des organes de la procedure": N,
        "jugement modifiant la date de cessation des paiements": N,
        "jugement accordant un delai pour deposer la liste des creances": N,
        "jugement arretant un plan de cession": N,
        "jugement arretant le plan de cession": N,
        "jugement modifiant le plan de cession": N,
        "jugement prononcant la resolution du plan de cession": N,
        "arret de la cour d'appel infirmant une decision soumise a publicite": N,
        "autre arret de la cour d'appel": N,
        "jugement de faillite personnelle": N,
        "jugement de faillite personnelle loi de 1985": N,
        "jugement d'interdiction de gerer": N,
        "jugement d'interdiction de gerer loi de 1985": N,
    }
    for procedure in _SAUVEGARDES:
        table[f"jugement d'ouverture d'une procedure de {procedure}"] = S
        table[f"jugement de conversion en liquidation judiciaire de la procedure de {procedure}"] = L
        table[f"jugement de conversion en redressement judiciaire de la procedure de {procedure}"] = R
        table[f"jugement arretant le plan de {procedure}"] = P
        table[f"jugement mettant fin a la procedure de {procedure}"] = C
        table[f"jugement prononcant la resolution du plan de {procedure} et le redressement judiciaire"] = R
    table[
        "jugement prononcant la resolution du plan de traitement de sortie de crise et le redressement judiciaire"
    ] = R
    for plan in (*_PLANS_ENDED_BY_RESOLUTION, "cession"):
        table[f"jugement prononcant la resolution du plan de {plan} et la liquidation judiciaire"] = L
    for plan in _PLANS_ENDED_BY_RESOLUTION:
        table[f"jugement prononcant la resolution du plan de {plan}"] = C
    return table


NATURES: dict[str, ProcedureEvent] = _natures()

_SANCTION_NATURES = (
    "jugement de faillite personnelle",
    "jugement d'interdiction de gerer",
    "jugement prononcant la faillite personnelle",
    "jugement prononcant l'interdiction de gerer",
    "jugement prononcant une interdiction de gerer",
)
_OPENING_WORDS = (
    "ouverture",
    "ouvrant",
    "extension",
    "conversion",
    "convertissant",
    "prononcant la liquidation",
    "prononce la liquidation",
    "prononcant le redressement",
    "prononce le redressement",
)
_CLAIMS_WORDS = ("creances", "projet de repartition", "etat de collocation", "avis de depot")
_CONTINUATION_PLANS = (
    "plan de redressement",
    "plan de continuation",
    "plan de sauvegarde",
    "plan de traitement de sortie de crise",
)


def _first_sentence(text: str) -> str:
    """The decision a complement starts with ("Jugement prononçant …, désignant liquidateur …. Les créances…")."""
    return re.split(r";|\.\s", text, maxsplit=1)[0]


def _classify_text(text: str) -> ProcedureEvent:
    """Keywords, for the natures not in the table and the complements of "Autre jugement…" natures."""
    head = text.split(",", 1)[0]
    if not text or any(word in head for word in _CLAIMS_WORDS) or "cour d'appel" in head or head.startswith("arret"):
        return ProcedureEvent.NEUTRAL
    if "reprise de la procedure de liquidation" in text:
        return ProcedureEvent.LIQUIDATION
    if "resolution du plan" in text:
        if "liquidation judiciaire" in text:
            return ProcedureEvent.LIQUIDATION
        if "redressement judiciaire" in text:
            return ProcedureEvent.REDRESSEMENT
        return ProcedureEvent.NEUTRAL if "plan de cession" in text else ProcedureEvent.CLOTURE
    opens = any(word in text for word in _OPENING_WORDS)
    ends = "mettant fin a la procedure" in text or "met fin a la procedure" in text
    if "cloture" in head or (ends and "ouvrant" not in text):
        return ProcedureEvent.CLOTURE
    if "liquidation judiciaire" in text and opens:
        return ProcedureEvent.LIQUIDATION
    if "redressement judiciaire" in text and opens:
        return ProcedureEvent.REDRESSEMENT
    if any(plan in text for plan in _CONTINUATION_PLANS):
        return ProcedureEvent.PLAN
    if "sauvegarde" in text and opens:
        return ProcedureEvent.SAUVEGARDE
    if ("sortie de crise" in text or "retablissement professionnel" in text) and opens:
        return ProcedureEvent.AUTRE_PROCEDURE
    return ProcedureEvent.NEUTRAL


def classify_judgement(nature: str, complement: str = "", famille: str = "") -> ProcedureEvent:
    """Map a `jugement.nature` (and, for "Autre jugement…", its `complementJugement`) to a procedure event.

    `famille` (the judgement's family) settles what the nature leaves open: an "Avis de dépôt" is never a
    change of state, a "Jugement de clôture" of an unknown nature still ends the procedure.
    """
    return _classify(normalise(nature), normalise(complement), normalise(famille))


def _classify(text: str, complement_text: str, famille_text: str) -> ProcedureEvent:
    """classify_judgement on texts already normalised."""
    if famille_text.startswith("avis de depot"):
        return ProcedureEvent.NEUTRAL
    if text == "jugement de plan de redressement":
        # A plan de redressement is a continuation, unless the court adopted a plan de cession.
        if "cession" in complement_text and "continuation" not in complement_text:
            return ProcedureEvent.NEUTRAL
        return ProcedureEvent.PLAN
    if text in NATURES:
        return NATURES[text]
    if not text or text.startswith("autre jugement"):
        event = _classify_text(_first_sentence(complement_text))
    else:
        event = _classify_text(text)
    if event is ProcedureEvent.NEUTRAL and (
        text.startswith("autre jugement de cloture") or famille_text.startswith("jugement de cloture")
    ):
        return ProcedureEvent.CLOTURE
    return event


_NUMBERS = {
    "un": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
}
_DURATION = re.compile(r"(?:duree (?:de |d')|pendant |pour )(\d{1,2}|" + "|".join(_NUMBERS) + r") ans\b")
SANCTION_MAX_YEARS = 15  # Code de commerce L653-11: a faillite personnelle or interdiction lasts at most 15 years


def sanction_named(nature: str, complement: str = "") -> bool:
    """True when the judgement itself pronounces a faillite personnelle or an interdiction de gérer."""
    return _names_sanction(normalise(nature), normalise(complement))


def _names_sanction(text: str, complement: str) -> bool:
    """sanction_named on texts already normalised."""
    if text.startswith(_SANCTION_NATURES):
        return True
    if text in NATURES and not text.startswith("autre"):
        return False
    complement_text = complement if (not text or text.startswith("autre")) else text
    names = "faillite personnelle" in complement_text or "interdiction de gerer" in complement_text
    pronounces = any(word in complement_text for word in ("prononcant", "prononce", "condamn"))
    refuses = any(word in complement_text for word in ("rejet", "deboute", "n'y a pas lieu", "infirm"))
    return names and pronounces and not refuses


def _sanction_end(judged: date, complement: str) -> date:
    """When the sanction ends: the duration the (normalised) complement states, at most SANCTION_MAX_YEARS."""
    match = _DURATION.search(complement)
    years = SANCTION_MAX_YEARS
    if match:
        raw = match.group(1)
        years = min(years, int(raw) if raw.isdigit() else _NUMBERS[raw])
    return _add_years(judged, years)


def _add_years(day: date, years: int) -> date:
    """The same day `years` later (earlier when negative); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# BODACC: the notices ------------------------------------------------------------------------------------
DECISION_FAMILIES = ("collective", "retablissement_professionnel")  # Bodacc A collective procedures


@dataclass(frozen=True)
class _Notice:
    """A notice and its judgement's texts, normalised once."""

    annonce: Annonce
    nature: str = ""
    complement: str = ""
    famille: str = ""

    @classmethod
    def of(cls, annonce: Annonce) -> _Notice:
        jugement = annonce.jugement
        if jugement is None:
            return cls(annonce)
        return cls(annonce, normalise(jugement.nature), normalise(jugement.complement), normalise(jugement.famille))

    @property
    def judged(self) -> date:
        """The judgement's date; the publication date when the judgement date is unreadable."""
        jugement = self.annonce.jugement
        return (jugement.date if jugement else None) or self.annonce.dateparution

    @property
    def cancels(self) -> bool:
        """An annulation, or a "Rétractation sur tierce opposition" (the court withdrew the judgement it names)."""
        return self.annonce.typeavis == "annulation" or self.famille.startswith("retractation")


def _number(value: object) -> str:
    text = str(value if value is not None else "").strip()
    return text.lstrip("0") or text


def _notice_key(publication: str, numero_parution: object, numero_annonce: object) -> tuple[str, str, str]:
    return (publication.strip().upper()[-1:], str(numero_parution or "").strip(), _number(numero_annonce))


def _previous_key(annonce: Annonce) -> tuple[str, str, str] | None:
    previous = annonce.parution_precedente or {}
    if not previous.get("numeroParution") or previous.get("numeroAnnonce") in (None, ""):
        return None
    publication = str(previous.get("nomPublication") or annonce.publication or "")
    return _notice_key(publication, previous["numeroParution"], previous["numeroAnnonce"])


def _effective(notices: Iterable[_Notice]) -> list[_Notice]:
    """Drop cancelled notices (and the cancellations), let each rectificatif replace what it corrects.

    A notice is identified by its bulletin (A, B, C), parution number and notice number, as
    `parutionavisprecedent` names it. A rectificatif whose original is not in the list stands alone.
    """
    notices = list(notices)
    replaced = {
        key
        for notice in notices
        if (notice.annonce.typeavis == "rectificatif" or notice.cancels)
        and (key := _previous_key(notice.annonce)) is not None
    }
    return [
        notice
        for notice in notices
        if not notice.cancels
        and _notice_key(notice.annonce.publication, notice.annonce.numero_parution, notice.annonce.numero_annonce)
        not in replaced
    ]


# Same judgement date: the later step of a procedure wins (a plan's resolution and the liquidation it opens).
_RANK = {
    ProcedureEvent.NEUTRAL: 0,
    ProcedureEvent.CLOTURE: 1,
    ProcedureEvent.PLAN: 2,
    ProcedureEvent.SAUVEGARDE: 3,
    ProcedureEvent.AUTRE_PROCEDURE: 3,
    ProcedureEvent.REDRESSEMENT: 4,
    ProcedureEvent.LIQUIDATION: 5,
}
_OTHER_PROCEDURES = ("redressement", "sauvegarde", "sortie de crise", "retablissement", "plan de")


def _ends_liquidation(notice: _Notice) -> bool:
    """A clôture ends a liquidation unless it names another procedure ("… de la procédure de sauvegarde");
    a clôture pour insuffisance d'actif or extinction du passif only ever ends a liquidation."""
    text = f"{notice.nature} {notice.complement}"
    return (
        notice.nature.startswith("jugement de cloture pour")
        or "liquidation" in text
        or not any(words in text for words in _OTHER_PROCEDURES)
    )


@dataclass(frozen=True)
class BodaccDecision:
    """The state the latest relevant judgement leaves, and the judgement naming a sanction, if any."""

    latest: Annonce | None
    event: ProcedureEvent | None
    sanction: Annonce | None
    latest_judged: date | None = None  # the latest judgement's date (its publication date when unreadable)


def bodacc_decision(result: AnnoncesBodacc, *, today: date) -> BodaccDecision:
    notices = [
        notice
        for notice in _effective(_Notice.of(annonce) for annonce in result.annonces)
        if notice.annonce.familleavis in DECISION_FAMILIES
        and notice.annonce.publication == "A"
        and notice.annonce.jugement is not None
    ]
    events = [(notice, _classify(notice.nature, notice.complement, notice.famille)) for notice in notices]
    events.sort(key=lambda item: (item[0].judged, _RANK[item[1]], item[0].annonce.dateparution, item[0].annonce.id))
    latest: _Notice | None = None
    state: ProcedureEvent | None = None
    sanction: _Notice | None = None
    for notice, event in events:
        if (
            _names_sanction(notice.nature, notice.complement)
            and _sanction_end(notice.judged, notice.complement) >= today
        ):
            sanction = notice
        if event is ProcedureEvent.NEUTRAL:
            continue
        if state is ProcedureEvent.LIQUIDATION and (
            event is ProcedureEvent.PLAN or (event is ProcedureEvent.CLOTURE and not _ends_liquidation(notice))
        ):
            continue  # a plan, or the end of another procedure, never ends a liquidation
        latest, state = notice, event
    return BodaccDecision(
        latest=latest.annonce if latest else None,
        event=state,
        sanction=sanction.annonce if sanction else None,
        latest_judged=latest.judged if latest else None,
    )


TYPEAVIS_LABELS = {"annonce": "avis initial", "rectificatif": "avis rectificatif", "annulation": "avis d'annulation"}


def _evidence(annonce: Annonce, result: AnnoncesBodacc) -> dict:
    jugement = annonce.jugement
    evidence = {
        "annonce_id": annonce.id,
        "url": annonce.url,
        "date_parution": annonce.dateparution.isoformat() if annonce.dateparution else None,
        "date_jugement": jugement.date.isoformat() if jugement and jugement.date else None,
        "tribunal": annonce.tribunal,
        "nature": jugement.nature if jugement else "",
        "complement": jugement.complement if jugement else "",
        "typeavis": TYPEAVIS_LABELS.get(annonce.typeavis, annonce.typeavis),
    }
    if result.truncated:
        evidence["avertissement"] = (
            f"Le BODACC publie {result.total_count} annonces pour cette entreprise ; seules les plus récentes "
            "ont pu être lues."
        )
    return evidence


SANCTION_WARNING = (
    "Détection au mieux : le jugement prononce une faillite personnelle ou une interdiction de gérer ; "
    "vérifiez qu'elle vise un dirigeant actuel de l'entreprise et qu'elle est toujours en vigueur."
)


STALE_YEARS = 10
STALE_WARNING = (
    "Aucun jugement publié depuis plus de dix ans : la procédure a pu être close sans que la clôture figure "
    "dans les données ouvertes du BODACC ; vérifiez auprès du greffe."
)


def bodacc_flags(result: AnnoncesBodacc, *, today: date, source: str = "bodacc") -> list[Flag]:
    decision = bodacc_decision(result, today=today)
    flags: list[Flag] = []
    codes = {
        ProcedureEvent.LIQUIDATION: ("liquidation_judiciaire", "L2141-3 1°"),
        ProcedureEvent.REDRESSEMENT: ("redressement_judiciaire", "L2141-3 3°"),
    }
    if decision.event in codes:
        code, ground = codes[decision.event]
        evidence = _evidence(decision.latest, result)
        if decision.latest_judged < _add_years(today, -STALE_YEARS):
            evidence["avertissement"] = _join(STALE_WARNING, evidence.get("avertissement"))
        flags.append(Flag(code, EXCLUSION, ground, source, evidence))
    if decision.sanction is not None:
        evidence = _evidence(decision.sanction, result)
        evidence["avertissement"] = _join(SANCTION_WARNING, evidence.get("avertissement"))
        flags.append(Flag("faillite_interdiction", EXCLUSION, "L2141-3 2°", source, evidence))
    return flags


def _join(*texts: str | None) -> str:
    return " ".join(text for text in texts if text)


# Certificates -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Validity:
    """One certificate (or qualification set) and the last day it is valid."""

    certificat: str
    date_fin_validite: date | None
    numero: str = ""


def certificate_validities(result: SourceResult, source: str) -> list[Validity]:
    """The dated certificates a result carries (empty for sources without validity dates): read from the fields
    of the connector result classes that carry certificates, else from the validity of the downloaded
    documents, named after their source (a document kind is never shown)."""
    if isinstance(result, CertificationQualibat):
        return [Validity("Certification Qualibat", result.date_fin_validite)]
    if isinstance(result, CertificationOpqibi):
        validities = []
        if result.qualifications or result.date_validite_qualifications:
            validities.append(
                Validity("Qualifications OPQIBI", result.date_validite_qualifications, result.numero_certificat)
            )
        if result.qualifications_probatoires:
            validities.append(
                Validity(
                    "Qualifications probatoires OPQIBI",
                    result.date_validite_qualifications_probatoires,
                    result.numero_certificat,
                )
            )
        return validities
    if isinstance(result, CertificatsQualifelec):
        return [
            Validity(f"Certificat Qualifelec {certificat.qualification}", certificat.date_fin, certificat.numero)
            for certificat in result.certificats
        ]
    if isinstance(result, CertificationsRge):
        # The current certificates only: those ADEME archived were replaced or withdrawn (history).
        return [
            Validity(
                _rge_label(certificat.nom_certificat, certificat.domaine, certificat.organisme),
                certificat.date_expiration,
            )
            for certificat in result.certificats
        ]
    if isinstance(result, AttestationVigilance):
        return []  # URSSAF delivers the current attestation on each call; its refusal is urssaf_refus
    return [
        Validity(registry.label(source), document.valid_until) for document in result.documents if document.valid_until
    ]


def _rge_label(nom: str, domaine: str, organisme: str) -> str:
    return " – ".join(part for part in (f"Certificat RGE {nom}".strip(), domaine, organisme) if part)


def _short_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _expired_text(validity: Validity) -> str:
    """« Certificat Qualifelec X, n° 2840, fin de validité le 31/01/2024 »."""
    numero = [f"n° {validity.numero}"] if validity.numero else []
    end = f"fin de validité le {_short_date(validity.date_fin_validite)}"
    return ", ".join([validity.certificat, *numero, end])


def _expired_flag(result: SourceResult, source: str, today: date) -> Flag | None:
    """One warning per source listing each expired certificate (flags are stored one per code and source):
    `certificat` says them all for the reader, `certificats` lists them."""
    expired = [
        validity
        for validity in certificate_validities(result, source)
        if validity.date_fin_validite is not None and validity.date_fin_validite < today
    ]
    if not expired:
        return None
    expired.sort(key=lambda validity: (validity.date_fin_validite, validity.certificat, validity.numero))
    evidence = {
        "certificat": " ; ".join(_expired_text(validity) for validity in expired),
        "certificats": [
            {
                "certificat": validity.certificat,
                "numero": validity.numero,
                "date_fin_validite": validity.date_fin_validite.isoformat(),
            }
            for validity in expired
        ],
    }
    return Flag("certificat_expire", WARNING, "L2142-1", source, evidence)


# All grounds --------------------------------------------------------------------------------------------
# The MSA's status → (flag code, the status as the reader reads it).
MSA_FLAGS = {
    OUTDATED: ("msa_non_a_jour", "non à jour"),
    UNDER_INVESTIGATION: ("msa_en_verification", "en cours de vérification"),
}


def _provider_flags(result: SourceResult, source: str) -> list[Flag]:
    """The grounds a provider states itself, its answer written for the reader (the raw answer is kept with
    the fetch)."""
    if isinstance(result, AttestationVigilance) and result.withheld:
        libelle = result.entity_status_libelle or "Délivrance de l'attestation refusée par l'Urssaf"
        return [Flag("urssaf_refus", EXCLUSION, "L2141-2", source, {"libelle": libelle})]
    if isinstance(result, ConformiteProbtp) and not result.eligible:
        return [Flag("probtp_non_conforme", WARNING, "L2141-2", source, {"statut": "non conforme"})]
    if isinstance(result, AttestationCongesPayes) and not result.a_jour:
        evidence = {"caisse": result.caisse, "statut": result.motif or "non à jour"}
        return [Flag("cibtp_non_a_jour", WARNING, "L2141-2", source, evidence)]
    if isinstance(result, ConformiteMsa) and result.status in MSA_FLAGS:
        code, statut = MSA_FLAGS[result.status]
        return [Flag(code, WARNING, "L2141-2", source, {"statut": statut})]
    if isinstance(result, InseeEtablissement) and result.etat_administratif == "F":
        evidence = {"etat_administratif": "établissement fermé", "siret": result.siret}
        if result.date_fermeture:
            evidence["date_fermeture"] = result.date_fermeture.isoformat()
        return [Flag("etablissement_ferme", WARNING, "", source, evidence)]
    if isinstance(result, InseeUniteLegale) and result.etat_administratif == "C":
        evidence = {"etat_administratif": "entreprise cessée", "siren": result.siren}
        if result.date_cessation:
            evidence["date_cessation"] = result.date_cessation.isoformat()
        return [Flag("etablissement_ferme", WARNING, "", source, evidence)]
    return []


def evaluate(results: Mapping[str, SourceResult], *, today: date) -> list[Flag]:
    """All flags raised by the results available so far (source key → typed result), as of `today`."""
    flags: list[Flag] = []
    for source, result in results.items():
        if isinstance(result, AnnoncesBodacc):
            flags.extend(bodacc_flags(result, source=source, today=today))
            continue
        flags.extend(_provider_flags(result, source))
        if (expired := _expired_flag(result, source, today)) is not None:
            flags.append(expired)
    return flags
