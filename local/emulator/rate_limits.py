"""Zoom's per-account rate limits: per second per category, and per day for Heavy.

Readings chosen where Zoom is vague (the strictest plausible, so a client that stays under them here
stays under them at Zoom):
- Per second is a sliding window of the injected clock: a request is refused when `limit` requests of
  its category were accepted in the last second, i.e. in (now - 1 s, now]. A fixed per-second bucket
  would allow up to twice the limit across a boundary; this never does. Refused (429) requests do not
  count, and neither do 401s (no account to charge).
- The daily limit applies to Heavy requests, counted per GMT day; it resets at 00:00 GMT. It is checked
  before the per-second limit, so an exhausted day answers `Daily-limit`.
- Headers on every API answer: Light and Medium report the per-second limit (`X-RateLimit-Type: QPS`,
  remaining in the current window); Heavy reports the daily limit (`Daily-limit`, remaining today),
  except on a per-second 429, which reports QPS.
- `Retry-After` on a 429: whole seconds until the window frees for QPS (at least 1), the ISO-8601 time
  of the next 00:00 GMT for daily. Either form is configurable (seconds, HTTP date, ISO-8601, none).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.utils import format_datetime
from typing import Literal

from spam_blocker.domain.rate_plan import CATEGORIES, PlanLimits

from local.emulator.messages import ApiError

QPS = "QPS"
DAILY = "Daily-limit"
WINDOW = timedelta(seconds=1)

RetryAfterForm = Literal["seconds", "http-date", "iso", "none"]
RETRY_AFTER_FORMS: tuple[str, ...] = ("seconds", "http-date", "iso", "none")
DEFAULT_RETRY_AFTER: dict[str, str] = {QPS: "seconds", DAILY: "iso"}

MESSAGES = {
    QPS: "You have reached the maximum per-second rate limit for this API. Try again later.",
    DAILY: "You have reached the maximum daily rate limit for this API. Try again later.",
}


@dataclass(frozen=True)
class Rejection:
    category: str
    limit_type: str  # QPS | Daily-limit
    limit: int
    retry_at: datetime


def next_gmt_midnight(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)


def format_retry_after(form: str, retry_at: datetime, now: datetime) -> str | None:
    """Retry-After in one of the forms Zoom (or a proxy) has been seen to send; None = omit it."""
    if form == "none":
        return None
    if form == "seconds":
        return str(max(1, math.ceil((retry_at - now).total_seconds())))
    # Both absolute forms have whole-second resolution: round up so waiting until then is enough.
    whole = retry_at.astimezone(UTC)
    if whole.microsecond:
        whole = whole.replace(microsecond=0) + timedelta(seconds=1)
    if form == "http-date":
        return format_datetime(whole, usegmt=True)
    if form == "iso":
        return whole.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise ValueError(f"unknown Retry-After form {form!r} (expected one of {', '.join(RETRY_AFTER_FORMS)})")


def too_many_requests(rejection: Rejection, now: datetime, form: str) -> ApiError:
    headers = rate_limit_headers(rejection.category, rejection.limit_type, rejection.limit, 0)
    retry_after = format_retry_after(form, rejection.retry_at, now)
    if retry_after is not None:
        headers.append(("Retry-After", retry_after))
    return ApiError(429, 429, MESSAGES[rejection.limit_type], headers=headers)


def rate_limit_headers(category: str, limit_type: str, limit: int, remaining: int) -> list[tuple[str, str]]:
    return [
        ("X-RateLimit-Category", category),
        ("X-RateLimit-Type", limit_type),
        ("X-RateLimit-Limit", str(limit)),
        ("X-RateLimit-Remaining", str(max(0, remaining))),
    ]


class RateLimiter:
    def __init__(self, limits: PlanLimits) -> None:
        self.limits = limits
        self._window: dict[str, deque[datetime]] = {c: deque() for c in CATEGORIES}
        self._day: dict[str, tuple[object, int]] = {}  # category -> (GMT date, accepted count)

    def check(self, category: str, now: datetime) -> Rejection | None:
        """Whether a request of `category` at `now` would be refused; does not count it."""
        daily = self.limits.daily_limit(category)
        if daily is not None and self._today(category, now) >= daily:
            return Rejection(category, DAILY, daily, next_gmt_midnight(now))
        limit = self.limits.qps(category)
        recent = self._recent(category, now)
        if len(recent) >= limit:
            # The window frees when enough of the oldest accepted requests fall out of it.
            return Rejection(category, QPS, limit, recent[len(recent) - limit] + WINDOW)
        return None

    def record(self, category: str, now: datetime) -> None:
        self._window[category].append(now)
        if self.limits.daily_limit(category) is not None:
            self._day[category] = (now.astimezone(UTC).date(), self._today(category, now) + 1)

    def headers(self, category: str, now: datetime) -> list[tuple[str, str]]:
        daily = self.limits.daily_limit(category)
        if daily is not None:
            return rate_limit_headers(category, DAILY, daily, daily - self._today(category, now))
        limit = self.limits.qps(category)
        return rate_limit_headers(category, QPS, limit, limit - len(self._recent(category, now)))

    def reset(self) -> None:
        for window in self._window.values():
            window.clear()
        self._day.clear()

    def _recent(self, category: str, now: datetime) -> list[datetime]:
        window = self._window[category]
        while window and window[0] <= now - WINDOW:
            window.popleft()
        # A clock set backwards leaves "future" timestamps behind; they are not in (now - 1 s, now].
        return sorted(t for t in window if t <= now)

    def _today(self, category: str, now: datetime) -> int:
        day, count = self._day.get(category, (None, 0))
        return count if day == now.astimezone(UTC).date() else 0
