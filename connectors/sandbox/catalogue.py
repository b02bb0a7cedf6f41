"""Which payload answers which identifier: the route table, the staging cases and the personas.

A staging directory (`data/api-entreprise/<dir>/*.yaml`, copied from etalab/siade_staging_data) holds one
case per file: `params` (the identifier), `status` and `payload` (a JSON string). An identifier is answered
by its persona's alias if it belongs to a persona (`personas.yaml`), else by the case whose params match,
else by the directory's 404 payload.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from . import official_errors

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
STAGING_DIR = DATA_DIR / "api-entreprise"
BODACC_RECORDS_FILE = DATA_DIR / "bodacc" / "records.json"
PERSONAS_FILE = HERE / "personas.yaml"


@dataclass(frozen=True)
class Provider:
    name: str  # `meta.provider` of its errors
    code_prefix: str  # first two digits of its error codes
    realistic_latency_ms: int  # SANDBOX_LATENCY=realistic


INSEE = Provider("INSEE", "01", 150)
INPI_RNE = Provider("INPI - RNE", "34", 600)
URSSAF = Provider("ACOSS", "04", 900)
DGFIP = Provider("DGFIP - Adélie", "03", 700)
DGFIP_CHIFFRES_AFFAIRES = Provider("DGFIP - Adélie", "03", 500)
PROBTP = Provider("ProBTP", "09", 600)
CIBTP = Provider("CIBTP", "38", 800)
CNETP = Provider("CNETP", "08", 800)
FNTP = Provider("FNTP", "12", 600)
QUALIBAT = Provider("Qualibat", "06", 700)
QUALIFELEC = Provider("Qualifelec", "32", 600)
ADEME = Provider("ADEME", "19", 500)
OPQIBI = Provider("OPQIBI", "11", 500)
CARIF_OREF = Provider("CARIF-OREF", "33", 500)
MSA = Provider("MSA", "10", 600)


@dataclass(frozen=True)
class Route:
    key: str  # the source key (DESIGN.md §4), used by personas.yaml
    template: str  # path with one `{siret}` or `{siren}`
    directory: str  # staging directory under data/api-entreprise
    provider: Provider
    collection: bool = False  # merge every 200 case of the identifier into one collection answer
    # The keys holding expiring document links, rewritten to the sandbox (other links, e.g. ADEME's and
    # OPQIBI's `url` to the certifier's site, are permanent and left as they are).
    link_keys: tuple[str, ...] = ("document_url",)

    @cached_property
    def param(self) -> str:
        return re.search(r"{(\w+)}", self.template).group(1)

    @cached_property
    def pattern(self) -> re.Pattern:
        return re.compile("^" + re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", self.template) + "$")


# One line per endpoint.
ROUTES = (
    Route(
        "insee_etablissement",
        "/v4/insee/sirene/etablissements/{siret}",
        "api_entreprise_v4_insee_etablissements",
        INSEE,
    ),
    Route(
        "insee_etablissement_diffusible",
        "/v4/insee/sirene/etablissements/diffusibles/{siret}",
        "api_entreprise_v4_insee_etablissements_diffusables",
        INSEE,
    ),
    Route(
        "insee_unite_legale",
        "/v4/insee/sirene/unites_legales/{siren}",
        "api_entreprise_v4_insee_unites_legales",
        INSEE,
    ),
    Route(
        "insee_unite_legale_diffusible",
        "/v4/insee/sirene/unites_legales/diffusibles/{siren}",
        "api_entreprise_v4_insee_unites_legales_diffusables",
        INSEE,
    ),
    Route(
        "inpi_rne_extrait",
        "/v3/inpi/rne/unites_legales/{siren}/extrait_rne",
        "api_entreprise_v3_inpi_rne_extrait_rne",
        INPI_RNE,
    ),
    Route(
        "urssaf_attestation_vigilance",
        "/v4/urssaf/unites_legales/{siren}/attestation_vigilance",
        "api_entreprise_v4_acoss_attestations_sociales",
        URSSAF,
    ),
    Route(
        "dgfip_attestation_fiscale",
        "/v4/dgfip/unites_legales/{siren}/attestation_fiscale",
        "api_entreprise_v4_dgfip_attestations_fiscales",
        DGFIP,
    ),
    Route(
        "dgfip_chiffres_affaires",
        "/v3/dgfip/etablissements/{siret}/chiffres_affaires",
        "api_entreprise_v3_dgfip_chiffres_affaires",
        DGFIP_CHIFFRES_AFFAIRES,
        collection=True,
    ),
    Route(
        "probtp_attestation",
        "/v3/probtp/etablissements/{siret}/attestation_cotisations_retraite",
        "api_entreprise_v3_probtp_attestations_cotisation_retraite",
        PROBTP,
    ),
    Route(
        "probtp_conformite",
        "/v3/probtp/etablissements/{siret}/conformite_cotisations_retraite",
        "api_entreprise_v3_probtp_conformites_cotisations_retraite",
        PROBTP,
    ),
    Route(
        "cibtp_attestation",
        "/v3/cibtp/etablissements/{siret}/attestation_cotisations_conges_payes_chomage_intemperies",
        "api_entreprise_v3_cibtp_attestation_cotisations_conges_payes_chomage_intemperies",
        CIBTP,
    ),
    Route(
        "cnetp_attestation",
        "/v3/cnetp/unites_legales/{siren}/attestation_cotisations_conges_payes_chomage_intemperies",
        "api_entreprise_v3_cnetp_attestation_cotisations_conges_payes_chomage_intemperies",
        CNETP,
    ),
    Route(
        "fntp_carte_pro",
        "/v3/fntp/unites_legales/{siren}/carte_professionnelle_travaux_publics",
        "api_entreprise_v3_fntp_carte_professionnelle_travaux_publics",
        FNTP,
    ),
    Route(
        "qualibat",
        "/v4/qualibat/etablissements/{siret}/certification_batiment",
        "api_entreprise_v4_qualibat_certifications_batiment",
        QUALIBAT,
    ),
    Route(
        "inpi_actes_bilans",
        "/v3/inpi/rne/unites_legales/open_data/{siren}/actes_bilans",
        "api_entreprise_v3_inpi_rne_actes_bilans",
        INPI_RNE,
        link_keys=("document_url", "url"),  # each bilan's (expiring, proxied) download link is its `url`
    ),
    Route(
        "msa_conformite",
        "/v3/msa/etablissements/{siret}/conformite_cotisations",
        "api_entreprise_v3_msa_conformites_cotisations",
        MSA,
    ),
    Route(
        "qualifelec",
        "/v3/qualifelec/etablissements/{siret}/certificats",
        "api_entreprise_v3_qualifelec_certificats",
        QUALIFELEC,
    ),
    Route(
        "ademe_rge",
        "/v3/ademe/etablissements/{siret}/certification_rge",
        "api_entreprise_v3_ademe_certificats_rge",
        ADEME,
    ),
    Route(
        "opqibi",
        "/v3/opqibi/unites_legales/{siren}/certification_ingenierie",
        "api_entreprise_v3_opqibi_certifications_ingenierie",
        OPQIBI,
    ),
    Route(
        "carif_oref",
        "/v3/carif_oref/etablissements/{siret}/certifications_qualiopi_france_competences",
        "api_entreprise_v3_carif_oref_certifications_qualiopi_france_competences",
        CARIF_OREF,
    ),
)


def match_route(path: str) -> tuple[Route, str] | None:
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            return route, found.group(route.param)
    return None


@dataclass(frozen=True)
class Case:
    name: str
    params: dict[str, str]
    status: int
    payload: str  # JSON text, parsed on each answer so callers may mutate the result

    def json(self) -> Any:
        return json.loads(self.payload)


def load_cases(directory: Path) -> dict[str, Case]:
    cases = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):  # the staging uses both
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        params = {name: str(value) for name, value in (raw.get("params") or {}).items()}
        cases[path.stem] = Case(path.stem, params, int(raw["status"]), raw["payload"])
    return cases


@dataclass(frozen=True)
class Persona:
    key: str
    label: str
    siret: str
    siren: str
    cases: dict[str, list[str]] = field(default_factory=dict)  # route key -> staging case names
    derive: dict[str, dict] = field(default_factory=dict)  # route key -> {"from": case, "set": {dotted: value}}


def load_personas(path: Path) -> list[Persona]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    personas = []
    for key, item in raw["personas"].items():
        cases = {
            route_key: [str(name)] if isinstance(name, (str, int)) else [str(n) for n in name]
            for route_key, name in (item.get("cases") or {}).items()
        }
        personas.append(
            Persona(key, item["label"], str(item["siret"]), str(item["siren"]), cases, item.get("derive") or {})
        )
    return personas


def set_dotted(document: Any, dotted: str, value: Any) -> None:
    value = copy.deepcopy(value)  # YAML anchors share objects between recipes
    *parents, last = dotted.split(".")
    for part in parents:
        document = document[int(part)] if isinstance(document, list) else document[part]
    if isinstance(document, list):
        document[int(last)] = value
    else:
        document[last] = value


class Catalogue:
    def __init__(self, staging_dir: Path = STAGING_DIR, personas_file: Path = PERSONAS_FILE):
        self.cases = {route.key: load_cases(staging_dir / route.directory) for route in ROUTES}
        self.personas = load_personas(personas_file)
        self._personas_by_id = {}
        for persona in self.personas:
            self._personas_by_id[persona.siret] = persona
            self._personas_by_id[persona.siren] = persona
            self._check(persona)
        self.known_identifiers = set(self._personas_by_id) | {
            value for cases in self.cases.values() for case in cases.values() for value in case.params.values()
        }

    def _check(self, persona: Persona) -> None:
        """Fail at start-up, not at the first call, on a typo in personas.yaml."""
        for route_key, names in persona.cases.items():
            for name in names:
                if name not in self.cases[route_key]:
                    raise ValueError(f"persona {persona.key}: no case {name!r} for {route_key}")
        for route_key, recipe in persona.derive.items():
            if recipe["from"] not in self.cases[route_key]:
                raise ValueError(f"persona {persona.key}: no case {recipe['from']!r} for {route_key}")

    def persona_for(self, identifier: str) -> Persona | None:
        return self._personas_by_id.get(identifier)

    def answer(self, route: Route, identifier: str) -> tuple[int, Any]:
        """(status, payload) for a well-formed identifier."""
        persona = self.persona_for(identifier)
        cases = self.cases[route.key]
        if persona and route.key in persona.derive:
            recipe = persona.derive[route.key]
            payload = cases[recipe["from"]].json()
            for dotted, value in (recipe.get("set") or {}).items():
                set_dotted(payload, dotted, value)
            return 200, payload
        if persona and route.key in persona.cases:
            matching = [cases[name] for name in persona.cases[route.key]]
        else:
            matching = [case for case in cases.values() if case.params.get(route.param) == identifier]
        if route.collection:
            found = [case for case in matching if case.status == 200]
            if found:
                return 200, self._merge(found)
        if matching:
            return matching[0].status, matching[0].json()
        return 404, self.not_found(route)

    @staticmethod
    def _merge(cases: list[Case]) -> dict:
        """The real collection endpoint answers all the years at once; the staging has one case per year."""
        items = [item for case in cases for item in case.json()["data"]]
        items.sort(key=lambda item: item["data"]["date_fin_exercice"], reverse=True)
        return {"data": items, "meta": {}, "links": {}}

    def not_found(self, route: Route) -> dict:
        cases = self.cases.get(route.key, {})
        if "404" in cases:
            return cases["404"].json()
        for case in cases.values():
            if case.status == 404:
                return case.json()
        return official_errors.body(official_errors.not_found(route.provider.name, route.provider.code_prefix))
