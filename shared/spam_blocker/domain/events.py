"""Events on IngestQueue (the DESIGN.md contract): call_log | spam_report | not_spam.

`parse_ingest_event(body)` is the one entry point: it returns a typed, normalised event or raises
InvalidEvent with a reason an operator can read. Extra fields are allowed and ignored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from spam_blocker.clock import parse_iso


class InvalidEvent(ValueError):
    """An IngestQueue body that is not a valid event; `reason` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# Decisions add block and cool-down periods to the event time: a time near datetime's end (year 9999) would
# overflow there and fail the whole batch. Nothing real happens this late; such an event is invalid.
LATEST_EVENT_TIME = datetime(9000, 1, 1, tzinfo=UTC)


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("time without a zone")
        parsed = value
    elif not isinstance(value, str):
        raise ValueError("time must be an ISO-8601 string")
    else:
        parsed = parse_iso(value)
    if parsed >= LATEST_EVENT_TIME:
        raise ValueError(f"time out of range (not before {LATEST_EVENT_TIME.year})")
    return parsed


# Zoom's call history (`GET /phone/call_history`, `phone.*_call_history_completed`), which replaces the call
# logs, names the same facts differently. A record in that shape is read through these aliases; a field in
# the call-log shape wins when both are present.
_HISTORY_ALIASES = {
    "caller_number": ("caller_did_number", "caller_ext_number"),
    "callee_number": ("callee_did_number", "callee_ext_number"),
    "date_time": ("start_time",),
    "result": ("call_result",),
}
_NUMBER_TYPES = {"1": 1, "internal": 1, "extension": 1, "2": 2, "external": 2, "pstn": 2}


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _from_call_history(record: dict[str, Any]) -> dict[str, Any]:
    """A call-history record in the call-log shape (a call-log record comes back unchanged)."""
    data = dict(record)
    for field_name, aliases in _HISTORY_ALIASES.items():
        if not _present(data.get(field_name)):
            found = next((data[a] for a in aliases if _present(data.get(a))), None)
            if found is not None:
                data[field_name] = found
    if not _present(data.get("result")) and _present(data.get("answer_time")):
        data["result"] = "answered"
    if data.get("caller_number_type") is None:
        only_extension = not _present(record.get("caller_did_number")) and _present(record.get("caller_ext_number"))
        if str(data.get("connect_type", "")).strip().lower() == "internal" or (
                only_extension and not _present(record.get("caller_number"))):
            data["caller_number_type"] = 1
    return data


class CallLog(_Lenient):
    """A call-log record as Zoom's call-log APIs return it (only the fields we use), or a call-history
    record (`caller_did_number`, `start_time`, `call_result`, number types as words), read as one."""

    id: str | None = None
    caller_number: str
    caller_number_type: int | None = None  # 1 internal extension, 2 external
    callee_number: str | None = None
    callee_number_type: int | None = None
    direction: str = "inbound"
    duration: int = 0
    result: str | None = None
    date_time: datetime

    @model_validator(mode="before")
    @classmethod
    def _either_shape(cls, data: Any) -> Any:
        return _from_call_history(data) if isinstance(data, dict) else data

    @field_validator("date_time", mode="before")
    @classmethod
    def _time(cls, v: Any) -> datetime:
        return _aware(v)

    @field_validator("caller_number_type", "callee_number_type", mode="before")
    @classmethod
    def _number_type(cls, v: Any) -> int | None:
        """1 (internal) or 2 (external); the call history's words too. An unknown word is not internal."""
        if v is None or isinstance(v, bool):
            return None
        if isinstance(v, int):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str):
            return _NUMBER_TYPES.get(v.strip().lower())
        raise ValueError("number type must be 1, 2, 'internal' or 'external'")

    @field_validator("caller_number", mode="before")
    @classmethod
    def _caller(cls, v: Any) -> str:
        if v is None or (isinstance(v, str) and not v.strip()):
            raise ValueError("caller_number is empty")
        return str(v)

    @field_validator("callee_number", mode="before")
    @classmethod
    def _callee(cls, v: Any) -> str | None:
        return None if v is None else str(v)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> int:
        if v is None:
            return 0
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise ValueError("duration must be a number of seconds")
        try:
            seconds = int(float(v))
        except (ValueError, OverflowError):
            raise ValueError("duration must be a number of seconds") from None
        if seconds < 0:
            raise ValueError("duration must not be negative")
        return seconds


class CallLogEvent(_Lenient):
    type: Literal["call_log"]
    call_log: CallLog

    @property
    def occurred_at(self) -> datetime:
        return self.call_log.date_time


class _PersonSays(_Lenient):
    """What a person says about a number: the common shape of spam_report and not_spam."""

    phone_number: str
    reporter: str = Field(min_length=1)
    reported_at: datetime
    reason: str | None = None

    _t = field_validator("reported_at", mode="before")(lambda cls, v: _aware(v))

    @property
    def occurred_at(self) -> datetime:
        return self.reported_at


class SpamReportEvent(_PersonSays):
    type: Literal["spam_report"]


class NotSpamEvent(_PersonSays):
    type: Literal["not_spam"]


IngestEvent = Annotated[CallLogEvent | SpamReportEvent | NotSpamEvent, Field(discriminator="type")]
_ADAPTER: TypeAdapter[CallLogEvent | SpamReportEvent | NotSpamEvent] = TypeAdapter(IngestEvent)
EVENT_TYPES = ("call_log", "spam_report", "not_spam")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = list(err.get("loc", ()))
    if loc and loc[0] in EVENT_TYPES:  # the discriminated union puts the tag first
        loc = loc[1:]
    where = ".".join(str(p) for p in loc)
    kind = err.get("type", "")
    if kind == "missing":
        return f"missing field {where}"
    msg = err.get("msg", "invalid").removeprefix("Value error, ")
    return f"invalid {where}: {msg}" if where else msg


def parse_ingest_event(body: str | bytes | dict) -> CallLogEvent | SpamReportEvent | NotSpamEvent:
    """Parse one SQS body. Raises InvalidEvent('bad JSON ...' | 'unknown type ...' | 'missing field ...')."""
    if isinstance(body, dict):
        data = body
    else:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidEvent(f"bad JSON: {exc}") from None
        except RecursionError:
            raise InvalidEvent("bad JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise InvalidEvent("event must be a JSON object")
    kind = data.get("type")
    if kind not in EVENT_TYPES:
        raise InvalidEvent(f"unknown type {kind!r} (expected one of {', '.join(EVENT_TYPES)})")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise InvalidEvent(_first_error(exc)) from None
