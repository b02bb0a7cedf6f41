"""INSEE (Sirene) through API Entreprise: the établissement (SIRET) and its unité légale (SIREN).

INSEE dates are Unix timestamps of a midnight in Paris; they are turned into `date` in that time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from . import client, parsing
from .types import CallContext, SourceResult

PARIS = ZoneInfo("Europe/Paris")
DIFFUSIBLE = "diffusible"

# INSEE writes the repetition index as one letter; the postal line spells it out.
_INDICES_REPETITION = {"B": "BIS", "T": "TER", "Q": "QUATER", "C": "QUINQUIES"}


@dataclass(frozen=True)
class Nomenclature:
    code: str
    libelle: str


@dataclass(frozen=True, kw_only=True)
class InseeEtablissement(SourceResult):
    siret: str
    siren: str
    siege_social: bool
    etat_administratif: str  # "A" (actif) or "F" (fermé)
    date_fermeture: date | None  # only when etat_administratif == "F"
    status_diffusion: str
    diffusible: bool
    enseigne: str
    raison_sociale: str
    sigle: str
    categorie_entreprise: str
    forme_juridique: Nomenclature
    activite_principale: Nomenclature
    adresse: str
    ess: bool | None


@dataclass(frozen=True, kw_only=True)
class InseeUniteLegale(SourceResult):
    siren: str
    etat_administratif: str  # "A" (active) or "C" (cessée)
    date_cessation: date | None  # only when etat_administratif == "C"
    raison_sociale: str
    categorie_entreprise: str
    tranche_effectif: str
    forme_juridique: Nomenclature
    status_diffusion: str
    diffusible: bool
    ess: bool | None


def fetch_etablissement(siret: str, *, call: CallContext) -> InseeEtablissement:
    response = client.api_entreprise_get(f"/v4/insee/sirene/etablissements/{siret}", call=call)
    return parse_etablissement(response.body)


def fetch_unite_legale(siren: str, *, call: CallContext) -> InseeUniteLegale:
    response = client.api_entreprise_get(f"/v4/insee/sirene/unites_legales/{siren}", call=call)
    return parse_unite_legale(response.body)


def parse_etablissement(payload: dict) -> InseeEtablissement:
    try:
        data = payload["data"]
        unite_legale = data["unite_legale"]
        etat = parsing.required_text(data["etat_administratif"], numbers=True)
        status_diffusion = _text(data["status_diffusion"])
        return InseeEtablissement(
            payload=payload,
            siret=parsing.required_text(data["siret"], numbers=True),
            siren=parsing.required_text(unite_legale["siren"], numbers=True),
            siege_social=parsing.boolean(data["siege_social"], name="siege_social"),
            etat_administratif=etat,
            date_fermeture=_timestamp_date(data["date_fermeture"]) if etat == "F" else None,
            status_diffusion=status_diffusion,
            # The identity of a non-diffusible unité légale stays protected whatever its établissement says.
            diffusible=status_diffusion == DIFFUSIBLE
            and _text(unite_legale.get("status_diffusion", DIFFUSIBLE)) == DIFFUSIBLE,
            enseigne=_text(data.get("enseigne")),
            raison_sociale=_raison_sociale(unite_legale),
            sigle=_text(unite_legale["personne_morale_attributs"].get("sigle")),
            categorie_entreprise=_text(unite_legale.get("categorie_entreprise")),
            forme_juridique=_nomenclature(unite_legale["forme_juridique"]),
            activite_principale=_nomenclature(data["activite_principale"]),
            adresse=_adresse(data["adresse"]),
            ess=parsing.optional_boolean(
                unite_legale.get("economie_sociale_et_solidaire"), name="economie_sociale_et_solidaire"
            ),
        )
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("INSEE", "établissement", exc) from exc


def parse_unite_legale(payload: dict) -> InseeUniteLegale:
    try:
        data = payload["data"]
        etat = parsing.required_text(data["etat_administratif"], numbers=True)
        status_diffusion = _text(data["status_diffusion"])
        tranche = data.get("tranche_effectif_salarie") or {}
        return InseeUniteLegale(
            payload=payload,
            siren=parsing.required_text(data["siren"], numbers=True),
            etat_administratif=etat,
            date_cessation=_timestamp_date(data.get("date_cessation")) if etat == "C" else None,
            raison_sociale=_raison_sociale(data),
            categorie_entreprise=_text(data.get("categorie_entreprise")),
            tranche_effectif=_text(tranche.get("intitule")),
            forme_juridique=_nomenclature(data["forme_juridique"]),
            status_diffusion=status_diffusion,
            diffusible=status_diffusion == DIFFUSIBLE,
            ess=parsing.optional_boolean(
                data.get("economie_sociale_et_solidaire"), name="economie_sociale_et_solidaire"
            ),
        )
    except parsing.PARSE_ERRORS as exc:
        raise parsing.malformed("INSEE", "unité légale", exc) from exc


def _raison_sociale(unite_legale: dict) -> str:
    """Personne morale: its raison sociale; personne physique (entrepreneur individuel): "Prénom NOM"."""
    morale = unite_legale.get("personne_morale_attributs") or {}
    raison_sociale = _text(morale.get("raison_sociale"))
    if raison_sociale and unite_legale.get("type") != "personne_physique":
        return raison_sociale
    physique = unite_legale.get("personne_physique_attributs") or {}
    prenom = _text(physique.get("prenom_usuel")) or _text(physique.get("prenom_1"))
    nom = _text(physique.get("nom_usage")) or _text(physique.get("nom_naissance"))
    name = " ".join(part for part in (prenom.title(), nom.upper()) if part)
    return name or raison_sociale


def _adresse(adresse: dict) -> str:
    """One French postal line: "22 RUE DE LA PAIX, ZAE SAINT GUENAULT, 75016 PARIS 12[, PAYS]"."""
    indice = _text(adresse.get("indice_repetition_voie"))
    voie = _join(
        " ",
        _text(adresse.get("numero_voie")),
        _INDICES_REPETITION.get(indice.upper(), indice),
        _text(adresse.get("type_voie")),
        _text(adresse.get("libelle_voie")),
    )
    commune = _join(
        " ",
        _text(adresse.get("code_postal")),
        _text(adresse.get("libelle_commune")) or _text(adresse.get("libelle_commune_etranger")),
    )
    return _join(
        ", ",
        voie,
        _text(adresse.get("complement_adresse")),
        commune,
        _text(adresse.get("libelle_pays_etranger")),
    )


def _join(separator: str, *parts: str) -> str:
    return separator.join(part for part in parts if part)


def _nomenclature(value: dict) -> Nomenclature:
    return Nomenclature(code=_text(value.get("code")), libelle=_text(value.get("libelle")))


def _text(value: object) -> str:
    """A text field, null read as empty; numbers tolerated (e.g. a numéro de voie), anything else refused."""
    return parsing.text(value, numbers=True)


def _timestamp_date(value: object) -> date | None:
    """INSEE dates are Unix timestamps (seconds), possibly negative before 1970."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise parsing.Unreadable(f"horodatage attendu, reçu {value!r}")
    try:
        return datetime.fromtimestamp(value, tz=PARIS).date()
    except (OverflowError, OSError) as exc:
        raise parsing.Unreadable(f"horodatage hors limites : {value!r}") from exc
