"""The sandbox: a plain-WSGI, threaded HTTP server speaking the API Entreprise and BODACC wire formats.

    python -m connectors.sandbox [--host 127.0.0.1] [--port 8010]     # `make sandbox` / `make run`
    handle = start_in_thread(port=0, rate_limits="json=3/60s")      # tests: handle.base_url, handle.stop()

Paths: API Entreprise at the root (`/v4/insee/...`, see catalogue.ROUTES), BODACC at
`/bodacc/api/explore/v2.1/catalog/datasets/annonces-commerciales/records`, signed document links at
`/files/<dir>/<file>`, and the control API at `/__sandbox__/...` (faults, latency, call log; README.md).
No Django here: the sandbox runs next to the project, never inside it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field, fields
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from . import bodacc, documents, official_errors
from .catalogue import Catalogue, Route, match_route
from .controls import DEFAULT_RATE_LIMITS, Controls, Fault, InvalidControl, parse_rate_limits

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 (the sandbox's public default, not a secret)
DEFAULT_PORT = 8010
BODACC_RECORDS_PATH = "/bodacc/api/explore/v2.1/catalog/datasets/annonces-commerciales/records"
FILES_PREFIX = "/files/"
CONTROL_PREFIX = "/__sandbox__/"
REALISTIC_LATENCY_MS = {"bodacc": 250, "documents": 200}  # API Entreprise routes: catalogue.Provider
API_FAULT_KINDS = ("status", "timeout", "malformed")
FILE_FAULT_KINDS = (*API_FAULT_KINDS, "html_document")
JSON = "application/json; charset=utf-8"
BROKEN_PROXY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
    b"<hr><center>nginx</center></body></html>"
)
EXPIRED_LINK_PAGE = (
    "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>"
    "<p>Ce lien a expiré ou n'est pas valide.</p></body></html>"
).encode()


@dataclass
class SandboxConfig:
    token: str = DEFAULT_TOKEN
    rate_limits: dict[str, tuple[int, float]] = field(default_factory=lambda: parse_rate_limits(DEFAULT_RATE_LIMITS))
    latency_ms: float = 0.0  # on every API path
    latency: str = ""  # "realistic": per-provider latency (catalogue.Provider, REALISTIC_LATENCY_MS)
    secret: str = ""  # signs document links; random per process by default
    faults: list[dict] = field(default_factory=list)  # specs as POSTed to /__sandbox__/faults
    latency_rules: list[dict] = field(default_factory=list)  # specs as POSTed to /__sandbox__/latency

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> SandboxConfig:
        env = os.environ if environ is None else environ
        unknown = set(overrides) - {item.name for item in fields(cls)}
        if unknown:
            raise TypeError(f"unknown sandbox option(s): {', '.join(sorted(unknown))}")
        rate_limits = parse_rate_limits(env.get("SANDBOX_RATE_LIMITS") or DEFAULT_RATE_LIMITS)
        rate_limits.update(parse_rate_limits(overrides.pop("rate_limits", None) or {}))
        values: dict[str, Any] = {
            "token": env.get("SANDBOX_TOKEN") or DEFAULT_TOKEN,
            "latency_ms": float(env.get("SANDBOX_LATENCY_MS") or 0),
            "latency": env.get("SANDBOX_LATENCY", ""),
            "secret": env.get("SANDBOX_SECRET") or secrets.token_hex(16),
        }
        values.update(overrides)
        return cls(rate_limits=rate_limits, **values)


class Request:
    def __init__(self, environ: dict):
        self.environ = environ
        self.method = environ["REQUEST_METHOD"].upper()
        self.path = environ.get("PATH_INFO") or "/"
        self.query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)

    def param(self, name: str) -> str:
        return self.query.get(name, [""])[-1]

    def header(self, name: str) -> str:
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"), "")

    @property
    def base_url(self) -> str:
        """Links point at the host the request came to."""
        host = self.header("Host") or f"{self.environ['SERVER_NAME']}:{self.environ['SERVER_PORT']}"
        return f"{self.environ.get('wsgi.url_scheme', 'http')}://{host}"

    def bearer_token(self) -> str:
        scheme, _, token = self.header("Authorization").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def json(self) -> Any:
        length = int(self.environ.get("CONTENT_LENGTH") or 0)
        raw = self.environ["wsgi.input"].read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError as exc:
            raise InvalidControl("the body must be JSON") from exc


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    fault: str | None = None

    def status_line(self) -> str:
        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"{self.status} Error"


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json.dumps(payload, ensure_ascii=False).encode(), JSON, list(headers or []))


def _retry_after(fault: Fault) -> list[tuple[str, str]]:
    """`Retry-After` of a status fault: the given `retry_after`, else 60 s on a 429, else none."""
    if fault.retry_after is None and fault.status != 429:
        return []
    return [("Retry-After", f"{60 if fault.retry_after is None else fault.retry_after:g}")]


class SandboxApp:
    """The WSGI application."""

    def __init__(self, config: SandboxConfig):
        self.config = config
        self.catalogue = Catalogue()
        self.records = bodacc.load_records()
        self.controls = Controls(rate_limits=config.rate_limits)
        for spec in config.faults:
            self.controls.add_fault(spec)
        for spec in config.latency_rules:
            self.controls.add_latency(spec)

    def __call__(self, environ: dict, start_response) -> list[bytes]:
        request = Request(environ)
        started, started_at = time.monotonic(), time.time()
        try:
            response = self.control(request) if request.path.startswith(CONTROL_PREFIX) else self.serve(request)
        except Exception:
            logger.exception("sandbox: unexpected error on %s", request.path)
            response = json_response(500, official_errors.body(official_errors.INTERNAL_ERROR))
        if not request.path.startswith(CONTROL_PREFIX):
            self.controls.record(
                {
                    "method": request.method,
                    "path": request.path,
                    "params": {name: values[-1] for name, values in request.query.items()},
                    "status": response.status,
                    "time": started_at,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    "fault": response.fault,
                }
            )
        headers = [("Content-Type", response.content_type), ("Content-Length", str(len(response.body)))]
        start_response(response.status_line(), headers + response.headers)
        return [response.body]

    # Dispatch -----------------------------------------------------------------------------------------
    def serve(self, request: Request) -> Response:
        found = match_route(request.path)
        if found:
            route, identifier = found
            self.sleep(request.path, route.provider.realistic_latency_ms)
            return self.api_entreprise(request, route, identifier)
        if request.path == BODACC_RECORDS_PATH:
            self.sleep(request.path, REALISTIC_LATENCY_MS["bodacc"])
            return self.bodacc(request)
        if request.path.startswith(FILES_PREFIX):
            self.sleep(request.path, REALISTIC_LATENCY_MS["documents"])
            return self.file(request)
        return json_response(404, {"errors": [official_errors.error("00404", "Not found", "Chemin inconnu.")]})

    def sleep(self, path: str, realistic_ms: float) -> None:
        ms = self.config.latency_ms + self.controls.extra_latency_ms(path)
        if self.config.latency == "realistic":
            ms += realistic_ms
        if ms > 0:
            time.sleep(ms / 1000)

    def rate_limit(self, token: str, family: str) -> tuple[list[tuple[str, str]], Response | None]:
        """Count the call; return the RateLimit-* headers, and the 429 answer when over the limit."""
        decision = self.controls.hit(token, family, time.time())
        rate_headers = decision.headers() if decision else []
        if decision and not decision.allowed:
            refusal = json_response(
                429,
                official_errors.body(official_errors.TOO_MANY_REQUESTS),
                [*rate_headers, ("Retry-After", str(decision.retry_after))],
            )
            return rate_headers, refusal
        return rate_headers, None

    # API Entreprise -----------------------------------------------------------------------------------
    def api_entreprise(self, request: Request, route: Route, identifier: str) -> Response:
        if request.method != "GET":
            return json_response(405, {"errors": [official_errors.error("00405", "Méthode non autorisée", "GET")]})
        token = request.bearer_token()
        if not token or not secrets.compare_digest(token, self.config.token):
            return json_response(401, official_errors.body(official_errors.INVALID_TOKEN))
        rate_headers, refusal = self.rate_limit(token, "json")
        if refusal:
            return refusal
        errors = self.invalid_parameters(request, route, identifier)
        if errors:
            return json_response(422, official_errors.body(*errors), rate_headers)

        fault = self.controls.take_fault(request.path, API_FAULT_KINDS)
        if fault and fault.kind == "status":
            return self.api_status_fault(fault, route, rate_headers)
        if fault and fault.kind == "timeout":
            time.sleep(fault.delay)
        status, payload = self.catalogue.answer(route, identifier)
        if status == 200:
            documents.rewrite_links(
                payload,
                base_url=request.base_url,
                secret=self.config.secret,
                now=time.time(),
                keys=route.link_keys,
            )
        response = json_response(status, payload, rate_headers)
        return self.apply_body_fault(fault, response)

    def invalid_parameters(self, request: Request, route: Route, identifier: str) -> list[dict]:
        errors = []
        if not self.well_formed(route.param, identifier):
            errors.append(official_errors.INVALID_IDENTIFIER[route.param])
        errors += [
            error for name, error in official_errors.MISSING_PARAMETER.items() if not request.param(name).strip()
        ]
        recipient = request.param("recipient").strip()
        if recipient:
            if not (len(recipient) == 14 and recipient.isdigit() and stdnum_siret.is_valid(recipient)):
                errors.append(official_errors.INVALID_RECIPIENT)
            elif recipient == identifier or (route.param == "siren" and recipient[:9] == identifier):
                errors.append(official_errors.RECIPIENT_IS_TARGET)
        return errors

    def well_formed(self, kind: str, identifier: str) -> bool:
        """Digits of the right length with a valid key; the staging's own (keyless) identifiers pass too."""
        if not identifier.isdigit() or len(identifier) != (14 if kind == "siret" else 9):
            return False
        validator = stdnum_siret if kind == "siret" else stdnum_siren
        return identifier in self.catalogue.known_identifiers or validator.is_valid(identifier)

    def api_status_fault(self, fault: Fault, route: Route, rate_headers: list[tuple[str, str]]) -> Response:
        if fault.body is not None:
            payload = fault.body
        elif fault.status == 404:
            payload = self.catalogue.not_found(route)
        else:
            provider = route.provider
            error = official_errors.provider_error(fault.status, provider.name, provider.code_prefix, fault.retry_in)
            payload = official_errors.body(error)
        response = json_response(fault.status, payload, [*rate_headers, *_retry_after(fault)])
        response.fault = "status"
        return response

    @staticmethod
    def apply_body_fault(fault: Fault | None, response: Response) -> Response:
        if fault is None:
            return response
        response.fault = fault.kind
        if fault.kind == "malformed":  # a 200 whose body was cut mid-way
            response.status = 200
            response.body = response.body[: max(1, len(response.body) // 2)]
        elif fault.kind == "html_document":  # a broken proxy's error page sent as the PDF
            response.status, response.body = 200, BROKEN_PROXY_PAGE
        return response

    # BODACC -------------------------------------------------------------------------------------------
    def bodacc(self, request: Request) -> Response:
        if request.method != "GET":
            return json_response(405, {"error_code": "MethodNotAllowed", "message": "GET only"})
        try:
            result = bodacc.search(self.records, request.query)
        except bodacc.ODSError as exc:
            return json_response(400, exc.body())
        fault = self.controls.take_fault(request.path, API_FAULT_KINDS)
        if fault and fault.kind == "status":
            payload = fault.body if fault.body is not None else _ods_error(fault.status)
            response = json_response(fault.status, payload, _retry_after(fault))
            response.fault = "status"
            return response
        if fault and fault.kind == "timeout":
            time.sleep(fault.delay)
        return self.apply_body_fault(fault, json_response(200, result))

    # Documents ----------------------------------------------------------------------------------------
    def file(self, request: Request) -> Response:
        token = request.bearer_token() or "document-links"
        rate_headers, refusal = self.rate_limit(token, "documents")
        if refusal:
            return refusal
        relative = request.path[len(FILES_PREFIX) :]
        path = documents.resolve(relative)
        valid = path is not None and documents.is_valid(
            self.config.secret, relative, request.param("expires"), request.param("signature"), time.time()
        )
        if not valid:
            return Response(404, EXPIRED_LINK_PAGE, "text/html; charset=utf-8", rate_headers)
        fault = self.controls.take_fault(request.path, FILE_FAULT_KINDS)
        if fault and fault.kind == "status":
            page = f"<html><body><h1>{Response(fault.status, b'').status_line()}</h1></body></html>"
            headers = [*rate_headers, *_retry_after(fault)]
            response = Response(fault.status, page.encode(), "text/html; charset=utf-8", headers)
            response.fault = "status"
            return response
        if fault and fault.kind == "timeout":
            time.sleep(fault.delay)
        headers = [*rate_headers, ("Content-Disposition", f'inline; filename="{path.name}"')]
        return self.apply_body_fault(fault, Response(200, path.read_bytes(), "application/pdf", headers))

    # Control API --------------------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        action = (request.method, request.path[len(CONTROL_PREFIX) :].strip("/"))
        try:
            if action == ("GET", "health"):
                return json_response(200, {"status": "ok"})
            if action == ("GET", "faults"):
                return json_response(200, self.controls.describe())
            if action == ("POST", "faults"):
                return json_response(201, {"id": self.controls.add_fault(request.json()).id})
            if action == ("DELETE", "faults"):
                self.controls.clear_faults()
                return json_response(200, {"cleared": ["faults", "latency"]})
            if action == ("POST", "latency"):
                return json_response(201, {"id": self.controls.add_latency(request.json()).id})
            if action == ("DELETE", "latency"):
                self.controls.clear_latency()
                return json_response(200, {"cleared": ["latency"]})
            if action == ("GET", "calls"):
                return json_response(200, {"calls": self.controls.list_calls()})
            if action == ("DELETE", "calls"):
                self.controls.clear_calls()
                return json_response(200, {"cleared": ["calls"]})
            if action == ("DELETE", "rate_limits"):
                self.controls.reset_rate_limits()
                return json_response(200, {"cleared": ["rate_limits"]})
            if action == ("GET", "personas"):
                personas = [
                    {"key": p.key, "label": p.label, "siret": p.siret, "siren": p.siren}
                    for p in self.catalogue.personas
                ]
                return json_response(200, {"personas": personas})
        except InvalidControl as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(404, {"error": f"unknown control {action[0]} {request.path}"})


def _ods_error(status: int) -> dict:
    if status == 429:
        return {
            "errorcode": 10002,
            "reset_time": time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() + 86400)),
            "limit_time_unit": "day",
            "call_limit": 10000,
            "error": "Too many requests on the domain. Please contact the domain administrator.",
        }
    return {"error_code": "InternalServerError" if status == 500 else "ServiceUnavailable", "message": "Unavailable"}


# Server -----------------------------------------------------------------------------------------------
class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # injected latency of concurrent calls overlaps; never blocks shutdown
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # the client gave up (its timeout): not our error
            return
        super().handle_error(request, client_address)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox: " + format, *args)


def make_sandbox_server(host: str = "127.0.0.1", port: int = DEFAULT_PORT, **config: Any) -> ThreadingWSGIServer:
    app = SandboxApp(SandboxConfig.from_env(**config))
    server = make_server(host, port, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    server.sandbox = app
    return server


@dataclass
class SandboxHandle:
    server: ThreadingWSGIServer
    thread: threading.Thread

    @property
    def app(self) -> SandboxApp:
        return self.server.sandbox

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def bodacc_base_url(self) -> str:
        return self.base_url + "/bodacc/api/explore/v2.1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_in_thread(host: str = "127.0.0.1", port: int = 0, **config: Any) -> SandboxHandle:
    """Serve in a daemon thread (port 0: any free port). Options: see SandboxConfig."""
    server = make_sandbox_server(host, port, **config)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="api-sandbox", daemon=True
    )
    thread.start()
    return SandboxHandle(server, thread)
