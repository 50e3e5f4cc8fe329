"""Permits: one from the shared limiter before every Zoom request, for one handler invocation.

- Once a category is refused, later requests in the same invocation get the same refusal until its
  `retry_at` without asking the limiter again: the rest of the batch is deferred, not attempted in vain.
- Optional pacing: when the window is merely full (reason "qps") and a permit frees within
  `max_wait_s`, the limiter reserves it (`send_at`) and this waits for it (with the injected `sleep`)
  instead of deferring the message. Never for a penalty (a 429) or the daily allowance. Off by default
  (`max_wait_s=0`); what was waited is measured (`waited_s`, `waits`) for a metric.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from spam_blocker.clock import Clock
from spam_blocker.domain.rate_window import QPS, RateGrant
from spam_blocker.ports import RateLimiter

MAX_PACING_ROUNDS = 4


class Permits:
    def __init__(self, limiter: RateLimiter, clock: Clock, *, max_wait_s: float = 0.0,
                 sleep: Callable[[float], None] | None = None) -> None:
        if max_wait_s > 0 and sleep is None:
            raise ValueError("pacing needs an injected sleep")
        self._limiter = limiter
        self._clock = clock
        self._max_wait_s = max_wait_s
        self._sleep = sleep
        self._refused: dict[str, RateGrant] = {}
        self._lock = threading.Lock()
        self.waited_s = 0.0
        self.waits = 0
        self.taken = 0

    def take(self, category: str) -> RateGrant:
        budget = self._max_wait_s if self._sleep is not None else 0.0
        rounds = 0
        while True:
            now = self._clock.now()
            grant = self._remembered(category, now) or self._limiter.acquire(category, now, wait_up_to_s=budget)
            if grant.granted:
                self._wait_until_sendable(grant)
                with self._lock:
                    self.taken += 1
                return grant
            wait = self._pacing_wait(grant, now, budget)
            rounds += 1
            if wait is None or rounds > MAX_PACING_ROUNDS:
                with self._lock:
                    self._refused[category] = grant
                return grant
            self._sleep(wait)
            budget -= wait
            with self._lock:
                self.waited_s += wait
                self.waits += 1

    def refused(self, category: str) -> RateGrant | None:
        """The refusal this invocation already got for `category`, while it lasts (no limiter call)."""
        return self._remembered(category, self._clock.now())

    def foreseen(self, category: str) -> RateGrant | None:
        """A refusal known without asking the shared limiter: this invocation's, or one certain from what
        the limiter last saw; None when `take` may grant (or would pace through the wait)."""
        now = self._clock.now()
        known = self._remembered(category, now)
        if known is not None:
            return known
        grant = self._limiter.foresee(category, now, wait_up_to_s=self._max_wait_s if self._sleep else 0.0)
        if grant is None or self._pacing_wait(grant, now, self._max_wait_s) is not None:
            return None  # take() may grant, or will wait for it
        with self._lock:
            self._refused[category] = grant
        return grant

    def _wait_until_sendable(self, grant: RateGrant) -> None:
        """A reserved permit (or one recorded at a later writer's time) is used from its `send_at` on."""
        send_at = grant.send_at
        if send_at is None or self._sleep is None:
            return
        wait = (send_at - self._clock.now()).total_seconds()
        if wait > 0:
            self._sleep(wait)
            with self._lock:
                self.waited_s += wait
                self.waits += 1

    def _pacing_wait(self, refusal: RateGrant, now: datetime, budget: float) -> float | None:
        """How long to wait for a permit instead of giving up, or None: pacing is only for a full window
        (never a penalty or the daily allowance) and within `budget`."""
        if refusal.reason != QPS or refusal.retry_at is None or self._sleep is None:
            return None
        wait = (refusal.retry_at - now).total_seconds()
        return max(wait, 0.0) if wait <= budget else None

    def penalize(self, category: str, until: datetime, limit_type: str) -> None:
        """Zoom answered 429: no instance asks for `category` before `until` (this one neither)."""
        self._limiter.penalize(category, until, limit_type)
        reason = "daily" if limit_type.lower().startswith("daily") else "penalty"
        with self._lock:
            self._refused[category] = RateGrant(False, until, reason)

    def _remembered(self, category: str, now: datetime) -> RateGrant | None:
        with self._lock:
            refused = self._refused.get(category)
            if refused is not None and refused.retry_at is not None and now < refused.retry_at:
                return refused
            self._refused.pop(category, None)
            return None
