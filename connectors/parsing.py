"""Reading the fields of a provider's answer, shared by the connectors.

The helpers raise KeyError, TypeError or ValueError on what they cannot read; a connector's parser catches
`PARSE_ERRORS` around the whole answer and turns the first one into `malformed(...)`.
"""

from __future__ import annotations

import logging
from datetime import date

from . import errors

logger = logging.getLogger(__name__)

# What reading a malformed answer raises: a missing key, a wrong type, an unreadable value, a null object.
PARSE_ERRORS: tuple[type[Exception], ...] = (LookupError, TypeError, ValueError, AttributeError)


class Unreadable(ValueError):
    """A field we could not read, said in French: the only parse failure whose words reach people."""


def text(value: object, *, numbers: bool = False) -> str:
    """A text field, stripped, null read as empty; with `numbers`, an integer is tolerated (e.g. a numéro de voie)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if numbers and isinstance(value, int):
        if isinstance(value, bool):
            raise Unreadable(f"texte attendu, reçu {value!r}")
        return str(value).strip()
    raise Unreadable(f"texte attendu, reçu {type(value).__name__}")


def required_text(value: object, *, numbers: bool = False) -> str:
    result = text(value, numbers=numbers)
    if not result:
        raise Unreadable("valeur obligatoire vide")
    return result


def document_url(data: dict) -> str:
    """The link of the document an answer carries (`data.document_url`): required, to download at once."""
    url = text(data["document_url"])
    if not url:
        raise Unreadable("lien du document (document_url) vide")
    return url


def document_only(payload: dict, provider: str, what: str) -> None:
    """Check an answer that is nothing but its document's link; `malformed(...)` when it has none."""
    try:
        document_url(payload["data"])
    except PARSE_ERRORS as exc:
        raise malformed(provider, what, exc) from exc


def boolean(value: object, *, name: str = "") -> bool:
    """A JSON boolean, nothing else (neither "false" nor 0); `name` says which field in the message."""
    if not isinstance(value, bool):
        raise Unreadable(f"booléen attendu{_for(name)}, reçu {value!r}")
    return value


def optional_boolean(value: object, *, name: str = "") -> bool | None:
    """A JSON boolean, null read as None."""
    return None if value is None else boolean(value, name=name)


def list_of(value: object, *, name: str = "") -> list:
    """A JSON list (its items are for the caller to read)."""
    if not isinstance(value, list):
        raise Unreadable(f"liste attendue{_for(name)}, reçu {type(value).__name__}")
    return value


def _for(name: str) -> str:
    return f" pour {name}" if name else ""


def iso_date(value: object) -> date | None:
    """An ISO 8601 date ("2023-07-31"); null or empty read as None."""
    result = text(value)
    if not result:
        return None
    try:
        return date.fromisoformat(result)
    except ValueError as exc:
        raise Unreadable(f"date ISO attendue, reçu {result!r}") from exc


def malformed(provider: str, what: str | None, exc: Exception) -> errors.ProviderError:
    """The error for an answer that could not be read; `what` names the resource, when the provider has several."""
    subject = f"{provider} ({what})" if what else provider
    if isinstance(exc, KeyError):
        reason = f"champ manquant {exc}"
    elif isinstance(exc, Unreadable):
        reason = str(exc)
    else:
        # Python's own words (English, internals) are for the logs, not for the candidate and the buyer.
        logger.warning("Unreadable %s answer: %r", subject, exc)
        reason = "structure inattendue"
    return errors.ProviderError(
        f"Réponse {subject} incomplète ou mal formée : {reason}.", http_status=200, code="malformed"
    )


def collection(payload: dict) -> list[dict]:
    """The items of a collection answer: `data` is a list, each item wrapped again in `{data, links, meta}`."""
    return [item["data"] for item in list_of(payload["data"], name="data")]
