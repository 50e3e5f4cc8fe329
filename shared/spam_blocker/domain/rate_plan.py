"""Zoom's rate limits as values: per account and category, per second and per day (REFERENCE.md).

Which category each request falls in is decided here, once, for the client, the limiter and the emulator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Category = Literal["Light", "Medium", "Heavy"]
CATEGORIES: tuple[Category, ...] = ("Light", "Medium", "Heavy")


@dataclass(frozen=True)
class PlanLimits:
    name: str
    per_second: dict[str, int]
    daily: int  # Heavy (and resource-intensive) requests per day; resets 00:00 GMT

    def qps(self, category: str) -> int:
        return self.per_second[category]

    def daily_limit(self, category: str) -> int | None:
        return self.daily if category == "Heavy" else None


PLANS: dict[str, PlanLimits] = {
    "pro": PlanLimits("pro", {"Light": 20, "Medium": 10, "Heavy": 5}, 15_000),
    "business": PlanLimits("business", {"Light": 40, "Medium": 20, "Heavy": 10}, 30_000),
}


def plan_limits(name: str) -> PlanLimits:
    try:
        return PLANS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown Zoom plan {name!r} (expected one of {', '.join(PLANS)})") from None


_ROUTES: list[tuple[str, re.Pattern[str], str, Category]] = [
    ("GET", re.compile(r"^/phone/blocked_list/?$"), "/phone/blocked_list", "Medium"),
    ("POST", re.compile(r"^/phone/blocked_list/?$"), "/phone/blocked_list", "Light"),
    ("GET", re.compile(r"^/phone/blocked_list/[^/]+$"), "/phone/blocked_list/{id}", "Light"),
    ("PATCH", re.compile(r"^/phone/blocked_list/[^/]+$"), "/phone/blocked_list/{id}", "Light"),
    ("DELETE", re.compile(r"^/phone/blocked_list/[^/]+$"), "/phone/blocked_list/{id}", "Light"),
    ("GET", re.compile(r"^/phone/call_logs/?$"), "/phone/call_logs", "Heavy"),
    ("GET", re.compile(r"^/phone/call_history/?$"), "/phone/call_history", "Heavy"),
]


def route_of(method: str, path: str) -> tuple[str, Category]:
    """('DELETE', '/v2/phone/blocked_list/abc') -> ('DELETE /phone/blocked_list/{id}', 'Light').

    Paths may carry the '/v2' base; unknown routes are 'Light' and keep their literal path.
    """
    bare = path.split("?", 1)[0]
    if bare.startswith("/v2/"):
        bare = bare[3:]
    method = method.upper()
    for m, pattern, template, category in _ROUTES:
        if m == method and pattern.match(bare):
            return f"{method} {template}", category
    return f"{method} {bare}", "Light"
