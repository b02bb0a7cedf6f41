"""Run-time state shared by the request threads: injected faults, latency rules, rate limits, the call log."""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("status", "timeout", "malformed", "html_document")
DEFAULT_RATE_LIMITS = "json=250/60s,documents=50/60s"


class InvalidControl(ValueError):
    """A fault, latency rule or rate limit that cannot be understood (HTTP 400 on the control API)."""


def _compile(pattern: Any) -> re.Pattern:
    if not isinstance(pattern, str):
        raise InvalidControl("'path' must be a regular expression (a string)")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidControl(f"'path' is not a valid regular expression: {exc}") from exc


def _number(spec: dict, name: str, default: float | None) -> float | None:
    value = spec.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidControl(f"'{name}' must be a non-negative number")
    return value


@dataclass
class Fault:
    id: int
    path: re.Pattern
    kind: str
    status: int = 502
    times: int | None = 1  # None: every call
    retry_after: float | None = None  # Retry-After header (429)
    retry_in: float | None = None  # meta.retry_in of the error body
    delay: float = 6.0  # seconds slept by a `timeout` fault
    body: Any = None  # replaces the error body of a `status` fault

    @classmethod
    def from_spec(cls, fault_id: int, spec: dict) -> Fault:
        if not isinstance(spec, dict):
            raise InvalidControl("a fault is a JSON object")
        kind = spec.get("kind", "status")
        if kind not in FAULT_KINDS:
            raise InvalidControl(f"'kind' must be one of {', '.join(FAULT_KINDS)}")
        status = spec.get("status", 502)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise InvalidControl("'status' must be an HTTP status code")
        times = spec.get("times", 1)
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise InvalidControl("'times' must be a positive integer or null (every call)")
        return cls(
            id=fault_id,
            path=_compile(spec.get("path", ".*")),
            kind=kind,
            status=status,
            times=times,
            retry_after=_number(spec, "retry_after", None),
            retry_in=_number(spec, "retry_in", None),
            delay=_number(spec, "delay", 6.0),
            body=spec.get("body"),
        )

    def describe(self) -> dict:
        return {
            "id": self.id,
            "path": self.path.pattern,
            "kind": self.kind,
            "status": self.status,
            "times": self.times,
            "retry_after": self.retry_after,
            "retry_in": self.retry_in,
            "delay": self.delay,
        }


@dataclass
class LatencyRule:
    id: int
    path: re.Pattern
    ms: float

    def describe(self) -> dict:
        return {"id": self.id, "path": self.path.pattern, "ms": self.ms}


def parse_rate_limits(spec: str | dict) -> dict[str, tuple[int, float]]:
    """'json=250/60s,documents=50/60s' (or {"json": "250/60s"} or {"json": (250, 60)}) -> {family: (n, s)}."""
    items = dict(part.split("=", 1) for part in spec.split(",") if part.strip()) if isinstance(spec, str) else spec
    limits = {}
    for family, value in items.items():
        if isinstance(value, (tuple, list)):
            limits[family.strip()] = (int(value[0]), float(value[1]))
            continue
        found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*", str(value))
        if not found:
            raise InvalidControl(f"rate limit {family}={value!r}: expected '<calls>/<seconds>s'")
        limits[family.strip()] = (int(found.group(1)), float(found.group(2)))
    return limits


@dataclass
class RateDecision:
    limit: int
    remaining: int
    reset: int  # unix time of the window end
    allowed: bool
    retry_after: int

    def headers(self) -> list[tuple[str, str]]:
        return [
            ("RateLimit-Limit", str(self.limit)),
            ("RateLimit-Remaining", str(self.remaining)),
            ("RateLimit-Reset", str(self.reset)),
        ]


@dataclass
class Controls:
    rate_limits: dict[str, tuple[int, float]]
    faults: list[Fault] = field(default_factory=list)
    latency_rules: list[LatencyRule] = field(default_factory=list)
    calls: deque = field(default_factory=lambda: deque(maxlen=10_000))
    _windows: dict = field(default_factory=dict)  # (token, family) -> [window start, count]
    _next_id: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # Faults -----------------------------------------------------------------------------------------
    def add_fault(self, spec: dict) -> Fault:
        with self._lock:
            fault = Fault.from_spec(self._next_id, spec)
            self._next_id += 1
            self.faults.append(fault)
            return fault

    def take_fault(self, path: str, kinds: tuple[str, ...]) -> Fault | None:
        """The first registered fault for this path (and kind of endpoint); one use of it is consumed."""
        with self._lock:
            for fault in self.faults:
                if fault.kind in kinds and fault.path.search(path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()
            self.latency_rules.clear()

    # Latency ----------------------------------------------------------------------------------------
    def add_latency(self, spec: dict) -> LatencyRule:
        if not isinstance(spec, dict):
            raise InvalidControl("a latency rule is a JSON object")
        ms = _number(spec, "ms", None)
        if ms is None:
            raise InvalidControl("'ms' is required")
        with self._lock:
            rule = LatencyRule(self._next_id, _compile(spec.get("path", ".*")), ms)
            self._next_id += 1
            self.latency_rules.append(rule)
            return rule

    def extra_latency_ms(self, path: str) -> float:
        with self._lock:
            return sum(rule.ms for rule in self.latency_rules if rule.path.search(path))

    def clear_latency(self) -> None:
        with self._lock:
            self.latency_rules.clear()

    # Rate limits ------------------------------------------------------------------------------------
    def hit(self, token: str, family: str, now: float) -> RateDecision | None:
        """Count one call of `token` in `family` (fixed 60 s-style window opened by its first call)."""
        if family not in self.rate_limits:
            return None
        limit, period = self.rate_limits[family]
        with self._lock:
            window = self._windows.get((token, family))
            if window is None or now >= window[0] + period:
                window = self._windows[(token, family)] = [now, 0]
            window[1] += 1
            count, reset = window[1], window[0] + period
        return RateDecision(
            limit=limit,
            remaining=max(0, limit - count),
            reset=math.ceil(reset),
            allowed=count <= limit,
            retry_after=max(1, math.ceil(reset - now)),
        )

    def reset_rate_limits(self) -> None:
        with self._lock:
            self._windows.clear()

    # Call log ---------------------------------------------------------------------------------------
    def record(self, call: dict) -> None:
        with self._lock:
            self.calls.append(call)

    def list_calls(self) -> list[dict]:
        with self._lock:
            return list(self.calls)

    def clear_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def describe(self) -> dict:
        with self._lock:
            return {
                "faults": [fault.describe() for fault in self.faults],
                "latency": [rule.describe() for rule in self.latency_rules],
                "rate_limits": {family: f"{n}/{s:g}s" for family, (n, s) in self.rate_limits.items()},
            }
