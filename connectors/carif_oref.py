"""Carif-Oref through API Entreprise: Qualiopi certification and France Compétences habilitations.

A training provider's établissement has a déclaration d'activité (NDA, rarely several), each carrying its
Qualiopi certification by category of action; the habilitations allow it to train for, or assess, a
certification registered with France Compétences (RNCP / RS). No document: the data is the proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from . import client, parsing
from .types import CallContext, SourceResult

# certification_qualiopi keys → what they certify, in the order a buyer reads them.
QUALIOPI_CATEGORIES = {
    "action_formation": "Actions de formation",
    "bilan_competences": "Bilans de compétences",
    "validation_acquis_experience": "Validation des acquis de l'expérience",
    "apprentissage": "Actions de formation par apprentissage",
}


@dataclass(frozen=True)
class DeclarationActivite:
    numero: str  # NDA
    actif: bool
    date_derniere_declaration: date | None
    qualiopi: tuple[str, ...]  # keys of QUALIOPI_CATEGORIES certified
    qualiopi_via_unite_legale: bool | None
    specialites: tuple[str, ...]  # libellés


@dataclass(frozen=True)
class HabilitationFranceCompetences:
    code: str  # e.g. "RNCP10013"
    actif: bool
    date_actif: date | None
    date_fin_enregistrement: date | None
    pour_former: bool
    pour_organiser_evaluation: bool


@dataclass(frozen=True, kw_only=True)
class CertificationsQualiopi(SourceResult):
    siret: str
    code_uai: str
    unite_legale_avec_plusieurs_nda: bool
    declarations: tuple[DeclarationActivite, ...]
    habilitations: tuple[HabilitationFranceCompetences, ...]


def fetch_certifications(siret: str, *, call: CallContext) -> CertificationsQualiopi:
    response = client.api_entreprise_get(
        f"/v3/carif_oref/etablissements/{siret}/certifications_qualiopi_france_competences", call=call
    )
    return parse_certifications(response.body)


def parse_certifications(payload: dict) -> CertificationsQualiopi:
    try:
        data = payload["data"]
        return CertificationsQualiopi(
            payload=payload,
            siret=parsing.required_text(data["siret"]),
            code_uai=parsing.text(data["code_uai"]),
            unite_legale_avec_plusieurs_nda=parsing.boolean(
                data["unite_legale_avec_plusieurs_nda"], name="unite_legale_avec_plusieurs_nda"
            ),
            declarations=tuple(map(_declaration, parsing.list_of(data["declarations_activites_etablissement"]))),
            habilitations=tuple(map(_habilitation, parsing.list_of(data["habilitations_france_competence"]))),
        )
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("Carif-Oref", "certifications Qualiopi", exc) from exc


def _declaration(item: dict) -> DeclarationActivite:
    qualiopi = item.get("certification_qualiopi") or {}
    via_unite_legale = qualiopi.get("obtention_via_unite_legale")
    specialites = item.get("specialites") or {}
    return DeclarationActivite(
        numero=parsing.required_text(item["numero_de_declaration"]),
        actif=parsing.boolean(item.get("actif", True), name="actif"),
        date_derniere_declaration=parsing.iso_date(item.get("date_derniere_declaration")),
        qualiopi=tuple(key for key in QUALIOPI_CATEGORIES if parsing.boolean(qualiopi.get(key, False), name=key)),
        qualiopi_via_unite_legale=parsing.optional_boolean(via_unite_legale, name="obtention_via_unite_legale"),
        specialites=tuple(
            libelle
            for specialite in specialites.values()
            if (libelle := parsing.text((specialite or {}).get("libelle")))
        ),
    )


def _habilitation(item: dict) -> HabilitationFranceCompetences:
    return HabilitationFranceCompetences(
        code=parsing.required_text(item["code"]),
        actif=parsing.boolean(item["actif"], name="actif"),
        date_actif=parsing.iso_date(item.get("date_actif")),
        date_fin_enregistrement=parsing.iso_date(item.get("date_fin_enregistrement")),
        pour_former=parsing.boolean(item.get("habilitation_pour_former", False)),
        pour_organiser_evaluation=parsing.boolean(item.get("habilitation_pour_organiser_l_evaluation", False)),
    )
