"""ProConnect's login and callback views: allauth's OpenID Connect flow, checking the nonce and a signed userinfo."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import jwt
from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp, SocialToken
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri
from django.http import Http404, HttpRequest
from django.urls import reverse

from . import PROVIDER_ID

logger = logging.getLogger(__name__)

# Asymmetric algorithms only: a userinfo JWT must be signed with one of the keys published at `jwks_uri`.
USERINFO_SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)


def _lookup_jwk(keys_data: dict, kid: str):
    """The public key `kid` of a JWKS; PyJWK infers the algorithm from the key type when the JWK has no `alg`."""
    for jwk in keys_data.get("keys", []):
        if jwk.get("kid") == kid:
            try:
                return jwt.PyJWK(jwk).key
            except jwt.PyJWTError as exc:
                raise OAuth2Error(f"Unusable ProConnect key {kid!r}") from exc
    return None


def _refuse(message: str) -> OAuth2Error:
    logger.warning("ProConnect: %s", message)
    return OAuth2Error(message)


class ProConnectOAuth2Adapter(OpenIDConnectOAuth2Adapter):
    # The nonce sent to /authorize, from the login state; the callback view sets it before complete_login.
    expected_nonce: str | None = None

    basic_auth = False  # ProConnect takes the client secret in the body (client_secret_post)

    def get_callback_url(self, request: HttpRequest, app) -> str:
        return build_absolute_uri(request, reverse(f"{PROVIDER_ID}_callback"), self.redirect_uri_protocol)

    def complete_login(self, request: HttpRequest, app, token: SocialToken, **kwargs):
        id_token_str = kwargs["response"].get("id_token")
        if not id_token_str:
            raise _refuse("the token endpoint returned no ID token")
        id_token = self._decode_id_token(app, id_token_str)
        self._check_nonce(id_token)
        data: dict[str, Any] = {"id_token": id_token}
        if app.settings.get("fetch_userinfo", True):
            userinfo = self._fetch_user_info(token.token)
            if userinfo.get("sub") != id_token.get("sub"):
                raise _refuse("the userinfo is not about the ID token's subject")
            data["userinfo"] = userinfo
        return self.get_provider().sociallogin_from_response(request, data)

    def _check_nonce(self, id_token: dict) -> None:
        expected, nonce = self.expected_nonce, id_token.get("nonce")
        if not expected or not isinstance(nonce, str) or not secrets.compare_digest(nonce.encode(), expected.encode()):
            raise _refuse("the ID token's nonce is not the sign-in's")

    def _fetch_user_info(self, access_token: str) -> dict:
        """The userinfo, as a signed JWT (ProConnect: `application/jwt`) or as JSON."""
        with get_adapter().get_requests_session() as sess:
            response = sess.get(self.profile_url, headers={"Authorization": f"Bearer {access_token}"})
            response.raise_for_status()
        content_type = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
        if content_type == "application/jwt":
            return self._verify_userinfo_jwt(response.text.strip())
        if content_type == "application/json":
            userinfo = response.json()
            if isinstance(userinfo, dict):
                return userinfo
        raise _refuse(f"unexpected userinfo answer ({content_type or 'no content type'})")

    def _verify_userinfo_jwt(self, credential: str) -> dict:
        """Check the signature against the provider's `jwks_uri`, the issuer and the audience (our client id)."""
        try:
            header = jwt.get_unverified_header(credential)
        except jwt.PyJWTError as exc:
            raise _refuse("the userinfo is not a JWT") from exc
        if header.get("alg") not in USERINFO_SIGNING_ALGORITHMS or not header.get("kid"):
            raise _refuse(f"unsupported userinfo signature (alg {header.get('alg')!r}, kid {header.get('kid')!r})")
        try:
            return jwtkit.verify_and_decode(
                credential=credential,
                keys_url=self.openid_config["jwks_uri"],
                issuer=self.openid_config["issuer"],
                audience=self.get_provider().app.client_id,
                lookup_kid=_lookup_jwk,
            )
        except OAuth2Error as exc:
            raise _refuse(f"invalid userinfo JWT ({exc.__cause__ or exc})") from exc


class ProConnectCallbackView(OAuth2CallbackView):
    def _get_state(self, request: HttpRequest, provider):
        state, response = super()._get_state(request, provider)
        self.adapter.expected_nonce = (state or {}).get("nonce")
        return state, response


@login_not_required
def login(request: HttpRequest):
    try:
        return OAuth2LoginView.adapter_view(ProConnectOAuth2Adapter(request, PROVIDER_ID))(request)
    except SocialApp.DoesNotExist as exc:
        raise Http404 from exc


@login_not_required
def callback(request: HttpRequest):
    try:
        return ProConnectCallbackView.adapter_view(ProConnectOAuth2Adapter(request, PROVIDER_ID))(request)
    except SocialApp.DoesNotExist as exc:
        raise Http404 from exc
