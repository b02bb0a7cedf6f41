"""The cache of upstream answers shared by every candidature: the stored answers themselves.

Thousands of companies answer tenders the same week, often the same company to many tenders. An answer a
candidature got for a source and an identifier (the SIRET, or the SIREN for a SIREN-keyed source) serves the
next candidatures while it is fresh, with no upstream call:

- the freshness of a source's answer is its registry `freshness` (`expires_at` below): a day for identity,
  turnover, filings and BODACC; for attestations and certifications, until the certificate's end of validity,
  API Entreprise's own refresh of attestations at 8 a.m., or a day, whichever comes first;
- what is served: an answer (`ok`, or `refused` when the provider withholds) and the permanent answers that
  cost a call too (`not_found`, `not_applicable`, 451). Never an error, never `unauthorized`: the habilitation
  of the buyer organisation is checked before the cache, on every attempt;
- a refresh asked by someone (`SourceFetch.bypass_cache`) bypasses the cache and sends `Cache-Control: no-cache`;
- one call at a time per source and identifier (`upstream_lock`): a task finding the call under way elsewhere
  reschedules itself (`COALESCING_RETRY_DELAY`) without counting an attempt, and finds the answer in the
  cache on its next run (API Entreprise answers 409 to a duplicate in flight).

The lock is redis-py's lock (`SET NX PX` with a token, shared by every machine, released by its holder only,
expiring after LOCK_TTL if its holder dies) when REDIS_URL is set; otherwise an `flock` on a file under
UPSTREAM_STATE_DIR/locks, shared by the processes of the host (the embedded default runs on one host), released by
the system if the process dies. Redis not answering raises `errors.StateUnavailable` (retried by the task).
"""

from __future__ import annotations

import fcntl
import logging
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from connectors import errors, redis_state
from connectors.registry import Freshness

logger = logging.getLogger(__name__)

MAX_AGE = timedelta(days=1)
# API Entreprise keeps an attestation it delivered until 8 a.m. (Paris time) the next morning.
PROVIDER_REFRESH_TIME = time(8, 0)
# A task finding the same call under way elsewhere comes back after this (seconds): the call takes about that.
COALESCING_RETRY_DELAY = 0.5
# A lock outlives a worker killed mid-call (Redis) by this much at most (seconds).
LOCK_TTL = 60.0
# Files under UPSTREAM_STATE_DIR/locks: the keys are spread over this many, so the folder never grows.
FILE_LOCK_STRIPES = 1024


def expires_at(*, freshness: Freshness, fetched_at: datetime, valid_until: date | None = None) -> datetime:
    """Until when an answer fetched at `fetched_at` may serve other candidatures.

    `valid_until` is the end of validity of the answer's certificate (its last day, included), when it has one.
    A certificate already expired when it was fetched is what the provider has: it does not shorten the rule.
    """
    if freshness is Freshness.DAY:
        return fetched_at + MAX_AGE
    local = timezone.localtime(fetched_at)
    refresh = timezone.make_aware(datetime.combine(local.date(), PROVIDER_REFRESH_TIME), local.tzinfo)
    if refresh <= local:
        refresh = timezone.make_aware(
            datetime.combine(local.date() + timedelta(days=1), PROVIDER_REFRESH_TIME), local.tzinfo
        )
    limits = [fetched_at + MAX_AGE, refresh]
    if valid_until is not None and valid_until >= local.date():
        limits.append(timezone.make_aware(datetime.combine(valid_until + timedelta(days=1), time()), local.tzinfo))
    return min(limits)


def is_fresh(*, freshness: Freshness, fetched_at: datetime, valid_until: date | None = None, now: datetime) -> bool:
    return fetched_at <= now < expires_at(freshness=freshness, fetched_at=fetched_at, valid_until=valid_until)


def coalescing_key(*, source: str, identifier: str) -> str:
    return f"passemarche:upstream-call:{source}:{identifier}"


@contextmanager
def upstream_lock(key: str | None) -> Iterator[bool]:
    """Hold the call of `key` for the time of the block: yields False when another process holds it.

    `key` None (nothing will be called): yields True without locking anything.
    """
    if key is None:
        yield True
        return
    lock = redis_lock(key, url=settings.REDIS_URL) if settings.REDIS_URL else FileLock(key)
    with redis_state.unavailable_as_transient():
        acquired = lock.acquire()
    if not acquired:
        yield False
        return
    try:
        yield True
    finally:
        try:
            with redis_state.unavailable_as_transient():
                lock.release()
        except errors.StateUnavailable:
            # Redis gone, or the lock expired and another holder took it: the work of the block is done (or
            # failed on its own), and a lock left behind expires by itself.
            logger.warning("Releasing the upstream lock %s failed", key, exc_info=True)


def redis_lock(key: str, *, url: str, ttl: float = LOCK_TTL):
    """redis-py's lock, not waiting: a token per holder, released by it only, expiring after `ttl` seconds."""
    return redis_state.redis_client(url).lock(key, timeout=ttl, blocking=False)


class FileLock:
    """`flock` on one of FILE_LOCK_STRIPES files under UPSTREAM_STATE_DIR/locks (this run's, not another's): the
    processes of one host, no expiry needed (the system releases it with the process). Two keys sharing a file
    only wait for each other."""

    def __init__(self, key: str, *, folder: Path | None = None):
        stripe = zlib.crc32(key.encode()) % FILE_LOCK_STRIPES
        self.path = (folder or Path(settings.UPSTREAM_STATE_DIR) / "locks") / f"upstream-{stripe:04d}.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
