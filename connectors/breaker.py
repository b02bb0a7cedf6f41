"""A circuit breaker per upstream provider, shared by every worker: a provider down does not burn the quota
nor hold the workers.

closed ── `threshold` consecutive failures within `window` s ──▶ open ── `cooldown` s ──▶ half-open
   ▲                                                              ▲                           │
   └──────────── the one trial call succeeds ◀────────────────────┴── the trial call fails ◀──┘

While open, calls are refused at once (`ProviderDown`, no HTTP). Half-open lets one trial call through (a lease of
`trial_timeout` s: a worker killed during its trial does not leave the provider shut); the others are refused
until it answers. A failure is what says the provider is down (a timeout, a connection error, a 5xx); an answer,
even a 4xx, says it is up.

State: a small JSON document per provider in Redis (optimistic transaction, WATCH/MULTI) or in a file under
`flock` (the embedded default, shared by the processes of one host); a Redis error is raised as
`errors.StateUnavailable` (redis_state). The clock is the caller's (injected in tests).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from . import errors, redis_state
from .ratelimit import locked_json

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

State = dict[str, Any]


class Store(Protocol):
    def read(self, provider: str) -> State: ...

    def update(self, provider: str, change: Callable[[State], Any]) -> Any: ...

    def clear(self) -> None: ...


class FileStore:
    def __init__(self, folder: Path):
        self.path = Path(folder) / "breaker.json"

    def read(self, provider: str) -> State:
        try:
            return dict(json.loads(self.path.read_text() or "{}").get(provider, {}))
        except (FileNotFoundError, ValueError):
            return {}

    def update(self, provider: str, change: Callable[[State], Any]) -> Any:
        with locked_json(self.path) as states:
            state = states.setdefault(provider, {})
            return change(state)

    def clear(self) -> None:
        with locked_json(self.path) as states:
            states.clear()


class RedisStore:
    def __init__(self, url: str, *, prefix: str):
        self.redis = redis_state.redis_client(url)
        self.prefix = f"{{{prefix}}}:breaker:"

    def read(self, provider: str) -> State:
        with redis_state.unavailable_as_transient():
            raw = self.redis.get(self.prefix + provider)
        return json.loads(raw) if raw else {}

    def update(self, provider: str, change: Callable[[State], Any]) -> Any:
        import redis

        key = self.prefix + provider
        with redis_state.unavailable_as_transient(), self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    state = json.loads(raw) if raw else {}
                    result = change(state)
                    pipe.multi()
                    pipe.set(key, json.dumps(state), ex=7 * 24 * 3600)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def clear(self) -> None:
        redis_state.clear(self.redis, self.prefix)


class CircuitBreaker:
    def __init__(
        self,
        *,
        store: Store,
        threshold: int,
        window: float,
        cooldown: float,
        trial_timeout: float,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.threshold = threshold
        self.window = window
        self.cooldown = cooldown
        self.trial_timeout = trial_timeout
        self.clock = clock

    def state(self, provider: str) -> str:
        return self.store.read(provider).get("state", CLOSED)

    def before_call(self, provider: str) -> bool:
        """Let the call through (True when it is the half-open trial) or raise ProviderDown, with no HTTP."""
        if self.store.read(provider).get("state", CLOSED) == CLOSED:
            return False  # the common case, without a write
        now = self.clock()

        def decide(state: State) -> float | bool:
            status = state.get("state", CLOSED)
            if status == OPEN and now < state["open_until"]:
                return state["open_until"] - now
            if status == HALF_OPEN and now < state["trial_until"]:
                return state["trial_until"] - now
            if status == CLOSED:
                return False
            # Open and cooled down, or a trial whose caller never answered: this call is the trial.
            state.update(state=HALF_OPEN, trial_until=now + self.trial_timeout)
            return True

        decision = self.store.update(provider, decide)
        if decision is True or decision is False:
            return decision
        raise errors.ProviderDown(
            "Le fournisseur de données est indisponible : nouvel essai automatique plus tard.", retry_after=decision
        )

    def release_trial(self, provider: str) -> None:
        """The trial call was not made after all (throttled): let the next caller try at once."""

        def release(state: State) -> None:
            if state.get("state") == HALF_OPEN:
                state["trial_until"] = 0.0

        self.store.update(provider, release)

    def record_success(self, provider: str) -> None:
        state = self.store.read(provider)
        if state.get("state", CLOSED) == CLOSED and not state.get("failures"):
            return  # nothing to forget, no write

        def close(state: State) -> None:
            state.clear()
            state["state"] = CLOSED

        self.store.update(provider, close)

    def record_failure(self, provider: str) -> None:
        now = self.clock()

        def fail(state: State) -> None:
            status = state.get("state", CLOSED)
            if status == HALF_OPEN:
                state.update(state=OPEN, open_until=now + self.cooldown, failures=0)
                return
            if status == OPEN:
                return  # a call started before the breaker opened
            if not state.get("failures") or now - state["first_failure_at"] > self.window:
                state.update(failures=0, first_failure_at=now)
            state["failures"] += 1
            if state["failures"] >= self.threshold:
                state.update(state=OPEN, open_until=now + self.cooldown, failures=0)

        self.store.update(provider, fail)
