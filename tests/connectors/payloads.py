"""Canned upstream answers for the connector tests: the project's copy of the official staging cases.

`load_case` reads `connectors/sandbox/data/api-entreprise/<directory>/<filename>` (params → status →
payload); the error bodies below are copied verbatim from the official OpenAPI specification.
Vary them with `copy.deepcopy`, never invent new API Entreprise payloads.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

import connectors

DATA_DIR = Path(connectors.__file__).resolve().parent / "sandbox" / "data" / "api-entreprise"

API_ENTREPRISE_URL = "https://entreprise.api.gouv.fr"
BODACC_URL = "https://bodacc-datadila.opendatasoft.com/api/explore/v2.1"
BUYER_SIRET = "13002526500013"  # the buyer organisation (DINUM), the `recipient` of every call


def load_case(directory: str, filename: str) -> tuple[int, dict]:
    """(HTTP status, decoded body) of one official staging case; a fresh dict on every call."""
    case = yaml.safe_load((DATA_DIR / directory / filename).read_text(encoding="utf-8"))
    return int(case["status"]), json.loads(case["payload"])


def sample_pdf() -> bytes:
    """The official sample attestation shipped with the staging data: a real PDF."""
    return (DATA_DIR / "api_entreprise_v4_acoss_attestations_sociales" / "attestation_vigilance_test.pdf").read_bytes()


def _error(code: str, title: str, detail: str, *, source: dict | None = None, meta: dict | None = None) -> dict:
    return {"errors": [{"code": code, "title": title, "detail": detail, "source": source, "meta": meta or {}}]}


# Official error bodies (openapi.yaml, `responses` of the endpoints used here).
UNAUTHORIZED_00101 = _error(
    "00101",
    "Interdit",
    "Votre token n'est pas valide ou n'est pas renseigné",
    source={"parameter": "token"},
)
FORBIDDEN_00100 = _error(
    "00100",
    "Privilèges insuffisants",
    "Votre token est valide mais vos privilèges sont insuffisants. Listez vos privilèges sur /v2/privileges",
    source={"parameter": "token"},
)
NOT_FOUND_01003 = _error(
    "01003",
    "Entité non trouvée",
    "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information "
    "pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.",
    meta={"provider": "INSEE"},
)
CONFLICT_00015 = _error(
    "00015",
    "Conflit",
    "Une requête associé à votre jeton est déjà en cours de traitement pour ces paramètres. "
    "Veuillez attendre la fin du traitement avant d'effectuer une nouvelle requête.",
)
UNPROCESSABLE_00201 = _error(
    "00201", "Entité non traitable", "Le paramètre context est obligatoire", source={"parameter": "context"}
)
# 451 and 400: the spec declares them with its `Error` schema and gives no example; the shape is the schema's,
# the code is ours (the client maps by HTTP status, and keeps whatever code comes).
UNAVAILABLE_FOR_LEGAL_REASONS = _error(
    "00451", "Indisponible pour des raisons légales", "Les données de cette entité ne sont pas diffusibles."
)
BAD_REQUEST = _error("00400", "Requête invalide", "La requête est mal formée.")
TOO_MANY_REQUESTS_00429 = _error("00429", "Trop de requêtes", "Vous avez effectué trop de requêtes")
MANUAL_CHECK_04501 = _error(
    "04501",
    "Analyse manuelle de la situation du compte en cours",
    "Une analyse humaine par un agent des URSSAF est requise. Le temps de traitement est très variable selon "
    "de la complexité de situation, la demande de pièces justificatives complémentaires ou la charge de "
    "travail des agents.",
    meta={"provider": "ACOSS", "retry_in": 172800},
)
PROVIDER_UNKNOWN_04999 = _error(
    "04999",
    "Erreur inconnue du fournisseur de données",
    "La réponse retournée par le fournisseur de données est invalide et inconnue de notre service. L'équipe "
    "technique a été notifiée de cette erreur pour investigation.",
    meta={"provider": "ACOSS"},
)
GATEWAY_TIMEOUT_04002 = _error(
    "04002",
    "Intermédiaire hors-délai",
    "Temps d’attente d’une réponse du fournisseur de données écoulé.",
    meta={"provider": "ACOSS"},
)
NETWORK_ERROR_00501 = _error(
    "00501",
    "Erreur réseau",
    "Problème de connexion au serveur distant. L'erreur peut venir soit du fournisseur, "
    "soit de API Entreprise. Il s'agit souvent d'une erreur temporaire.",
    meta={"retry_in": 10},
)
