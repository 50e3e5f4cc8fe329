"""Backfill input and plan (pure): what ops asked for, Zoom's call-log windows, and the input's identity.

An invocation payload (a contract for ops tools):

    {"from": "2026-11-01", "to": "2026-11-07", "dry_run": true}
    {"phone_numbers": ["+19075550123", "907-555-0124"], "reporter": "ops-jane", "reason": "robocall"}

Either part or both. Dates are `yyyy-mm-dd` (UTC days, as Zoom's `from`/`to`), both inclusive.

Zoom's call logs (REFERENCE.md) answer for a range of at most one month that lies within the last six
months. `plan_windows` splits the asked range into windows of at most `window_days` days that each satisfy
the one-month rule (`end < add_months(start, 1)`), clipped to what Zoom still has: a start older than six
calendar months before today is moved up (with a note saying so), an end after today is moved back, and a
range that lies entirely before the six-month horizon is refused.

`input_key` is the identity of a request for the checkpoint: a hash of the normalised input (sorted
distinct E.164 numbers, dates, reporter, reason), never of `dry_run`, so a dry run reads the same
checkpoint the real run writes.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spam_blocker.clock import iso, parse_iso
from spam_blocker.domain import phone

HISTORY_MONTHS = 6
MAX_NUMBERS = 100_000
DEFAULT_REPORTER = "backfill"


class BackfillInputError(ValueError):
    """A backfill request that cannot be run as given (bad usage: the CLI exits 2). `reason` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def add_months(day: date, months: int) -> date:
    """Calendar months, the day clamped to the target month's length (Jan 31 + 1 month -> Feb 28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def oldest_available(today: date) -> date:
    """The first day Zoom still answers for: six calendar months before `today`."""
    return add_months(today, -HISTORY_MONTHS)


class BackfillRequest(BaseModel):
    """The backfill function's payload, validated. Unknown fields are refused (a typo must not silently
    turn a range backfill into nothing)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    date_from: date | None = Field(default=None, alias="from")
    date_to: date | None = Field(default=None, alias="to")
    dry_run: bool = False
    phone_numbers: tuple[str, ...] = ()
    reporter: str = Field(default=DEFAULT_REPORTER, min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=500)
    reported_at: datetime | None = None

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _day(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"{value!r} is not a date (use yyyy-mm-dd)") from None
        return value

    @field_validator("reported_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return parse_iso(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _shape(self) -> BackfillRequest:
        if (self.date_from is None) != (self.date_to is None):
            raise ValueError("give both 'from' and 'to' (or neither)")
        if self.date_from is not None and self.date_to < self.date_from:
            raise ValueError(f"'to' ({self.date_to}) is before 'from' ({self.date_from})")
        if self.date_from is None and not self.phone_numbers:
            raise ValueError("nothing to do: give a date range ('from', 'to') and/or 'phone_numbers'")
        if len(self.phone_numbers) > MAX_NUMBERS:
            raise ValueError(f"at most {MAX_NUMBERS} phone numbers per request")
        return self

    @property
    def has_range(self) -> bool:
        return self.date_from is not None

    def normalised(self, region: str = "US") -> BackfillRequest:
        """Numbers in E.164, sorted and distinct. Raises BackfillInputError naming the bad ones."""
        numbers: set[str] = set()
        bad: list[str] = []
        for raw in self.phone_numbers:
            try:
                if phone.is_emergency_or_short(raw, region):
                    raise phone.InvalidNumber("emergency or short code")
                numbers.add(phone.normalize(raw, region))
            except phone.InvalidNumber:
                bad.append(raw)
        if bad:
            shown = ", ".join(repr(b) for b in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
            raise BackfillInputError(f"{len(bad)} phone number(s) cannot be reported as spam: {shown}")
        return self.model_copy(update={"phone_numbers": tuple(sorted(numbers)),
                                       "reporter": self.reporter.strip() or DEFAULT_REPORTER})

    def identity(self) -> dict[str, Any]:
        """What makes two requests the same work (dry_run excluded)."""
        return {
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "phone_numbers": list(self.phone_numbers),
            "reporter": self.reporter if self.phone_numbers else None,
            "reason": self.reason if self.phone_numbers else None,
            "reported_at": iso(self.reported_at) if self.reported_at and self.phone_numbers else None,
        }


def parse_request(payload: Any, region: str = "US") -> BackfillRequest:
    """The payload -> a normalised BackfillRequest, or BackfillInputError with a readable reason."""
    if not isinstance(payload, dict):
        raise BackfillInputError("the backfill payload must be a JSON object")
    try:
        request = BackfillRequest.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise BackfillInputError(f"invalid backfill request: {problems}") from None
    return request.normalised(region)


def _problem(error: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()))
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "unknown field"
    return f"{where}: {message}" if where else message


def input_key(request: BackfillRequest) -> str:
    """The checkpoint's key: a hash of the normalised input."""
    canonical = json.dumps(request.identity(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True, order=True)
class Window:
    """Days `start`..`end`, both inclusive: one valid `from`/`to` pair for Zoom's call logs."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def describe(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class WindowPlan:
    windows: tuple[Window, ...]
    notes: tuple[str, ...] = ()  # what was clipped, and why


def plan_windows(date_from: date, date_to: date, today: date, window_days: int) -> WindowPlan:
    """Split `date_from..date_to` into Zoom-sized windows, oldest first (see the module docstring)."""
    if window_days < 1:
        raise ValueError("window_days must be at least 1")
    if date_to < date_from:
        raise BackfillInputError(f"'to' ({date_to}) is before 'from' ({date_from})")
    oldest = oldest_available(today)
    notes: list[str] = []
    if date_from > today:
        raise BackfillInputError(f"the range {date_from}..{date_to} lies in the future (today is {today})")
    if date_to < oldest:
        raise BackfillInputError(
            f"the range {date_from}..{date_to} is older than Zoom keeps call logs: only the last "
            f"{HISTORY_MONTHS} months are available (from {oldest})")
    start, end = date_from, date_to
    if start < oldest:
        notes.append(f"clipped 'from' {start} to {oldest}: Zoom keeps call logs for the last {HISTORY_MONTHS} "
                     f"months only; {start}..{oldest - timedelta(days=1)} cannot be backfilled")
        start = oldest
    if end > today:
        notes.append(f"clipped 'to' {end} to today ({today})")
        end = today
    return WindowPlan(tuple(split(start, end, window_days)), tuple(notes))


def split(start: date, end: date, window_days: int) -> list[Window]:
    windows: list[Window] = []
    cursor = start
    while cursor <= end:
        last = min(end, cursor + timedelta(days=window_days - 1), add_months(cursor, 1) - timedelta(days=1))
        windows.append(Window(cursor, last))
        cursor = last + timedelta(days=1)
    return windows


def still_available(window: Window, today: date) -> Window | None:
    """A planned window as Zoom can still answer for it today: its start moved up past the six-month
    horizon, or None when all of it has aged out (a resume days after the plan was made)."""
    oldest = oldest_available(today)
    if window.end < oldest:
        return None
    return Window(max(window.start, oldest), window.end)


def record_identity(record: dict[str, Any]) -> str:
    """A call-log record's identity for deduplication: Zoom's `id`, else its `call_id`, else a hash of the
    fields that describe the call."""
    for name in ("id", "call_id"):
        value = record.get(name)
        if value not in (None, ""):
            return f"{name}:{value}"
    basis = "|".join(str(record.get(n, "")) for n in ("caller_number", "callee_number", "date_time", "duration",
                                                        "direction", "result"))
    return "h:" + hashlib.sha256(basis.encode()).hexdigest()[:24]


RUNNING, PAUSED, DONE = "running", "paused", "done"


@dataclass(frozen=True)
class BackfillCheckpoint:
    """Where a backfill of one input stands (stored by a CheckpointStore; `version` is its concurrency
    token). Windows are fixed when the checkpoint is created, so a resume days later walks the same ones."""

    key: str  # input_key(request)
    request: dict[str, Any]  # the normalised input (request.identity()), for people reading the table
    status: str = RUNNING  # running | paused | done
    windows: tuple[Window, ...] = ()
    window_index: int = 0  # the window being fetched (== len(windows) when all are done)
    page_token: str | None = None  # Zoom's next_page_token inside the current window
    token_at: datetime | None = None  # when Zoom issued it (tokens expire after 15 minutes)
    window_restarts: int = 0  # times the current window was fetched again from its first page
    pages: int = 0  # call-log pages fetched (also numbers the stored page ids)
    call_logs_seen: int = 0
    call_logs_enqueued: int = 0
    duplicates_skipped: int = 0  # records of a restarted window enqueued before
    numbers_done: int = 0  # phone_numbers[:numbers_done] were enqueued as spam reports
    reports_enqueued: int = 0
    reported_at: datetime | None = None  # the time the spam reports carry (fixed at the first run)
    notes: tuple[str, ...] = ()
    paused_reason: str | None = None  # daily_limit | rate_limited | time | zoom_unavailable
    resume_at: datetime | None = None
    owner: str | None = None  # the run holding the lease
    lease_until: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0

    @property
    def done(self) -> bool:
        return self.status == DONE

    def leased_to_other(self, owner: str, now: datetime) -> bool:
        return (self.owner is not None and self.owner != owner and self.lease_until is not None
                and now < self.lease_until)
