"""The shared rate limiter (ports.RateLimiter) in the RateLimit table: one item per account and category.

    limit_key      S   '<account>#<category>'  ('acct-1#Light')
    version        N   bumped by every write; every write is conditional on the version read
    grants         L   recent grant times (N, µs since the epoch), ascending: the sliding log
    day, day_count S,N the GMT date and how many permits were granted on it
    blocked_until  N   µs: a 429 penalty, no permit for anyone before this
    blocked_type   S   QPS | Daily-limit
    boost_us, boost_at N,N  window widening after a per-second 429 (µs) and when it was set (µs)
    ttl            N   epoch seconds: an idle row ages out after a few days

`acquire` applies `rate_window.decide` to the state and writes the result with one conditional PutItem
(with `wait_up_to_s`, a full window yields a reservation: a permit at the time one frees, `send_at`).
Each instance caches the last state it saw per category: a cached state can only *under*-count (grants
and penalties only add up), so a denial computed from it is final and costs no DynamoDB call, and a
grant computed from it is tried directly as a conditional write. A lost race returns the current item
(ReturnValuesOnConditionCheckFailure=ALL_OLD), and the decision is made again on it. Every lost race is
someone else's successful write, so in a frozen window an instance loses at most `capacity` races:
`max_rounds` exceeds that, and the thread test can demand exactly the allowance.

A caller that may wait has its permit recorded a little ahead (the lead: about this instance's slow
write latency, p90 of its last writes, at most `LEAD_CAP_S`) and waits for it (`send_at`): the write's own
round trip then no longer eats into the margin, and permits are not left unused on a slow store.

`foresee` is that cached refusal on its own, for a caller that would write something before asking
(the blocker's claim). A grant whose write returned after its own `send_by` (grant time + margin + boost)
is left unused: its request could reach Zoom beside the next window's. It stays counted; the caller asks
again at once (metric PermitsUnusedLate).

DynamoDB errors become the store's errors in `adapters/dynamo_errors.py`: a failed condition is a
conflict (handled here, with the item DynamoDB returned), throttling and 5xx unavailable (the caller
retries later).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from spam_blocker.adapters.dynamo_errors import translated
from spam_blocker.adapters.tables import TTL_ATTRIBUTE
from spam_blocker.clock import Clock
from spam_blocker.domain.rate_window import (
    QPS,
    RateGrant,
    WindowLimits,
    WindowState,
    decide,
    in_window,
    penalize,
)
from spam_blocker.observability import logger, metrics
from spam_blocker.ports import StoreConflict, StoreUnavailable

IDLE_TTL = timedelta(days=3)
CONTENTION_RETRY = timedelta(milliseconds=20)
LEAD_CAP_S = 0.1
LATENCY_SAMPLES = 16



class _Conflict(StoreConflict):
    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("the rate-limit item moved meanwhile")
        self.item = item


def _translate(key: str):
    return translated(f"rate limit {key}", on_conflict=lambda exc: _Conflict(exc.response.get("Item")))


class DynamoRateLimiter:
    def __init__(self, client: Any, table_name: str, *, account: str, limits: Mapping[str, WindowLimits],
                 max_rounds: int | None = None, clock: Clock | None = None) -> None:
        if not account:
            raise ValueError("the limiter needs the Zoom account it counts for")
        self._client = client
        self.table_name = table_name
        self.account = account
        self.limits = dict(limits)
        self._max_rounds = max_rounds or max(25, max(w.capacity for w in self.limits.values()) + 5)
        self._clock = clock  # when given, a lost race decides again at the time it is retried
        self._cache: dict[str, WindowState] = {}
        self._lock = threading.Lock()
        self._write_latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)  # seconds, by the injected clock

    def key(self, category: str) -> str:
        return f"{self.account}#{category}"

    # --- ports.RateLimiter ---------------------------------------------------------------------------

    def acquire(self, category: str, now: datetime, *, wait_up_to_s: float = 0.0) -> RateGrant:
        limits = self._limits(category)
        state = self._cached(category)
        lead = self.lead_s(wait_up_to_s)
        for _ in range(self._max_rounds):
            if self._clock is not None:
                now = max(now, self._clock.now())
            grant, new_state = decide(state, now + timedelta(seconds=lead), limits, wait_up_to_s=wait_up_to_s - lead)
            if new_state is None:
                return grant
            try:
                self._write(category, state, new_state, now)
            except _Conflict as conflict:
                state = self._adopt(category, conflict.item)
                continue
            late = self._clock.now() if self._clock is not None else None
            if late is not None and grant.send_by is not None and late > grant.send_by:
                logger.info("permit left unused: granted too long ago", extra={
                    "category": category, "late_ms": round((late - now).total_seconds() * 1000, 1)})
                metrics.add_metric(name="PermitsUnusedLate", unit="Count", value=1)
                return RateGrant(False, late, QPS)  # ask again at once: a fresh permit is good
            return grant
        return RateGrant(False, now + CONTENTION_RETRY, QPS)

    def foresee(self, category: str, now: datetime, *, wait_up_to_s: float = 0.0) -> RateGrant | None:
        """The cached state's refusal (final, as the cache only under-counts), or None: no DynamoDB call.
        A caller that would otherwise write before asking (the blocker's claim) skips that write."""
        grant, _ = decide(self._cached(category), now, self._limits(category), wait_up_to_s=wait_up_to_s)
        return None if grant.granted else grant

    def penalize(self, category: str, until: datetime, limit_type: str) -> None:
        limits = self._limits(category)
        state = self._cached(category)
        for _ in range(self._max_rounds):
            new_state = penalize(state, until, limit_type, limits)
            if new_state is None:
                return
            try:
                self._write(category, state, new_state, until)
                return
            except _Conflict as conflict:
                state = self._adopt(category, conflict.item)
        raise StoreUnavailable(f"rate limit {self.key(category)}: penalty not recorded (contention)")

    def lead_s(self, wait_up_to_s: float) -> float:
        """How far ahead of now a permit is recorded for a caller that may wait this long."""
        with self._lock:
            samples = sorted(self._write_latencies)
        if not samples or wait_up_to_s <= 0:
            return 0.0
        slow = samples[min(len(samples) - 1, int(len(samples) * 0.9))]
        return max(0.0, min(slow, LEAD_CAP_S, wait_up_to_s))

    # --- inspection ----------------------------------------------------------------------------------

    def state(self, category: str) -> WindowState:
        """The stored state, read now (consistent)."""
        with _translate(self.key(category)):
            item = self._client.get_item(TableName=self.table_name, Key={"limit_key": {"S": self.key(category)}},
                                         ConsistentRead=True).get("Item")
        return _from_item(item) if item else WindowState()

    def stats(self, category: str, now: datetime) -> dict[str, Any]:
        state = self.state(category)
        limits = self._limits(category)
        return {"in_window": in_window(state, now, limits), "capacity": limits.capacity,
                "day_count": state.day_count, "blocked_until": state.blocked_until}

    # --- machinery -----------------------------------------------------------------------------------

    def _limits(self, category: str) -> WindowLimits:
        try:
            return self.limits[category]
        except KeyError:
            raise ValueError(f"no rate limits configured for category {category!r}") from None

    def _cached(self, category: str) -> WindowState:
        with self._lock:
            return self._cache.get(category, WindowState())

    def _adopt(self, category: str, item: dict[str, Any] | None) -> WindowState:
        state = _from_item(item) if item else self.state(category)
        self._remember(category, state)
        return state

    def _remember(self, category: str, state: WindowState) -> None:
        with self._lock:
            known = self._cache.get(category)
            if known is None or state.version >= known.version:
                self._cache[category] = state

    def _write(self, category: str, old: WindowState, new: WindowState, now: datetime) -> None:
        written = replace(new, version=old.version + 1)
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "Item": _to_item(self.key(category), written, now),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if old.version == 0:
            kwargs["ConditionExpression"] = "attribute_not_exists(limit_key)"
        else:
            kwargs["ConditionExpression"] = "version = :v"
            kwargs["ExpressionAttributeValues"] = {":v": {"N": str(old.version)}}
        started = self._clock.now() if self._clock is not None else None
        try:
            with _translate(self.key(category)):
                self._client.put_item(**kwargs)
        finally:
            if started is not None:
                with self._lock:
                    self._write_latencies.append((self._clock.now() - started).total_seconds())
        self._remember(category, written)


def _to_item(key: str, state: WindowState, now: datetime) -> dict[str, Any]:
    item: dict[str, Any] = {
        "limit_key": {"S": key},
        "version": {"N": str(state.version)},
        "grants": {"L": [{"N": str(g)} for g in state.grants]},
        "day": {"S": state.day},
        "day_count": {"N": str(state.day_count)},
        TTL_ATTRIBUTE: {"N": str(int((now + IDLE_TTL).timestamp()))},
    }
    if state.blocked_until is not None:
        item["blocked_until"] = {"N": str(state.blocked_until)}
        item["blocked_type"] = {"S": state.blocked_type or ""}
    if state.boost_at is not None:
        item["boost_us"] = {"N": str(state.boost_us)}
        item["boost_at"] = {"N": str(state.boost_at)}
    return item


def _from_item(item: dict[str, Any]) -> WindowState:
    blocked = item.get("blocked_until")
    return WindowState(
        grants=tuple(int(g["N"]) for g in item.get("grants", {}).get("L", [])),
        day=item.get("day", {}).get("S", ""),
        day_count=int(item.get("day_count", {}).get("N", "0")),
        blocked_until=int(blocked["N"]) if blocked else None,
        blocked_type=item.get("blocked_type", {}).get("S") or None,
        boost_us=int(item.get("boost_us", {}).get("N", "0")),
        boost_at=int(item["boost_at"]["N"]) if "boost_at" in item else None,
        version=int(item.get("version", {}).get("N", "0")),
    )
