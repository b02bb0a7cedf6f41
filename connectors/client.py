"""The one HTTP seam of the project: a shared session, API Entreprise's conventions, typed errors.

Connectors call `api_entreprise_get`, `bodacc_get`, and `with_document` / `download_documents` for the
documents; nothing else talks HTTP and nothing else reads the upstream settings.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import math
import os
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from . import errors, parsing, ratelimit
from .breaker import CircuitBreaker
from .breaker import FileStore as BreakerFileStore
from .breaker import RedisStore as BreakerRedisStore
from .breaker import Store as BreakerStore
from .types import CallContext, CallRecord, DocumentLink, FetchedDocument, SourceResult

logger = logging.getLogger(__name__)

Result = TypeVar("Result", bound=SourceResult)

EXCERPT_CHARS = 2000
_session_lock = threading.Lock()
_session: requests.Session | None = None
_session_pid: int | None = None


def http_session() -> requests.Session:
    """The process-wide session (connection pooling); rebuilt after a fork so pools are never shared."""
    global _session, _session_pid
    with _session_lock:
        if _session is None or _session_pid != os.getpid():
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = "passemarche/0.1 (+candidature marchés publics)"
            _session, _session_pid = session, os.getpid()
        return _session


# A 5xx asking to come back in an hour or more is about this one entity (URSSAF's manual check: 172800 s), not an
# outage of the provider: it does not count for the circuit breaker.
ENTITY_LEVEL_RETRY_IN = 3600


@functools.cache
def _state_backends(redis_url: str, folder: str, prefix: str) -> tuple[ratelimit.Backend, BreakerStore]:
    """The limiter's and the breaker's shared state: Redis when REDIS_URL is set, else files of this host."""
    if redis_url:
        return ratelimit.RedisBackend(redis_url, prefix=prefix), BreakerRedisStore(redis_url, prefix=prefix)
    return ratelimit.FileBackend(folder), BreakerFileStore(folder)


def _backends() -> tuple[ratelimit.Backend, BreakerStore]:
    return _state_backends(settings.REDIS_URL, str(settings.UPSTREAM_STATE_DIR), settings.UPSTREAM_STATE_PREFIX)


@functools.cache
def rate_limits(spec: str) -> dict[str, ratelimit.Limit]:
    return ratelimit.parse_limits(spec, setting="API_ENTREPRISE_RATE_LIMITS")


def rate_limiter() -> ratelimit.RateLimiter:
    """API Entreprise's limit families (API_ENTREPRISE_RATE_LIMITS) for our token, shared by every worker."""
    return ratelimit.RateLimiter(
        limits=rate_limits(settings.API_ENTREPRISE_RATE_LIMITS),
        backend=_backends()[0],
        token=settings.API_ENTREPRISE_TOKEN,
    )


def circuit_breaker() -> CircuitBreaker:
    return CircuitBreaker(
        store=_backends()[1],
        threshold=settings.CIRCUIT_BREAKER_THRESHOLD,
        window=settings.CIRCUIT_BREAKER_WINDOW,
        cooldown=settings.CIRCUIT_BREAKER_COOLDOWN,
        # The trial call's lease: the longest request, and a margin.
        trial_timeout=max(settings.API_ENTREPRISE_TIMEOUT_JSON, settings.API_ENTREPRISE_TIMEOUT_DOCUMENT) + 5,
    )


def upstream_state_clear() -> None:
    """Forget every limit count, pause and breaker state (tests; an operator after an incident)."""
    limiter_backend, breaker_store = _backends()
    limiter_backend.clear()
    breaker_store.clear()


@dataclass(frozen=True)
class ApiResponse:
    http_status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def meta(self) -> dict:
        return self.body.get("meta") or {}


def _rate_limit_headers(response: requests.Response) -> dict[str, str]:
    return {
        name: response.headers[name]
        for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After")
        if name in response.headers
    }


def _first_error(body: Any) -> dict:
    if isinstance(body, dict):
        errors_list = body.get("errors")
        if isinstance(errors_list, list) and errors_list and isinstance(errors_list[0], dict):
            return errors_list[0]
    return {}


# A 429 that does not say how long to wait: wait this (seconds).
RATE_LIMITED_DEFAULT_WAIT = 60.0


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds, given as seconds or as an HTTP date (RFC 9110); None when absent or unreadable
    (a negative delay, `inf`, `nan`, a date without its zone). Also read by the webhooks (platforms/outbound.py)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    # A delay is never negative (RFC 9110); a date already past means now.
    return max(0.0, seconds) if "-" not in value[:1] else None


def _retry_in(body: Any) -> float | None:
    """The seconds API Entreprise asks to wait before asking again (`errors[0].meta.retry_in`), when it says so."""
    meta = _first_error(body).get("meta")
    retry_in = meta.get("retry_in") if isinstance(meta, dict) else None
    if isinstance(retry_in, (int, float)) and not isinstance(retry_in, bool) and math.isfinite(retry_in):
        return float(retry_in)
    return None


def _retry_after_429(headers: Mapping[str, str], body: Any) -> float:
    """How long a 429 says to wait: its `Retry-After`, else the body's `retry_in`, else RATE_LIMITED_DEFAULT_WAIT;
    never more than ratelimit.MAX_RESET_SECONDS (a broken header must not stop the calls for years)."""
    wait = parse_retry_after(headers.get("Retry-After")) or _retry_in(body) or RATE_LIMITED_DEFAULT_WAIT
    return min(wait, ratelimit.MAX_RESET_SECONDS)


def _error_for_status(status: int, body: Any, headers: Mapping[str, str]) -> errors.ConnectorError:
    """Branch on the HTTP status (the codes in the body are for humans and the audit trail).

    `body` is the decoded JSON error body (None when it was not JSON), kept on the error for a connector
    that reads an error as an answer (CIBTP 38422).

    `headers` must be the response's case-insensitive mapping: proxies send `retry-after` in lower case.
    """
    error = _first_error(body)
    code = str(error.get("code") or "")
    detail = str(error.get("detail") or error.get("title") or "")
    retry_in = _retry_in(body)
    common = {"http_status": status, "code": code, "detail": detail, "body": body}
    if status in (401, 403):
        return errors.Unauthorized("Accès refusé par API Entreprise (jeton invalide ou droits insuffisants).", **common)
    if status == 404:
        return errors.NotFound("Entité non trouvée chez le fournisseur.", **common)
    if status == 409:
        return errors.InFlight(
            "Requête identique déjà en cours chez le fournisseur.", retry_after=retry_in or 1, **common
        )
    if status == 422:
        return errors.BadRequest("Paramètres refusés par API Entreprise.", **common)
    if status == 429:
        return errors.RateLimited("Limite de débit atteinte.", retry_after=_retry_after_429(headers, body), **common)
    if status == 451:
        return errors.Refused("Données non diffusibles.", **common)
    if status >= 500:
        return errors.Transient("Le fournisseur de données est indisponible.", retry_after=retry_in, **common)
    return errors.PermanentError(f"Réponse inattendue du fournisseur (HTTP {status}).", **common)


def _send(
    *,
    provider: str,
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
    timeout: float,
    call: CallContext,
    families: tuple[str, ...],
    breaker_key: str = "",
    reserved: bool = False,
) -> requests.Response:
    """Send one GET, record it through the call context (success or not), map network failures.

    Before any HTTP: the provider's circuit breaker (`ProviderDown` while it is open) and a token of each limit
    family (`Throttled` when one is spent or paused; none when `reserved`: taken with the JSON call of a document,
    CallContext.reserve_document): nothing is sent nor recorded then. After: the breaker learns whether the
    provider answered, and the first family is corrected from the answer's RateLimit-* headers and paused until
    `Retry-After` on a 429. The shared state not answering (`StateUnavailable`) stops the call before; after it,
    the answer in hand is kept all the same.
    """
    breaker_key = breaker_key or provider
    breaker = circuit_breaker()
    trial = breaker.before_call(breaker_key)
    limiter = rate_limiter()
    wait = 0.0 if reserved else limiter.acquire(*families)
    if wait > 0:
        if trial:
            breaker.release_trial(breaker_key)
        # A little jitter: the tasks refused together do not all come back at the same instant.
        raise errors.Throttled(retry_after=wait + random.uniform(0, min(1.0, 0.2 * wait)))  # noqa: S311 (not secret)
    started = time.monotonic()
    response = None
    network_error = ""
    try:
        response = http_session().get(url, params=params, headers=headers, timeout=timeout)
    except requests.Timeout as exc:
        network_error = "timeout"
        with _state_best_effort():
            breaker.record_failure(breaker_key)
        raise errors.Transient("Délai de réponse du fournisseur dépassé.", code=network_error) from exc
    except requests.RequestException as exc:
        network_error = "connection_error"
        with _state_best_effort():
            breaker.record_failure(breaker_key)
        raise errors.Transient("Fournisseur injoignable.", code=network_error) from exc
    finally:
        call.record(_call_record(provider, url, params, response, network_error, started))
    with _state_best_effort():
        if _provider_failed(response):
            breaker.record_failure(breaker_key)
        else:
            breaker.record_success(breaker_key)
        _correct_limiter(limiter, families[0], response)
    return response


@contextlib.contextmanager
def _state_best_effort() -> Iterator[None]:
    """After the HTTP call, the shared state not answering must not lose the answer in hand (nor hide a network
    error): the breaker or the limiter misses this one call, with a warning."""
    try:
        yield
    except errors.StateUnavailable:
        logger.warning("Shared upstream state unavailable after a call: breaker and limiter not updated", exc_info=True)


def _provider_failed(response: requests.Response) -> bool:
    """A 5xx says the provider is down, unless it is about one entity (a retry_in of an hour or more)."""
    if response.status_code < 500:
        return False
    retry_in = _retry_in(_json_or_none(response))
    return not (retry_in is not None and retry_in >= ENTITY_LEVEL_RETRY_IN)


def _correct_limiter(limiter: ratelimit.RateLimiter, family: str, response: requests.Response) -> None:
    limiter.observe(family, response.headers)
    if response.status_code == 429:
        # A 429 despite the limiter (another client on the token, a lower limit upstream): the whole family
        # waits, every worker, or the IP gets banned for 12 hours.
        limiter.pause(family, _retry_after_429(response.headers, _json_or_none(response)))


def _call_record(
    provider: str, url: str, params: dict[str, str], response: requests.Response | None, network_error: str, started
) -> CallRecord:
    excerpt, error_code, rate_limit, status = "", network_error, {}, None
    if response is not None:
        status = response.status_code
        rate_limit = _rate_limit_headers(response)
        content_type = response.headers.get("Content-Type", "")
        # Only error answers are excerpted: a success carries the company's data (protected for non-diffusible
        # companies), kept once as evidence on the fetch, never copied into the audit trail.
        if status >= 400 and ("json" in content_type or "text" in content_type):
            excerpt = response.content[:EXCERPT_CHARS].decode("utf-8", errors="replace")
        if status >= 400:
            error_code = str(_first_error(_json_or_none(response)).get("code") or "")
    return CallRecord(
        provider=provider,
        # Without its query string: a document link may carry a signature there (the API parameters are in `params`).
        url=url.split("?", 1)[0],
        params=dict(params),
        http_status=status,
        error_code=error_code,
        duration_ms=int((time.monotonic() - started) * 1000),
        response_excerpt=excerpt,
        rate_limit=rate_limit,
    )


def _json_or_none(response: requests.Response) -> Any:
    """The body of an error answer, when it is JSON at all (proxies answer HTML pages too)."""
    try:
        return response.json()
    except ValueError:
        return None


def _decode_json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise errors.ProviderError(
            "Réponse illisible du fournisseur (JSON invalide).",
            http_status=response.status_code,
            code="malformed",
        ) from exc


def api_entreprise_get(path: str, *, call: CallContext) -> ApiResponse:
    """GET an API Entreprise JSON endpoint with the bearer token and the three mandatory parameters."""
    base_url = settings.API_ENTREPRISE_BASE_URL
    token = settings.API_ENTREPRISE_TOKEN
    if not base_url or not token:
        raise errors.Misconfigured("API Entreprise n'est pas configurée (API_ENTREPRISE_BASE_URL / _TOKEN).")
    params = {
        "context": call.context or settings.API_ENTREPRISE_CONTEXT,
        "recipient": call.recipient,
        "object": call.object[:50],
    }
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if call.no_cache:
        headers["Cache-Control"] = "no-cache"
    response = _send(
        provider="api_entreprise",
        url=base_url.rstrip("/") + path,
        params=params,
        headers=headers,
        timeout=settings.API_ENTREPRISE_TIMEOUT_JSON,
        call=call,
        # A source with a document takes its download's slots now, all or nothing: a download refused after the
        # JSON answer came would make the JSON call again on the retry.
        families=("json", "documents", "ip", "ip") if call.reserve_document else ("json", "ip"),
        breaker_key=_api_entreprise_provider(path),
    )
    if response.status_code != 200:
        raise _error_for_status(response.status_code, _json_or_none(response), response.headers)
    body = _decode_json(response)
    if not isinstance(body, dict) or "data" not in body:
        raise errors.ProviderError("Réponse du fournisseur sans données.", http_status=200, code="malformed")
    return ApiResponse(http_status=200, body=body, headers=dict(response.headers))


def _api_entreprise_provider(path: str) -> str:
    """The breaker of the provider behind API Entreprise (`/v4/insee/...` → `api_entreprise:insee`): INSEE down
    for maintenance must not shut URSSAF's attestations."""
    parts = path.split("/")
    return f"api_entreprise:{parts[2]}" if len(parts) > 2 and parts[2] else "api_entreprise"


def bodacc_get(path: str, *, params: dict[str, str], call: CallContext) -> dict[str, Any]:
    """GET the BODACC open-data API (Opendatasoft Explore v2.1, no authentication)."""
    base_url = settings.BODACC_BASE_URL
    if not base_url:
        raise errors.Misconfigured("BODACC n'est pas configuré (BODACC_BASE_URL).")
    response = _send(
        provider="bodacc",
        url=base_url.rstrip("/") + path,
        params=params,
        headers={"Accept": "application/json"},
        timeout=settings.API_ENTREPRISE_TIMEOUT_JSON,
        call=call,
        # Not API Entreprise: none of its quotas. Its own family, without a limit unless one is configured
        # (`bodacc=…`), still paused by a 429 from Opendatasoft.
        families=("bodacc",),
    )
    if response.status_code != 200:
        if response.status_code == 429:
            retry_after = _retry_after_429(response.headers, _json_or_none(response))
            raise errors.RateLimited("Limite de débit BODACC atteinte.", retry_after=retry_after, http_status=429)
        if response.status_code >= 500:
            raise errors.Transient("BODACC est indisponible.", http_status=response.status_code)
        # Opendatasoft's own message (English, e.g. "ODSQL query is malformed…") stays on `body` and in the
        # audit excerpt: only our French sentence reaches people.
        raise errors.BadRequest(
            "Requête refusée par BODACC.", http_status=response.status_code, body=_json_or_none(response)
        )
    body = _decode_json(response)
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise errors.ProviderError("Réponse BODACC sans résultats.", http_status=200, code="malformed")
    return body


PDF_MAGIC = b"%PDF-"
SNIFFED_TYPES = (
    (PDF_MAGIC, "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def sniff_content_type(content: bytes) -> str | None:
    """The real type of a file from its first bytes; None when it is none of PDF, JPEG, PNG."""
    head = content[:1024].lstrip()
    for magic, content_type in SNIFFED_TYPES:
        if head.startswith(magic):
            return content_type
    return None


def download_document(
    url: str, *, kind: str, call: CallContext, valid_from=None, valid_until=None, reserved: bool = False
) -> FetchedDocument:
    """Download a `document_url` at once (links expire), check it is really a PDF or an image, hash it.

    `reserved`: its rate-limit slots were taken with the JSON call (CallContext.reserve_document): none now."""
    response = _send(
        provider="document",
        url=url,
        params={},
        headers={"Accept": "application/pdf, image/*"},
        timeout=settings.API_ENTREPRISE_TIMEOUT_DOCUMENT,
        call=call,
        families=("documents", "ip"),
        reserved=reserved,
    )
    if response.status_code != 200:
        if response.status_code >= 500:
            raise errors.Transient("Le document est momentanément indisponible.", http_status=response.status_code)
        raise errors.InvalidDocument(
            "Le lien du document n'est plus valide.",
            http_status=response.status_code,
            code="document_indisponible",
        )
    content = response.content
    if len(content) > settings.DOCUMENT_MAX_BYTES:
        raise errors.InvalidDocument("Le document dépasse la taille autorisée.", code="document_trop_volumineux")
    content_type = sniff_content_type(content)
    if content_type is None:
        raise errors.InvalidDocument(
            "Le fichier reçu n'est pas un PDF ni une image (contenu vérifié).", code="document_invalide"
        )
    return FetchedDocument(
        kind=kind,
        content=content,
        content_type=content_type,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        source_url=url.split("?", 1)[0],
        valid_from=valid_from,
        valid_until=valid_until,
    )


def with_document(result: Result, *, kind: str, call: CallContext, valid_from=None, valid_until=None) -> Result:
    """The result with the one document its answer links to (`data.document_url`, checked by the parser),
    downloaded at once (the link expires), on the slots its JSON call took when `call.reserve_document`."""
    link = DocumentLink(parsing.document_url(result.payload["data"]), valid_from=valid_from, valid_until=valid_until)
    return replace(result, documents=download_documents([link], kind=kind, call=call))


def download_documents(links: Iterable[DocumentLink], *, kind: str, call: CallContext) -> tuple[FetchedDocument, ...]:
    """Download each link once, in order: a link already downloaded (shared by several items) is skipped. The
    first goes on the slots its JSON call took when `call.reserve_document`; the others take their own."""
    documents, seen = [], set()
    for link in links:
        if link.url in seen:
            continue
        seen.add(link.url)
        documents.append(
            download_document(
                link.url,
                kind=kind,
                call=call,
                valid_from=link.valid_from,
                valid_until=link.valid_until,
                reserved=call.reserve_document and not documents,
            )
        )
    return tuple(documents)
