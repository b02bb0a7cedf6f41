"""One error hierarchy for every connector: the task decides what to do by class, never by message.

Transient errors may succeed later (retry after `retry_after` seconds when the API said so); permanent
errors will answer the same until something changes upstream; misconfiguration is ours to fix.
"""

from __future__ import annotations

from typing import Any


class ConnectorError(Exception):
    """Base of every connector failure. `http_status`, `code` and `body` come from the upstream answer.

    `body` is the decoded JSON error body as the provider sent it (None when there was none, or not JSON).
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: str = "",
        detail: str = "",
        body: Any = None,
    ):
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.detail = detail or message
        self.body = body

    @property
    def explanation(self) -> str:
        """The French sentence kept for people: ours, then the provider's own detail when it adds something."""
        message = str(self)
        return message if self.detail == message else f"{message} ({self.detail})"


class Transient(ConnectorError):
    """Upstream failed for now (502/503/504, timeout, connection reset): retry, after `retry_after` if given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RateLimited(Transient):
    """429: we went over the quota; wait `retry_after` seconds (Retry-After header) before any new call."""


class InFlight(Transient):
    """409: the very same request is already being processed upstream for our token."""


class Throttled(Transient):
    """Our own rate limiter refused the call before any HTTP (the budget of a limit family is spent, or the
    family is paused after a 429): nothing was sent nor recorded; try again in `retry_after` seconds."""

    def __init__(self, message: str = "Limite de débit atteinte : appel différé.", *, retry_after: float, **kwargs):
        super().__init__(message, retry_after=retry_after, code="throttled", **kwargs)


class ProviderDown(Transient):
    """The provider's circuit breaker is open (it failed repeatedly): refused at once, without HTTP; the
    breaker lets a trial call through in `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float, **kwargs):
        super().__init__(message, retry_after=retry_after, code="fournisseur_indisponible", **kwargs)


class StateUnavailable(Transient):
    """The shared state of the upstream calls (Redis: the rate limiter, the breakers, the coalescing lock) did not
    answer: nothing was sent upstream; try again in `retry_after` seconds."""

    def __init__(
        self,
        message: str = "Service de coordination momentanément indisponible : nouvel essai automatique.",
        *,
        retry_after: float,
        **kwargs,
    ):
        super().__init__(message, retry_after=retry_after, code="etat_partage_indisponible", **kwargs)


class PermanentError(ConnectorError):
    """The same call will get the same answer: do not retry."""


class NotFound(PermanentError):
    """404: the identifier is unknown to the provider (or outside its perimeter)."""


class NotApplicable(PermanentError):
    """The source does not apply to this entity (e.g. outside the provider's perimeter)."""


class Refused(PermanentError):
    """The provider knows the entity but withholds the data (e.g. 451, never-diffusible entity)."""


class BadRequest(PermanentError):
    """422: our parameters were refused (context/recipient/object, malformed identifier)."""


class ProviderError(PermanentError):
    """The provider answered something we cannot use: malformed body, missing keys, fake document."""


class InvalidDocument(ProviderError):
    """The document link did not lead to a real PDF or image (checked by its bytes, not its name)."""


class Unauthorized(PermanentError):
    """401/403: our token is invalid, expired or lacks the scope. A misconfiguration, not the company's fault."""


class Misconfigured(ConnectorError):
    """The integration is not configured (missing base URL or token)."""
