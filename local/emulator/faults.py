"""Injected failures: the ways Zoom (and the network in front of it) lets a client down.

    emulator.faults.inject("5xx", route="POST /phone/blocked_list", count=2, status=502)
    emulator.faults.inject("drop", rate=0.05)            # every API request, 5 % of the time (seeded RNG)

Kinds and their options:
- "5xx"               answer `status` (default 503) with a Zoom-style JSON body (`html=True`: a gateway's
                      HTML page instead); the request has no effect.
- "drop"              close the connection without an answer; the request has no effect.
- "slow"              the request takes effect, the answer comes `delay_s` seconds late (a client that
                      times out first never sees it, as over a real socket).
- "commit_then_fail"  the request takes effect, then the answer is lost: the connection drops
                      (`fail_with="drop"`, default) or a 5xx comes back (`fail_with="5xx"`, `status`).
- "429"               a rate-limit answer: `limit_type` "QPS" (default) or "Daily-limit", `retry_after`
                      form (seconds | http-date | iso | none; default as configured for that type),
                      `retry_after_s` for QPS (default 1). It does not count toward the real limits.

`route` is a templated route ("DELETE /phone/blocked_list/{id}", "POST /oauth/token"); None matches
every API request (not OAuth). Counted faults (`count`, default 1) sit in a FIFO: a request consumes the
first matching one. Probability faults (`rate`) fire on each matching request with that probability,
`count` times at most (default unlimited), and are consulted after the counted ones.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from spam_blocker.domain.rate_plan import route_of

from local.emulator.rate_limits import DAILY, QPS, RETRY_AFTER_FORMS

KINDS = ("5xx", "drop", "slow", "commit_then_fail", "429")
OAUTH_ROUTE = "POST /oauth/token"

_OPTIONS: dict[str, set[str]] = {
    "5xx": {"status", "html", "retry_after_s"},
    "drop": set(),
    "slow": {"delay_s"},
    "commit_then_fail": {"fail_with", "status", "html"},
    "429": {"limit_type", "retry_after", "retry_after_s"},
}


# WSGI environ key a host may set to a callable(seconds) that makes a "slow" answer late; without it
# the app sleeps.
DELAY_HOOK = "zoom_emulator.delay"


class ConnectionDropped(ConnectionAbortedError):
    """Raised by the WSGI app for a dropped connection.

    A ConnectionAbortedError, so wsgiref's server closes the socket without writing anything; the
    in-process transport turns it into the error httpx raises over a real socket.
    """


@dataclass
class Fault:
    kind: str
    route: str | None = None
    remaining: int | None = 1  # None = unlimited
    rate: float | None = None
    status: int = 503
    html: bool = False
    delay_s: float = 0.0
    fail_with: str = "drop"
    limit_type: str = QPS
    retry_after: str | None = None  # None = the configured default for limit_type
    retry_after_s: float | None = None
    fired: int = 0

    def matches(self, route: str) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.route is None:
            return route != OAUTH_ROUTE
        return self.route == route

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def normalise_route(route: str) -> str:
    """'post /v2/phone/blocked_list/abc' -> 'POST /phone/blocked_list/{id}'."""
    method, _, path = route.strip().partition(" ")
    if not path:
        raise ValueError(f"route must be 'METHOD /path', got {route!r}")
    if path.strip() == "/oauth/token":
        return f"{method.upper()} /oauth/token"
    return route_of(method, path.strip())[0]


def make_fault(kind: str, route: str | None = None, count: int | None = None, *, rate: float | None = None,
               **options: Any) -> Fault:
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r} (expected one of {', '.join(KINDS)})")
    unknown = set(options) - _OPTIONS[kind]
    if unknown:
        raise ValueError(f"fault {kind!r} takes no option(s) {', '.join(sorted(unknown))}")
    if rate is not None and not 0.0 < rate <= 1.0:
        raise ValueError(f"rate must be in (0, 1], got {rate}")
    if count is not None and count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    remaining = count if count is not None else (None if rate is not None else 1)
    fault = Fault(kind, normalise_route(route) if route else None, remaining, rate)
    for name, value in options.items():
        setattr(fault, name, value)
    _check(fault)
    return fault


def _check(fault: Fault) -> None:
    if fault.kind in ("5xx", "commit_then_fail") and not 500 <= int(fault.status) <= 599:
        raise ValueError(f"status must be a 5xx, got {fault.status}")
    if fault.fail_with not in ("drop", "5xx"):
        raise ValueError(f"fail_with must be 'drop' or '5xx', got {fault.fail_with!r}")
    if fault.limit_type not in (QPS, DAILY):
        raise ValueError(f"limit_type must be {QPS!r} or {DAILY!r}, got {fault.limit_type!r}")
    if fault.retry_after is not None and fault.retry_after not in RETRY_AFTER_FORMS:
        raise ValueError(f"retry_after must be one of {', '.join(RETRY_AFTER_FORMS)}")
    if fault.delay_s < 0:
        raise ValueError("delay_s must not be negative")


class Faults:
    """The emulator's pending faults; `take` is called once per request that reaches Zoom's backend."""

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._queued: list[Fault] = []
        self._random: list[Fault] = []
        self._rng = random.Random(f"faults-{seed}")

    def inject(self, kind: str, route: str | None = None, count: int | None = None, *,
               rate: float | None = None, **options: Any) -> Fault:
        fault = make_fault(kind, route, count, rate=rate, **options)
        with self._lock:
            (self._random if rate is not None else self._queued).append(fault)
        return fault

    def take(self, route: str) -> Fault | None:
        with self._lock:
            for fault in self._queued:
                if fault.matches(route):
                    return self._fire(fault)
            for fault in self._random:
                if fault.matches(route) and self._rng.random() < (fault.rate or 0.0):
                    return self._fire(fault)
            return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in [*self._queued, *self._random] if f.remaining is None or f.remaining > 0]

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()
            self._random.clear()
            self._rng = random.Random(f"faults-{self._seed}")

    def _fire(self, fault: Fault) -> Fault:
        fault.fired += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining == 0 and fault in self._queued:
                self._queued.remove(fault)
        return fault
