"""Payloads of the scheduled and ops-invoked functions (expirer, reconciler, backfill): the small parts they
share. A payload that cannot be read raises InvalidInvocation, whose name the ops CLI maps to exit 2.

    {"now": "2026-11-20T14:00:00Z"}            EventBridge Scheduler's <aws.scheduler.scheduled-time>, or
                                               the local runner's --expire-at: the run's business time
    {"dry_run": true}                          report what would be done, change nothing
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from spam_blocker.clock import parse_iso


class InvalidInvocation(ValueError):
    """A payload the function cannot act on; the message says what is wrong."""


def as_payload(event: Any) -> Mapping[str, Any]:
    if event is None:
        return {}
    if not isinstance(event, Mapping):
        raise InvalidInvocation("the payload must be a JSON object")
    return event


def payload_now(event: Mapping[str, Any]) -> datetime | None:
    """The payload's `now` (ISO-8601 with a zone), or None when absent (then the system clock)."""
    value = event.get("now")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidInvocation("'now' must be an ISO-8601 time string")
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise InvalidInvocation(f"'now' is not an ISO-8601 time with a zone: {value!r} ({exc})") from None


def payload_flag(event: Mapping[str, Any], name: str) -> bool:
    value = event.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidInvocation(f"'{name}' must be true or false")


def payload_text(event: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = event.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInvocation(f"'{name}' is required")
        return None
    if not isinstance(value, str):
        raise InvalidInvocation(f"'{name}' must be a string")
    return value.strip()
