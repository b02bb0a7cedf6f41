"""The OpenAPI description of the API's authentication: OAuth2 client credentials on /api/oauth/token/, and on
each operation the one scope its view asks for that method (`required_scopes`)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

TOKEN_URL = "/api/oauth/token/"  # noqa: S105 (an address, not a secret)


class ApiClientAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "platforms.api.authentication.ApiClientAuthentication"
    name = "oauth2"
    priority = 1  # before drf-spectacular's own description of OAuth2Authentication, which it subclasses

    def get_security_requirement(self, auto_schema):
        scopes = getattr(auto_schema.view, "required_scopes", {}) or {}
        needed = scopes.get(auto_schema.method) or scopes.get("*")
        return {self.name: [needed] if needed else []}

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "Client credentials : POST grant_type=client_credentials sur /api/oauth/token/ avec "
            "l'identifiant et le secret du client (HTTP Basic), puis `Authorization: Bearer <jeton>`.",
            "flows": {"clientCredentials": {"tokenUrl": TOKEN_URL, "scopes": dict(settings.API_SCOPES)}},
        }
