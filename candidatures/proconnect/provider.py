"""The ProConnect provider: allauth's OpenID Connect provider, plus a `nonce` stashed with the login state."""

from __future__ import annotations

import secrets

from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

from . import PROVIDER_ID
from .views import ProConnectOAuth2Adapter

# ProConnect refuses a nonce shorter than 32 characters; 32 random bytes make 43 URL-safe characters.
NONCE_BYTES = 32


class ProConnectProvider(OpenIDConnectProvider):
    id = PROVIDER_ID
    name = "ProConnect"
    oauth2_adapter_class = ProConnectOAuth2Adapter
    pkce_enabled_default = True
    # Signing in with an ID token obtained elsewhere (headless) would skip the nonce: not offered.
    supports_token_authentication = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.name = self.app.name or ProConnectProvider.name

    def get_login_url(self, request: HttpRequest, **kwargs) -> str:
        url = reverse(f"{self.id}_login")
        return f"{url}?{urlencode(kwargs)}" if kwargs else url

    def get_callback_url(self) -> str:
        return reverse(f"{self.id}_callback")

    def get_default_scope(self) -> list[str]:
        return ["openid", "email", "given_name", "usual_name", "siret"]

    def get_oauth2_adapter(self, request: HttpRequest) -> ProConnectOAuth2Adapter:
        return self.oauth2_adapter_class(request, self.id)

    def extract_common_fields(self, data) -> dict:
        fields = super().extract_common_fields(data)
        claims = data.get("userinfo") or data.get("id_token") or {}
        fields["last_name"] = claims.get("usual_name") or fields.get("last_name")
        return fields

    def redirect(self, request: HttpRequest, process, next_url=None, data=None, **kwargs):
        """Send a fresh nonce to /authorize and keep it with the state; the callback compares the ID token's."""
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        auth_params = kwargs.pop("auth_params", None)
        if auth_params is None:
            auth_params = self.get_auth_params()
        auth_params["nonce"] = nonce
        return super().redirect(request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs)


provider_classes = [ProConnectProvider]
