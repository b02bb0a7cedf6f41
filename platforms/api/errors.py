"""Every error of the API is JSON: a stable `code` for programs, a French `message` for people, and for a
validation error the `fields` it concerns: {"code": "...", "message": "...", "fields": {"siret": ["..."]}}."""

from __future__ import annotations

import logging

from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """A refusal of the domain, with its own code (e.g. 409 `deadline_passed`) and, if any, the field it names."""

    def __init__(self, *, code: str, message: str, status_code: int = 400, field: str | None = None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.field = field


def error_body(*, code: str, message: str, fields: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return body


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _flatten(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _flatten(value)]
    if getattr(detail, "code", None) == "null":  # DRF's own words, in English: "No data provided"
        return [_("Le corps de la requête est vide : envoyez un objet JSON.")]
    return [str(detail)]


def _fields(detail) -> dict[str, list[str]]:
    """DRF's nested errors as one list of messages per field path (`lots.1.title`)."""
    if not isinstance(detail, dict):
        return {"non_field_errors": _flatten(detail)}
    fields: dict[str, list[str]] = {}
    for name, value in detail.items():
        if isinstance(value, dict):
            fields |= {f"{name}.{inner}": messages for inner, messages in _fields(value).items()}
        elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
            for index, item in enumerate(value):
                if item:
                    fields |= {f"{name}.{index}.{inner}": messages for inner, messages in _fields(item).items()}
        else:
            fields[name] = _flatten(value)
    return fields


def _describe(exc: exceptions.APIException) -> tuple[str, str, dict | None]:
    if isinstance(exc, ApiError):
        return exc.error_code, exc.message, {exc.field: [exc.message]} if exc.field else None
    if isinstance(exc, exceptions.ValidationError):
        return (
            "validation_error",
            _("Les données envoyées sont invalides : voir les champs en erreur."),
            _fields(exc.detail),
        )
    if isinstance(exc, exceptions.NotAuthenticated):
        return (
            "not_authenticated",
            _(
                "Authentification requise : envoyez un jeton d'accès (en-tête Authorization: Bearer …) obtenu sur "
                "/api/oauth/token/."
            ),
            None,
        )
    if isinstance(exc, exceptions.AuthenticationFailed):
        return (
            "invalid_token",
            _("Jeton d'accès invalide, expiré ou révoqué : demandez-en un nouveau sur /api/oauth/token/."),
            None,
        )
    if isinstance(exc, exceptions.PermissionDenied):
        return (
            "insufficient_scope",
            _("Ce jeton n'a pas la portée « %(scope)s » que demande cette opération.") % {"scope": exc.detail},
            None,
        )
    if isinstance(exc, exceptions.NotFound):
        return "not_found", _("Ressource introuvable."), None
    if isinstance(exc, exceptions.MethodNotAllowed):
        return "method_not_allowed", _("Cette méthode HTTP n'est pas acceptée à cette adresse."), None
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return "unsupported_media_type", _("Envoyez un corps JSON (Content-Type: application/json)."), None
    if isinstance(exc, exceptions.ParseError):
        return "malformed_json", _("Le corps de la requête n'est pas un JSON valide."), None
    if isinstance(exc, exceptions.NotAcceptable):
        return "not_acceptable", _("Cette ressource n'est disponible qu'en JSON."), None
    if isinstance(exc, exceptions.Throttled):
        return (
            "throttled",
            _("Trop de requêtes : réessayez dans %(seconds)s secondes.") % {"seconds": int(exc.wait or 1)},
            None,
        )
    return "error", str(exc.detail), None


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if not isinstance(exc, exceptions.APIException):
        logger.exception("Unexpected error in the API (%s)", context["view"].__class__.__name__, exc_info=exc)
        return Response(
            error_body(code="server_error", message=_("Erreur interne : réessayez plus tard.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    code, message, fields = _describe(exc)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    return Response(error_body(code=code, message=message, fields=fields), status=exc.status_code, headers=headers)
