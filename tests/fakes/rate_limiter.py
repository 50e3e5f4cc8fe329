"""In-memory rate limiter: the same `rate_window` maths as DynamoRateLimiter, state shared through a
`LimiterBackend` (one per "account table"), so several limiter instances act like several Lambda
containers. Proven by tests/contract/test_rate_limiter_contract.py.

`deny_next(category, grant)` scripts refusals for service tests; `granted[category]` counts permits.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from spam_blocker.domain.rate_plan import PLANS
from spam_blocker.domain.rate_window import (
    RateGrant,
    WindowLimits,
    WindowState,
    decide,
    in_window,
    limits_for_plan,
    penalize,
)


class LimiterBackend:
    def __init__(self) -> None:
        self.states: dict[str, WindowState] = {}
        self.lock = threading.Lock()


class InMemoryRateLimiter:
    def __init__(self, *, account: str = "acct-1", limits: Mapping[str, WindowLimits] | None = None,
                 backend: LimiterBackend | None = None) -> None:
        self.account = account
        self.limits = dict(limits or limits_for_plan(PLANS["pro"]))
        self.backend = backend or LimiterBackend()
        self.granted: dict[str, int] = {}
        self.denied: dict[str, int] = {}
        self.penalties: list[tuple[str, datetime, str]] = []
        self._scripted: dict[str, list[RateGrant]] = {}

    def key(self, category: str) -> str:
        return f"{self.account}#{category}"

    def acquire(self, category: str, now: datetime, *, wait_up_to_s: float = 0.0) -> RateGrant:
        limits = self._limits(category)
        with self.backend.lock:
            scripted = self._scripted.get(category)
            if scripted:
                grant = scripted.pop(0)
            else:
                state = self.backend.states.get(self.key(category), WindowState())
                grant, new_state = decide(state, now, limits, wait_up_to_s=wait_up_to_s)
                if new_state is not None:
                    self.backend.states[self.key(category)] = new_state
            counts = self.granted if grant.granted else self.denied
            counts[category] = counts.get(category, 0) + 1
            return grant

    def foresee(self, category: str, now: datetime, *, wait_up_to_s: float = 0.0) -> RateGrant | None:
        if self._scripted.get(category):
            return None  # a scripted refusal is for acquire
        grant, _ = decide(self.state(category), now, self._limits(category), wait_up_to_s=wait_up_to_s)
        return None if grant.granted else grant

    def penalize(self, category: str, until: datetime, limit_type: str) -> None:
        limits = self._limits(category)
        with self.backend.lock:
            self.penalties.append((category, until, limit_type))
            state = self.backend.states.get(self.key(category), WindowState())
            new_state = penalize(state, until, limit_type, limits)
            if new_state is not None:
                self.backend.states[self.key(category)] = new_state

    def state(self, category: str) -> WindowState:
        with self.backend.lock:
            return self.backend.states.get(self.key(category), WindowState())

    def stats(self, category: str, now: datetime) -> dict[str, Any]:
        state = self.state(category)
        limits = self._limits(category)
        return {"in_window": in_window(state, now, limits), "capacity": limits.capacity,
                "day_count": state.day_count, "blocked_until": state.blocked_until}

    def deny_next(self, category: str, grant: RateGrant, times: int = 1) -> None:
        with self.backend.lock:
            self._scripted.setdefault(category, []).extend([grant] * times)

    def _limits(self, category: str) -> WindowLimits:
        try:
            return self.limits[category]
        except KeyError:
            raise ValueError(f"no rate limits configured for category {category!r}") from None
