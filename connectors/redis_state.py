"""The Redis of the state shared by every machine (the rate limiter, the circuit breakers, the coalescing lock of
candidatures.answer_cache): one client per URL with timeouts, and what a Redis failure becomes.

Redis down must not hang a worker (connect and read timeouts) nor lose a fetch: every Redis error is raised as
`errors.StateUnavailable`, a transient error the fetch task retries like an upstream outage.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from . import errors

if TYPE_CHECKING:
    import redis

# Seconds to connect to Redis and to wait for an answer: a Redis gone away fails the call, it does not hang it.
REDIS_TIMEOUT = 2.0
# A task that found Redis down comes back after this (seconds), before its backoff grows.
RETRY_AFTER = 5.0


@functools.cache
def redis_client(url: str) -> redis.Redis:
    """One client per URL and process (redis-py's pool drops the connections of a parent after a fork)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)


@contextmanager
def unavailable_as_transient() -> Iterator[None]:
    """Raise any Redis error of the block as `errors.StateUnavailable` (retried by the task)."""
    import redis

    try:
        yield
    except redis.RedisError as exc:
        raise errors.StateUnavailable(retry_after=RETRY_AFTER) from exc  # the cause stays chained, for the logs


def clear(client: redis.Redis, prefix: str) -> None:
    """Delete every key under `prefix` (tests; an operator after an incident)."""
    with unavailable_as_transient():
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            client.delete(key)
