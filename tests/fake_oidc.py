"""A fake ProConnect: a small OpenID Connect provider served over real HTTP on 127.0.0.1, for tests.

It speaks the authorization code flow the way ProConnect does (https://partenaires.proconnect.gouv.fr/docs,
"Implémentation technique") and checks what a client sends:

- discovery at `{server_url}/.well-known/openid-configuration`, with `server_url` ending in `/api/v2`;
- `/authorize` needs `response_type=code`, the client id, a `redirect_uri`, the `openid` scope and a `state` of at
  least 32 characters; PKCE, when sent, must be S256. It signs the agent in at once (no login page) and redirects to
  `redirect_uri?code=…&state=…`;
- `/token` takes the client secret in the body (`client_secret_post`), the same `redirect_uri`, a code used once and
  the PKCE verifier; it returns an access token and an ID token signed RS256 (`iss`, `aud`, `exp`, `iat`, `sub`, `jti`,
  and the `nonce` when the client sent one) with a key generated at start and published at `/jwks`;
- `/userinfo` returns the agent's claims (`sub`, `email`, `given_name`, `usual_name`, `siret`, …) for the bearer.

ProConnect requires a `nonce` of at least 32 characters and returns the userinfo as a signed JWT
(`application/jwt`); `require_nonce=True` and `userinfo_signed=True` do the same (by default the nonce is optional
and the userinfo is JSON, as generic OpenID Connect providers allow).

To test that the client refuses what it must: `id_token_overrides` replaces claims of the ID token (e.g. a wrong
`nonce`), and `userinfo_forged=True` signs the userinfo JWT with a key that is not the published one (same `kid`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

MIN_STATE_LENGTH = 32  # and nonce


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    claims: dict[str, Any]
    nonce: str | None
    code_challenge: str | None


@dataclass
class FakeOIDCProvider:
    """Start with `with FakeOIDCProvider(claims={...}) as provider:`; `claims` is who signs in next."""

    claims: dict[str, Any]
    client_id: str = "passemarche-test"
    client_secret: str = "secret-de-test"
    require_nonce: bool = False
    userinfo_signed: bool = False
    id_token_overrides: dict[str, Any] = field(default_factory=dict)
    userinfo_forged: bool = False
    # What the provider saw: the query of each /authorize call and the form of each /token call.
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> FakeOIDCProvider:
        self._server = make_server(
            "127.0.0.1", 0, self._app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        # A short poll: stopping waits for it, and the default (0.5 s) cost each ProConnect test half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-oidc", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def server_url(self) -> str:
        """What PROCONNECT_SERVER_URL would be (the issuer)."""
        assert self._server is not None, "start the provider first"
        return f"http://127.0.0.1:{self._server.server_port}/api/v2"

    # --- WSGI ------------------------------------------------------------------------------------
    def _app(self, environ, start_response):
        path = environ["PATH_INFO"].removeprefix("/api/v2")
        method = environ["REQUEST_METHOD"]
        routes = {
            ("GET", "/.well-known/openid-configuration"): self._discovery,
            ("GET", "/authorize"): self._authorize,
            ("POST", "/token"): self._token,
            ("GET", "/userinfo"): self._userinfo,
            ("GET", "/jwks"): self._jwks,
        }
        handler = routes.get((method, path))
        if handler is None:
            status, headers, body = _json(404, {"error": "not_found"})
        else:
            status, headers, body = handler(environ)
        start_response(status, headers)
        return [body]

    def _discovery(self, environ):
        base = self.server_url
        return _json(
            200,
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "end_session_endpoint": f"{base}/session/end",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "userinfo_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "email", "given_name", "usual_name", "siret", "uid", "idp_id"],
                "claims_supported": ["sub", "email", "given_name", "usual_name", "siret", "uid", "idp_id"],
            },
        )

    def _authorize(self, environ):
        query = _single_values(parse_qs(environ.get("QUERY_STRING", "")))
        self.authorize_requests.append(query)
        problem = self._authorize_problem(query)
        if problem:
            return _json(400, {"error": "invalid_request", "error_description": problem})
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Grant(
                client_id=query["client_id"],
                redirect_uri=query["redirect_uri"],
                claims=dict(self.claims),
                nonce=query.get("nonce"),
                code_challenge=query.get("code_challenge"),
            )
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return "302 Found", [("Location", location), ("Content-Length", "0")], b""

    def _authorize_problem(self, query: dict[str, str]) -> str:
        if query.get("response_type") != "code":
            return "response_type must be code"
        if query.get("client_id") != self.client_id:
            return "unknown client_id"
        if not query.get("redirect_uri"):
            return "redirect_uri is required"
        if "openid" not in query.get("scope", "").split():
            return "the openid scope is required"
        if len(query.get("state", "")) < MIN_STATE_LENGTH:
            return f"state must have at least {MIN_STATE_LENGTH} characters"
        if self.require_nonce and len(query.get("nonce", "")) < MIN_STATE_LENGTH:
            return f"nonce must have at least {MIN_STATE_LENGTH} characters"
        if "code_challenge" in query and query.get("code_challenge_method") != "S256":
            return "code_challenge_method must be S256"
        return ""

    def _token(self, environ):
        size = int(environ.get("CONTENT_LENGTH") or 0)
        form = _single_values(parse_qs(environ["wsgi.input"].read(size).decode()))
        self.token_requests.append(form)
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return _json(400, {"error": "invalid_grant"})
        if form.get("client_id") != grant.client_id or form.get("client_secret") != self.client_secret:
            return _json(401, {"error": "invalid_client"})
        if form.get("redirect_uri") != grant.redirect_uri:
            return _json(400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != grant.code_challenge:
                return _json(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[access_token] = grant.claims
        now = int(time.time())
        id_token_claims = {
            "iss": self.server_url,
            "sub": grant.claims["sub"],
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 60,
            "auth_time": now,
            "acr": "eidas1",
            "jti": secrets.token_hex(16),
        }
        if grant.nonce is not None:
            id_token_claims["nonce"] = grant.nonce
        id_token_claims.update(self.id_token_overrides)
        return _json(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 60,
                "id_token": self._sign(id_token_claims),
            },
        )

    def _userinfo(self, environ):
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            claims = self._tokens.get(token) if scheme == "Bearer" else None
        if claims is None:
            return _json(401, {"error": "invalid_token"})
        if not self.userinfo_signed:
            return _json(200, claims)
        now = int(time.time())
        body = self._sign(
            {**claims, "iss": self.server_url, "aud": self.client_id, "iat": now, "exp": now + 60},
            key=rsa.generate_private_key(public_exponent=65537, key_size=2048) if self.userinfo_forged else None,
        )
        return "200 OK", [("Content-Type", "application/jwt"), ("Content-Length", str(len(body)))], body.encode()

    def _jwks(self, environ):
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return _json(200, {"keys": [{**jwk, "kid": self._kid, "alg": "RS256", "use": "sig"}]})

    def _sign(self, claims: dict[str, Any], key: rsa.RSAPrivateKey | None = None) -> str:
        return jwt.encode(claims, key or self._key, algorithm="RS256", headers={"kid": self._kid})


def _single_values(parsed: dict[str, list[str]]) -> dict[str, str]:
    return {key: values[-1] for key, values in parsed.items()}


def _json(status: int, payload: dict[str, Any]):
    body = json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}[status]
    headers = [("Content-Type", "application/json;charset=utf-8"), ("Content-Length", str(len(body)))]
    return f"{status} {reason}", headers, body
