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

A caller that may wait (`wait_up_to_s`, the blocker's pacing) is granted that future time instead of a
refusal: a reservation, recorded in the log at the time it frees (`send_at`), so the next caller counts
it and reserves the time after. Without reservations every waiting instance would wake when the same
permit frees and race for it: one write wins and the others fail their condition (at 16 instances
about six failed writes per permit, a thundering herd). Reservations reach at most the pacing wait
(250 ms) ahead, so a 429 penalty recorded meanwhile can meet at most that much already reserved.

Repeated per-second 429s mean our requests reach Zoom less evenly than the margin allows for (jitter,
another app of the account, a counting we did not guess). So they widen the window for everyone: the
first 429 (a burst within one second counts once) only arms the widening, as one stalled request can
cause it; each further one within `boost_decay_s` grows `boost` by `boost_step_s` (at most `boost_max_s`),
and the boost fades linearly to nothing over `boost_decay_s`.

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
    boost_step_s: float = 0.05
    boost_max_s: float = 0.0  # 0: a 429 never widens the window
    boost_decay_s: float = 300.0

    def __post_init__(self) -> None:
        if (self.per_second < 1 or self.reserve < 0 or self.margin_s < 0 or self.window_s <= 0
                or self.boost_step_s < 0 or self.boost_max_s < 0 or self.boost_decay_s <= 0):
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
                    boost_max_s: float = 0.0) -> dict[str, WindowLimits]:
    """Per category: the plan's per-second limit (and daily limit where Zoom has one), our margins."""
    if not 0.0 <= reserve_fraction < 1.0:
        raise ValueError("reserve_fraction must be in [0, 1)")
    return {
        category: WindowLimits(per_second=qps, daily=plan.daily_limit(category), margin_s=margin_s,
                               reserve=math.floor(qps * reserve_fraction), boost_max_s=boost_max_s)
        for category, qps in plan.per_second.items()
    }


@dataclass(frozen=True)
class RateGrant:
    """ports.Grant: granted, or when to ask again and why not."""

    granted: bool
    retry_at: datetime | None = None
    reason: str = OK  # ok | qps | daily | penalty
    # A granted permit is good until then: its request must leave before (the margin, and any boost, is
    # all the lateness the window allows for between a grant's recorded time and its request at Zoom).
    send_by: datetime | None = None
    # The grant's recorded time: its request must not leave before (a reservation's is in the future).
    send_at: datetime | None = None


@dataclass(frozen=True)
class WindowState:
    grants: tuple[int, ...] = ()  # recent grant times (µs), ascending
    day: str = ""  # the GMT date `day_count` counts
    day_count: int = 0
    blocked_until: int | None = None  # µs: no permit before this (a 429's Retry-After)
    blocked_type: str | None = None  # "QPS" | "Daily-limit"
    boost_us: int = 0  # window widening after a per-second 429, as of `boost_at`
    boost_at: int | None = None  # µs
    version: int = 0  # the storage's optimistic-lock version (not changed here)


def boost_at_time(state: WindowState, t: int, limits: WindowLimits) -> int:
    """The widening still in force at `t` (µs): fades linearly over `boost_decay_s`."""
    if not state.boost_us or state.boost_at is None:
        return 0
    left = 1.0 - max(0, t - state.boost_at) / (limits.boost_decay_s * US)
    return max(0, round(state.boost_us * left))


def decide(state: WindowState, now: datetime, limits: WindowLimits, *,
           wait_up_to_s: float = 0.0) -> tuple[RateGrant, WindowState | None]:
    """Grant a permit at `now` (and the state to store), or say when to ask again (nothing to store).
    When the window is full but a permit frees within `wait_up_to_s`, that permit is granted (reserved)
    at the time it frees, never for a penalty or the daily limit.

    The log is kept monotonic: a caller whose `now` is older than the newest grant (a reservation, or its
    clock runs behind) is judged and recorded at the newest grant's time, as judging it at its own older
    time would count against a log already pruned by the later writer: an over-grant. Its request must
    then wait for that time (`send_at`), so it is granted only if it may wait that long.
    """
    now_us = micros(now)
    t = max(now_us, state.grants[-1] if state.grants else 0)
    if state.blocked_until is not None and t < state.blocked_until:
        reason = DAILY if state.blocked_type == DAILY_LIMIT_TYPE else PENALTY
        return RateGrant(False, from_micros(state.blocked_until), reason), None
    today = now.astimezone(UTC).date().isoformat()
    day_count = state.day_count if state.day == today else 0
    if limits.daily is not None and day_count >= limits.daily:
        return RateGrant(False, next_reset(now), DAILY), None
    span = limits.span_us + boost_at_time(state, t, limits)
    recent = [g for g in state.grants if g > t - span]
    budget_us = max(0, round(wait_up_to_s * US))
    if len(recent) >= limits.capacity:
        frees_at = max(recent[len(recent) - limits.capacity] + span, t + 1)
        if frees_at - now_us > budget_us:
            return RateGrant(False, from_micros(frees_at), QPS), None
        # Reserved: at `frees_at` the window holds the `capacity - 1` grants after the freed one (a boost
        # only fades, so the span there is no wider), and every grant in the log is earlier.
        t = frees_at
        recent = [g for g in recent if g > t - span]
    elif t - now_us > budget_us:  # not full, but only from a later time than this caller may wait for
        return RateGrant(False, from_micros(t), QPS), None
    recent.append(t)
    recent.sort()
    granted = replace(state, grants=tuple(recent), day=today, day_count=day_count + 1,
                      blocked_until=None, blocked_type=None)  # any penalty has passed
    return RateGrant(True, None, OK, send_by=from_micros(t + _lateness_us(granted, t, limits)),
                     send_at=from_micros(t)), granted


def _lateness_us(state: WindowState, granted_at: int, limits: WindowLimits) -> int:
    return limits.span_us + boost_at_time(state, granted_at, limits) - round(limits.window_s * US)


def penalize(state: WindowState, until: datetime, limit_type: str,
             limits: WindowLimits | None = None) -> WindowState | None:
    """Refuse every permit until `until` (and, for a per-second 429 with `limits`, widen the window);
    None when an existing penalty already lasts as long."""
    u = micros(until)
    if state.blocked_until is not None and state.blocked_until >= u:
        return None
    penalized = replace(state, blocked_until=u, blocked_type=limit_type)
    if limits is None or limit_type == DAILY_LIMIT_TYPE or not limits.boost_max_s:
        return penalized
    if state.boost_at is not None and u - state.boost_at < US:  # the same burst of 429s: counted once
        return penalized
    armed = state.boost_at is not None and u - state.boost_at < round(limits.boost_decay_s * US)
    if not armed:  # a lone 429 (a stalled request, a burst of another app) only arms the widening
        return replace(penalized, boost_us=0, boost_at=u)
    current = boost_at_time(state, u, limits)
    boost = min(current + round(limits.boost_step_s * US), round(limits.boost_max_s * US))
    return replace(penalized, boost_us=boost, boost_at=u)


def in_window(state: WindowState, now: datetime, limits: WindowLimits) -> int:
    """How many grants the last `span` (widened by any boost) holds at `now` (for stats and tests)."""
    t = micros(now)
    span = limits.span_us + boost_at_time(state, t, limits)
    return sum(1 for g in state.grants if t - span < g <= t)
