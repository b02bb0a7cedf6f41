"""API Entreprise error bodies, copied from the official OpenAPI spec (`responses` examples of each path).

Every error is `{"code", "title", "detail", "source", "meta"}` and a body is `{"errors": [error, …]}`.
Provider-specific codes start with the provider's two-digit prefix (INSEE 01, DGFIP 03, ACOSS 04,
INPI - RNE 34): `{prefix}003` not found, `{prefix}999` unknown provider error, `{prefix}002` timeout,
`{prefix}001` unavailable. Codes 00210/00211 are the live API's (not in the spec examples); 00999 (HTTP 500)
is the sandbox's own stand-in, the spec documents no 500 body.
"""

from __future__ import annotations

from typing import Any

UNPROCESSABLE = "Entité non traitable"
NOT_FOUND_DETAIL = (
    "Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information "
    "pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API."
)


def error(code: str, title: str, detail: str, *, parameter: str | None = None, meta: dict | None = None) -> dict:
    return {
        "code": code,
        "title": title,
        "detail": detail,
        "source": {"parameter": parameter} if parameter else None,
        "meta": meta or {},
    }


def body(*errors: dict) -> dict[str, Any]:
    return {"errors": list(errors)}


INVALID_TOKEN = error("00101", "Interdit", "Votre token n'est pas valide ou n'est pas renseigné", parameter="token")
TOO_MANY_REQUESTS = error("00429", "Trop de requêtes", "Vous avez effectué trop de requêtes")
CONFLICT = error(
    "00015",
    "Conflit",
    "Une requête associé à votre jeton est déjà en cours de traitement pour ces paramètres. Veuillez attendre la "
    "fin du traitement avant d'effectuer une nouvelle requête.",
)
INTERNAL_ERROR = error(
    "00999",
    "Erreur interne du serveur",
    "Une erreur inattendue est survenue lors du traitement de votre requête. L'équipe technique a été notifiée.",
)
MISSING_PARAMETER = {
    name: error(code, UNPROCESSABLE, f"Le paramètre {name} est obligatoire", parameter=name)
    for name, code in (("context", "00201"), ("object", "00202"), ("recipient", "00203"))
}
INVALID_RECIPIENT = error(
    "00210", UNPROCESSABLE, "Le paramètre recipient doit être un numéro de SIRET valide", parameter="recipient"
)
RECIPIENT_IS_TARGET = error(
    "00211", UNPROCESSABLE, "Le paramètre recipient ne peut pas être l'entité appelée", parameter="recipient"
)
INVALID_IDENTIFIER = {
    "siren": error("00301", UNPROCESSABLE, "Le numéro de siren n'est pas correctement formatté", parameter="siren"),
    "siret": error("00302", UNPROCESSABLE, "Le numéro de siret n'est pas correctement formatté", parameter="siret"),
}


def not_found(provider: str, prefix: str) -> dict:
    return error(f"{prefix}003", "Entité non trouvée", NOT_FOUND_DETAIL, meta={"provider": provider})


def provider_error(status: int, provider: str, prefix: str, retry_in: float | None = None) -> dict:
    """The error of an injected `status` fault, as the real API words it for that status and provider."""
    meta: dict[str, Any] = {"provider": provider}
    if status == 409:
        found = dict(CONFLICT)
    elif status == 429:
        found = dict(TOO_MANY_REQUESTS)
    elif status == 500:
        found = dict(INTERNAL_ERROR)
    elif status == 401:
        found = dict(INVALID_TOKEN)
    elif status == 404:
        found = not_found(provider, prefix)
    elif status == 503:
        found = error(
            f"{prefix}001",
            "Service non disponible",
            "Service du fournisseur de données temporairement indisponible ou en maintenance.",
            meta=meta,
        )
    elif status == 504:
        found = error(
            f"{prefix}002",
            "Intermédiaire hors-délai",
            "Temps d’attente d’une réponse du fournisseur de données écoulé.",
            meta=meta,
        )
    else:  # 502 and anything else: the provider answered something API Entreprise could not understand
        found = error(
            f"{prefix}999",
            "Erreur inconnue du fournisseur de données",
            "La réponse retournée par le fournisseur de données est invalide et inconnue de notre service. "
            "L'équipe technique a été notifiée de cette erreur pour investigation.",
            meta=meta,
        )
    if retry_in is not None:
        found["meta"] = {**found["meta"], "retry_in": retry_in}
    return found
