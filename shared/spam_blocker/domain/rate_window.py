"""Grant-or-wait maths for Zoom's rate limits (pure: state and `now` in, decision and new state out).

Zoom counts per account and category, per second and (Heavy) per day; how it counts a second is
undocumented, and the project's emulator uses a sliding one-second window. So the limiter keeps a
sliding log of recent grant times and grants a permit only when fewer than `capacity` grants fall in
the last `span` seconds:

    span      = window (1 s) + margin      the margin absorbs clock skew between instances and the jitter
                                          between a grant and the request reaching Zoom
    capacity  = limit - reserve           `reserve` permits/s are left to the account's other apps

Any `span`-long interval then holds at most `capacity` grants, so Zoom's window (shorter than `span`)
sees at most `limit` of our requests. When the log is full the answer is the exact time a permit frees:
the grant `capacity` places back, plus `span`. The daily count resets at 00:00 GMT. A 429 from Zoom
becomes a penalty (`blocked_until`) that refuses every permit of the category until then.

Times are integer microseconds since the epoch, so a state round-trips through DynamoDB exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

from spam_blocker.domain.rate_plan import PlanLimits

US = 1_000_000
OK, QPS, DAILY, PENALTY = "ok", "qps", "daily", "penalty"
DAILY_LIMIT_TYPE = "Daily-limit"


def micros(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return math.floor(when.timestamp() * US)


def from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / US, tz=UTC)


def next_reset(now: datetime) -> datetime:
    """The first 00:00 GMT strictly after `now` (Zoom's daily counters reset then)."""
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)


@dataclass(frozen=True)
class WindowLimits:
    per_second: int
    daily: int | None = None
    window_s: float = 1.0
    margin_s: float = 0.0
    reserve: int = 0

    def __post_init__(self) -> None:
        if self.per_second < 1 or self.reserve < 0 or self.margin_s < 0 or self.window_s <= 0:
            raise ValueError(f"invalid window limits: {self}")
        if self.daily is not None and self.daily < 1:
            raise ValueError("a daily limit must be positive")

    @property
    def capacity(self) -> int:
        return max(1, self.per_second - self.reserve)

    @property
    def span_us(self) -> int:
        return round((self.window_s + self.margin_s) * US)


def limits_for_plan(plan: PlanLimits, *, margin_s: float = 0.0, reserve_fraction: float = 0.0,
                    ) -> dict[str, WindowLimits]:
    """Per category: the plan's per-second limit (and daily limit where Zoom has one), our margins."""
    if not 0.0 <= reserve_fraction < 1.0:
        raise ValueError("reserve_fraction must be in [0, 1)")
    return {
        category: WindowLimits(per_second=qps, daily=plan.daily_limit(category), margin_s=margin_s,
                               reserve=math.floor(qps * reserve_fraction))
        for category, qps in plan.per_second.items()
    }


@dataclass(frozen=True)
class RateGrant:
    """ports.Grant: granted, or when to ask again and why not."""

    granted: bool
    retry_at: datetime | None = None
    reason: str = OK  # ok | qps | daily | penalty


@dataclass(frozen=True)
class WindowState:
    grants: tuple[int, ...] = ()  # recent grant times (µs), ascending
    day: str = ""  # the GMT date `day_count` counts
    day_count: int = 0
    blocked_until: int | None = None  # µs: no permit before this (a 429's Retry-After)
    blocked_type: str | None = None  # "QPS" | "Daily-limit"
    version: int = 0  # the storage's optimistic-lock version (not changed here)


def decide(state: WindowState, now: datetime, limits: WindowLimits) -> tuple[RateGrant, WindowState | None]:
    """Grant a permit at `now` (and the state to store), or say when to ask again (nothing to store)."""
    t = micros(now)
    if state.blocked_until is not None and t < state.blocked_until:
        reason = DAILY if state.blocked_type == DAILY_LIMIT_TYPE else PENALTY
        return RateGrant(False, from_micros(state.blocked_until), reason), None
    today = now.astimezone(UTC).date().isoformat()
    day_count = state.day_count if state.day == today else 0
    if limits.daily is not None and day_count >= limits.daily:
        return RateGrant(False, next_reset(now), DAILY), None
    recent = [g for g in state.grants if g > t - limits.span_us]
    if len(recent) >= limits.capacity:
        frees_at = recent[len(recent) - limits.capacity] + limits.span_us
        return RateGrant(False, from_micros(max(frees_at, t + 1)), QPS), None
    recent.append(t)
    recent.sort()
    granted = replace(state, grants=tuple(recent), day=today, day_count=day_count + 1,
                      blocked_until=None, blocked_type=None)  # any penalty has passed
    return RateGrant(True, None, OK), granted


def penalize(state: WindowState, until: datetime, limit_type: str) -> WindowState | None:
    """Refuse every permit until `until`; None when an existing penalty already lasts as long."""
    u = micros(until)
    if state.blocked_until is not None and state.blocked_until >= u:
        return None
    return replace(state, blocked_until=u, blocked_type=limit_type)


def in_window(state: WindowState, now: datetime, limits: WindowLimits) -> int:
    """How many grants the last `span` holds at `now` (for stats and tests)."""
    t = micros(now)
    return sum(1 for g in state.grants if t - limits.span_us < g <= t)
