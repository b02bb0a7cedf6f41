"""The rate limiter of the upstream calls, shared by every worker on every machine.

API Entreprise allows so many calls per period for each limit *family* (per token: `json`, `documents`; per IP:
`ip`) and bans an IP for 12 hours when a client ignores its 429s: the limiter must never let more than the limit
through in any window, across every process.

Algorithm: a sliding-window log per family key (the times of the calls granted in the last period). A call is
granted when fewer than `calls` were granted in the last `period` seconds; otherwise the answer is the time until
the oldest one that matters leaves the window. Chosen over GCRA / a token bucket on purpose: a bucket of `calls`
tokens refilled at `calls/period` lets up to `2·calls − 1` calls through in one period (a full bucket, then the
refill), which an upstream counting per window answers with 429s; a GCRA without burst never does, but paces one
dossier's dozen calls one every `period/calls` seconds. The log lets a dossier's calls go at once and still never
exceeds `calls` in any window of `period` seconds (memory: at most `calls` timestamps per key).

A family can also be *paused* until a time (a 429's `Retry-After`, or `RateLimit-Remaining: 0` until
`RateLimit-Reset`), and corrected when the upstream says fewer calls remain than we think (calls made with the
same token elsewhere): phantom calls are logged so that they leave the window when the upstream's resets.

`acquire` never waits: it answers 0 (go, the call is counted) or the seconds to wait (nothing counted); the
caller reschedules itself. A call under several families (a JSON call counts for `json` and for `ip`) is granted
under all of them or none, atomically; a family named twice costs two calls (a JSON call taking its document's
slots with it: `json`, `documents`, `ip` twice).

Backends: Redis (one Lua script per operation, atomic, the clock of the Redis server shared by every machine), or
without Redis a JSON state file guarded by `fcntl.flock`, shared by the processes of one host (the embedded
default). A Redis error is raised as `errors.StateUnavailable` (redis_state).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured

from . import redis_state

logger = logging.getLogger(__name__)

# Families counted per token (the others, e.g. `ip`, are shared by every token of the deployment).
TOKEN_FAMILIES = frozenset({"json", "documents"})
# A `RateLimit-Reset` above this is a Unix time (API Entreprise, the sandbox), below it a number of seconds.
UNIX_TIME_THRESHOLD = 1_000_000_000
# Never believe a reset further than this (seconds): a broken header must not stop the calls for days.
MAX_RESET_SECONDS = 3600.0

_SPEC_ITEM = re.compile(r"\s*([a-z_]+)\s*=\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*")


@dataclass(frozen=True)
class Limit:
    calls: int
    period: float  # seconds


def parse_limits(spec: str, *, setting: str = "API_ENTREPRISE_RATE_LIMITS") -> dict[str, Limit]:
    """`json=250/60s,documents=50/60s,ip=1000/60s` → {family: Limit}; ImproperlyConfigured naming `setting`."""
    limits: dict[str, Limit] = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        found = _SPEC_ITEM.fullmatch(item)
        if not found:
            raise ImproperlyConfigured(
                f"{setting}: {item.strip()!r} is not '<family>=<calls>/<seconds>s' (e.g. json=250/60s)."
            )
        family, calls, period = found.group(1), int(found.group(2)), float(found.group(3))
        if calls < 1 or period <= 0:
            raise ImproperlyConfigured(f"{setting}: {item.strip()!r} must allow at least one call per period.")
        if family in limits:
            raise ImproperlyConfigured(f"{setting}: the family {family!r} is given twice.")
        limits[family] = Limit(calls, period)
    return limits


# --- The arithmetic (pure, clock injected) ---------------------------------------------------------------------


def window_prune(log: list[float], limit: Limit, now: float) -> list[float]:
    """The calls still in the window `(now − period, now]`, oldest first."""
    return sorted(t for t in log if t > now - limit.period)


def window_wait(log: list[float], limit: Limit, now: float, *, cost: int = 1) -> float:
    """Seconds until `cost` more calls fit (0: now). `log` is pruned and sorted. A cost above the limit counts as
    the whole limit (it would never fit)."""
    cost = min(cost, limit.calls)
    if len(log) + cost <= limit.calls:
        return 0.0
    # The call whose leaving the window leaves room for `cost` more.
    return max(0.0, log[len(log) - limit.calls + cost - 1] + limit.period - now)


def window_phantoms(log: list[float], limit: Limit, now: float, *, remaining: int, reset_in: float) -> list[float]:
    """The phantom calls to log so that no more than `remaining` are granted before `reset_in` seconds.

    Each is dated so that it leaves the window when the upstream's counter resets (`now + reset_in`), or after a
    full period when that reset is further away than one.
    """
    free = limit.calls - len(log)
    extra = min(free - max(0, remaining), limit.calls)
    if extra <= 0:
        return []
    return [min(now, now + reset_in - limit.period)] * extra


# --- Backends ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One family key to acquire `cost` times: `limit` None for a family without a configured limit (only its
    pause counts)."""

    key: str
    limit: Limit | None
    cost: int = 1


class Backend(Protocol):
    def acquire(self, slots: list[Slot]) -> float: ...

    def pause(self, key: str, seconds: float) -> None: ...

    def correct(self, key: str, limit: Limit, *, remaining: int, reset_in: float) -> None: ...

    def clear(self) -> None: ...


@contextlib.contextmanager
def locked_json(path: Path) -> Iterator[dict[str, Any]]:
    """Read, let the caller change, and write back a JSON state file under an exclusive `flock`.

    The lock is taken on a sibling `.lock` file (the state file is replaced atomically, so its inode changes).
    A state file that cannot be read (a crash mid-write of an older version) starts over, with a warning.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                state = json.loads(path.read_text() or "{}")
            except FileNotFoundError:
                state = {}
            except ValueError:
                logger.warning("Unreadable state file %s: starting over", path)
                state = {}
            yield state
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(state, separators=(",", ":")))
            os.replace(temporary, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class FileBackend:
    """State in `<folder>/limiter.json` (`{"log": {key: [times]}, "pause": {key: until}}`), one host."""

    def __init__(self, folder: Path, *, clock: Callable[[], float] = time.time):
        self.path = Path(folder) / "limiter.json"
        self.clock = clock

    def acquire(self, slots: list[Slot]) -> float:
        with locked_json(self.path) as state:
            now = self.clock()
            logs, pauses = state.setdefault("log", {}), state.setdefault("pause", {})
            wait = 0.0
            for slot in slots:
                wait = max(wait, pauses.get(slot.key, 0.0) - now)
                if slot.limit is not None:
                    logs[slot.key] = window_prune(logs.get(slot.key, []), slot.limit, now)
                    wait = max(wait, window_wait(logs[slot.key], slot.limit, now, cost=slot.cost))
            if wait > 0:
                return wait
            for slot in slots:
                if slot.limit is not None:
                    logs[slot.key] += [now] * min(slot.cost, slot.limit.calls)
            return 0.0

    def pause(self, key: str, seconds: float) -> None:
        with locked_json(self.path) as state:
            pauses = state.setdefault("pause", {})
            pauses[key] = max(pauses.get(key, 0.0), self.clock() + seconds)

    def correct(self, key: str, limit: Limit, *, remaining: int, reset_in: float) -> None:
        with locked_json(self.path) as state:
            now = self.clock()
            logs = state.setdefault("log", {})
            log = window_prune(logs.get(key, []), limit, now)
            logs[key] = sorted(log + window_phantoms(log, limit, now, remaining=remaining, reset_in=reset_in))

    def clear(self) -> None:
        with locked_json(self.path) as state:
            state.clear()


# KEYS: (log, pause) per slot. ARGV: now ('' = the Redis server's clock), a unique member, then (calls, period,
# cost) per slot (calls 0 = no limit, the pause only). Returns the wait in seconds as a string (a Lua number would be
# truncated to an integer), '0' when granted.
ACQUIRE_SCRIPT = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local n = #KEYS / 2
local wait = 0
for i = 1, n do
  local log, pause = KEYS[2 * i - 1], KEYS[2 * i]
  local calls, period = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local cost = math.min(tonumber(ARGV[3 * i + 2]), calls)
  local paused = tonumber(redis.call('GET', pause) or '0')
  if paused > now then wait = math.max(wait, paused - now) end
  if calls > 0 then
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - period)
    local count = redis.call('ZCARD', log)
    if count + cost > calls then
      local index = count - calls + cost - 1
      local entry = redis.call('ZRANGE', log, index, index, 'WITHSCORES')
      wait = math.max(wait, tonumber(entry[2]) + period - now)
    end
  end
end
if wait > 0 then return tostring(wait) end
for i = 1, n do
  local calls, period = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  for j = 1, math.min(tonumber(ARGV[3 * i + 2]), calls) do
    redis.call('ZADD', KEYS[2 * i - 1], now, ARGV[2] .. ':' .. i .. ':' .. j)
  end
  if calls > 0 then
    redis.call('PEXPIRE', KEYS[2 * i - 1], math.ceil(period * 1000) + 1000)
  end
end
return '0'
"""

# KEYS: pause. ARGV: now, seconds. The pause only ever moves later.
PAUSE_SCRIPT = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local seconds = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + seconds > current then
  redis.call('SET', KEYS[1], tostring(now + seconds), 'PX', math.ceil(seconds * 1000) + 1000)
end
return 1
"""

# KEYS: log. ARGV: now, member, calls, period, remaining, reset_in. Same rule as `window_phantoms`.
CORRECT_SCRIPT = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local calls, period = tonumber(ARGV[3]), tonumber(ARGV[4])
local remaining, reset_in = math.max(0, tonumber(ARGV[5])), tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
local extra = math.min(calls - redis.call('ZCARD', KEYS[1]) - remaining, calls)
if extra <= 0 then return 0 end
local score = math.min(now, now + reset_in - period)
for j = 1, extra do redis.call('ZADD', KEYS[1], score, ARGV[2] .. ':' .. j) end
redis.call('PEXPIRE', KEYS[1], math.ceil(period * 1000) + 1000)
return extra
"""


class RedisBackend:
    """State in Redis, shared by every machine; `clock` None = the Redis server's clock (tests inject one)."""

    def __init__(self, url: str, *, prefix: str, clock: Callable[[], float] | None = None):
        self.redis = redis_state.redis_client(url)
        # One hash tag: the keys of one script are in the same slot of a Redis Cluster.
        self.prefix = f"{{{prefix}}}:rl:"
        self.clock = clock
        self._acquire = self.redis.register_script(ACQUIRE_SCRIPT)
        self._pause = self.redis.register_script(PAUSE_SCRIPT)
        self._correct = self.redis.register_script(CORRECT_SCRIPT)

    def _now(self) -> str:
        return "" if self.clock is None else repr(self.clock())

    def acquire(self, slots: list[Slot]) -> float:
        keys, args = [], [self._now(), uuid.uuid4().hex]
        for slot in slots:
            keys += [f"{self.prefix}log:{slot.key}", f"{self.prefix}pause:{slot.key}"]
            args += [slot.limit.calls, slot.limit.period, slot.cost] if slot.limit else [0, 0, 0]
        with redis_state.unavailable_as_transient():
            return float(self._acquire(keys=keys, args=args))

    def pause(self, key: str, seconds: float) -> None:
        with redis_state.unavailable_as_transient():
            self._pause(keys=[f"{self.prefix}pause:{key}"], args=[self._now(), seconds])

    def correct(self, key: str, limit: Limit, *, remaining: int, reset_in: float) -> None:
        args = [self._now(), uuid.uuid4().hex, limit.calls, limit.period, remaining, reset_in]
        with redis_state.unavailable_as_transient():
            self._correct(keys=[f"{self.prefix}log:{key}"], args=args)

    def clear(self) -> None:
        redis_state.clear(self.redis, self.prefix)


# --- The limiter -------------------------------------------------------------------------------------------------


class RateLimiter:
    """The families of one token over a backend. Families without a configured limit only honour pauses."""

    def __init__(self, *, limits: Mapping[str, Limit], backend: Backend, token: str):
        self.limits = dict(limits)
        self.backend = backend
        self.token_digest = hashlib.sha256(token.encode()).hexdigest()[:16]

    def key(self, family: str) -> str:
        return f"{self.token_digest}:{family}" if family in TOKEN_FAMILIES else family

    def acquire(self, *families: str) -> float:
        """0: go, the call is counted under every family (twice under a family named twice); else the seconds to
        wait, nothing counted."""
        costs = Counter(families)
        return self.backend.acquire(
            [Slot(self.key(family), self.limits.get(family), costs[family]) for family in costs]
        )

    def pause(self, family: str, seconds: float) -> None:
        """Refuse the family's calls for `seconds`, never more than MAX_RESET_SECONDS (a broken `Retry-After`)."""
        if seconds > 0:  # False for NaN too
            self.backend.pause(self.key(family), min(seconds, MAX_RESET_SECONDS))

    def observe(self, family: str, headers: Mapping[str, str], *, now: float | None = None) -> None:
        """Correct the family from an answer's `RateLimit-Remaining` / `RateLimit-Reset` (case-insensitive
        mapping): none left → paused until the reset; fewer left than we think → phantom calls until the reset."""
        remaining = _int_or_none(headers.get("RateLimit-Remaining"))
        reset_in = reset_seconds(headers.get("RateLimit-Reset"), now=time.time() if now is None else now)
        if remaining is None or reset_in is None or reset_in <= 0:
            return
        if remaining <= 0:
            self.pause(family, reset_in)
        elif family in self.limits:
            self.backend.correct(self.key(family), self.limits[family], remaining=remaining, reset_in=reset_in)


def reset_seconds(value: str | None, *, now: float) -> float | None:
    """`RateLimit-Reset` in seconds from now: a Unix time (API Entreprise) or a delay (IETF draft)."""
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    if number is None or math.isnan(number):
        return None
    seconds = number - now if number > UNIX_TIME_THRESHOLD else number
    return min(seconds, MAX_RESET_SECONDS)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
