"""Reading a 429 (pure): in which category, which kind of limit, and exactly when to try again.

`Retry-After` is read in every form Zoom (or a proxy in front of it) has been seen to send:

    "2", "0.25", "+3"                       delta seconds, int or float
    "Wed, 21 Oct 2026 07:28:00 GMT"         HTTP date (RFC 9110; RFC 850 and asctime forms too)
    "2026-11-21T00:00:00Z", "...+01:00"     ISO-8601 timestamp of the reset; a naive one is UTC

Fallbacks, when the header is missing or unreadable:

    QPS          now + 1 s + jitter in [0, 0.5 s) drawn from the injected random (spreads the herd)
    Daily-limit  the next 00:00 GMT, when Zoom resets daily counters

Clamping of absurd values (a garbage header must never park the account for a year):

    in the past / negative   -> now
    QPS                      -> at most now + 60 s. A per-second window frees within a second; a longer
                                 answer is treated as a misreport. The worst case is one more 429,
                                 which carries a fresh Retry-After.
    Daily-limit              -> at most the next 00:00 GMT + 1 h (slack for a reset Zoom reports late).

The limit type comes from `X-RateLimit-Type`, else from the body's message ("daily" in it), else QPS;
the category from `X-RateLimit-Category` (Light | Medium | Heavy, any case), else from the route.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.utils import parsedate_to_datetime

QPS = "QPS"
DAILY = "Daily-limit"

QPS_FALLBACK = timedelta(seconds=1)
QPS_JITTER_S = 0.5
MAX_QPS_WAIT = timedelta(seconds=60)
DAILY_SLACK = timedelta(hours=1)

_CATEGORIES = {"light": "Light", "medium": "Medium", "heavy": "Heavy"}
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
_default_rng = random.Random()


@dataclass(frozen=True)
class RateLimit:
    category: str  # Light | Medium | Heavy
    limit_type: str  # QPS | Daily-limit
    retry_at: datetime  # aware, UTC


def read_rate_limit(headers: Mapping[str, str], message: str | None, *, route_category: str,
                    now: datetime, rng: random.Random | None = None) -> RateLimit:
    """Everything a caller needs from a 429: category, limit type and the absolute retry time."""
    limit_type = limit_type_of(header(headers, "X-RateLimit-Type"), message)
    category = category_of(header(headers, "X-RateLimit-Category"), route_category)
    retry_at = parse_retry_after(header(headers, "Retry-After"), now=now, limit_type=limit_type, rng=rng)
    return RateLimit(category=category, limit_type=limit_type, retry_at=retry_at)


def parse_retry_after(value: str | None, *, now: datetime, limit_type: str = QPS,
                      rng: random.Random | None = None) -> datetime:
    """`Retry-After` (any form above) -> an absolute, aware UTC time, clamped; never raises."""
    now = _utc(now)
    upper = next_daily_reset(now) + DAILY_SLACK if limit_type == DAILY else now + MAX_QPS_WAIT
    at = read_retry_after(value, now=now, upper=upper)
    return at if at is not None else fallback_retry_at(now, limit_type=limit_type, rng=rng)


def read_retry_after(value: str | None, *, now: datetime, upper: datetime) -> datetime | None:
    """A readable `Retry-After` -> an absolute UTC time within [now, upper]; missing or garbage -> None."""
    now = _utc(now)
    text = (value or "").strip()
    if not text:
        return None
    if _NUMBER.match(text):
        seconds = float(text)  # '1e999' is inf: clamped below like any other large value
        if seconds <= 0:
            return now
        return min(now + timedelta(seconds=min(seconds, (upper - now).total_seconds())), upper)
    at = _parse_timestamp(text)
    return None if at is None else min(max(at, now), upper)


def fallback_retry_at(now: datetime, *, limit_type: str = QPS, rng: random.Random | None = None) -> datetime:
    """No usable Retry-After: daily -> the next 00:00 GMT; QPS -> now + 1 s + jitter in [0, 0.5 s)."""
    now = _utc(now)
    if limit_type == DAILY:
        return next_daily_reset(now)
    jitter = (rng or _default_rng).random() * QPS_JITTER_S
    return now + QPS_FALLBACK + timedelta(seconds=jitter)


def next_daily_reset(now: datetime) -> datetime:
    """The first 00:00 GMT strictly after `now`."""
    now = _utc(now)
    return datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=UTC)


def limit_type_of(header_value: str | None, message: str | None) -> str:
    """`X-RateLimit-Type` first ('QPS' | 'Daily-limit', any case), then the body's message, else QPS."""
    for text in (header_value, message):
        lowered = (text or "").lower()
        if "daily" in lowered or "per day" in lowered:
            return DAILY
        if "qps" in lowered or "per-second" in lowered or "per second" in lowered:
            return QPS
    return QPS


def category_of(header_value: str | None, route_category: str) -> str:
    """`X-RateLimit-Category` when it names one of ours (any case), else the route's category."""
    return _CATEGORIES.get((header_value or "").strip().lower(), route_category)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """First value of a header, matched case-insensitively (a dict or httpx.Headers)."""
    multi = getattr(headers, "multi_items", None)
    items: Iterable[tuple[str, str]] = multi() if callable(multi) else headers.items()
    wanted = name.lower()
    for key, value in items:
        if isinstance(key, str) and key.lower() == wanted:
            return value if isinstance(value, str) else None
    return None


def _parse_timestamp(text: str) -> datetime | None:
    try:
        if _ISO_START.match(text):
            parsed = datetime.fromisoformat(text)
        else:
            parsed = parsedate_to_datetime(text)
        if parsed is None:
            return None
        return _utc(parsed)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


__all__ = [
    "DAILY", "DAILY_SLACK", "MAX_QPS_WAIT", "QPS", "QPS_FALLBACK", "QPS_JITTER_S", "RateLimit",
    "category_of", "fallback_retry_at", "header", "limit_type_of", "next_daily_reset",
    "parse_retry_after", "read_rate_limit", "read_retry_after",
]
