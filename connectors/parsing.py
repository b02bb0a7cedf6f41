"""Reading the fields of a provider's answer, shared by the connectors.

The helpers raise KeyError, TypeError or ValueError on what they cannot read; a connector's parser catches
`PARSE_ERRORS` around the whole answer and turns the first one into `malformed(...)`.
"""

from __future__ import annotations

from datetime import date

from . import errors

# What reading a malformed answer raises: a missing key, a wrong type, an unreadable value, a null object.
PARSE_ERRORS: tuple[type[Exception], ...] = (KeyError, TypeError, ValueError, AttributeError)


def text(value: object, *, numbers: bool = False) -> str:
    """A text field, stripped, null read as empty; with `numbers`, an integer is tolerated (e.g. a numéro de voie)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if numbers and isinstance(value, int):
        if isinstance(value, bool):
            raise TypeError(f"texte attendu, reçu {value!r}")
        return str(value).strip()
    raise TypeError(f"texte attendu, reçu {type(value).__name__}")


def required_text(value: object, *, numbers: bool = False) -> str:
    result = text(value, numbers=numbers)
    if not result:
        raise ValueError("valeur obligatoire vide")
    return result


def iso_date(value: object) -> date | None:
    """An ISO 8601 date ("2023-07-31"); null or empty read as None."""
    result = text(value)
    return date.fromisoformat(result) if result else None


def malformed(provider: str, what: str | None, exc: Exception) -> errors.ProviderError:
    """The error for an answer that could not be read; `what` names the resource, when the provider has several."""
    subject = f"{provider} ({what})" if what else provider
    reason = f"champ manquant {exc}" if isinstance(exc, KeyError) else str(exc)
    return errors.ProviderError(
        f"Réponse {subject} incomplète ou mal formée : {reason}.", http_status=200, code="malformed"
    )


def collection(payload: dict) -> list[dict]:
    """The items of a collection answer: `data` is a list, each item wrapped again in `{data, links, meta}`."""
    items = payload["data"]
    if not isinstance(items, list):
        raise TypeError(f"liste attendue, reçu {type(items).__name__}")
    return [item["data"] for item in items]
