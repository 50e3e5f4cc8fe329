"""`GET /v2/phone/call_logs` and its replacement `GET /v2/phone/call_history`: the account's calls for a date
range (Heavy).

The two take the same query (call_history has no `type`: it is ignored there) and list the same stored
records: call_logs verbatim under `call_logs`, call_history under `call_history`, each record in the
call-history shape (`as_call_history`). `config.call_log_apis` can retire either one (404).

Query rules (400 code 300 when broken):
- `from`, `to`: yyyy-mm-dd (UTC dates). Defaults: `to` = today, `from` = the day before `to`.
- `to` must not be before `from`; the range is at most one month: `to` earlier than `from` plus one
  calendar month (Jan 1..Jan 31 and Jan 15..Feb 14 are fine, Jan 1..Feb 1 is not).
- `from` no older than six calendar months before today (by the injected clock).
- `type`: all (default) | missed. "missed" means an inbound call whose `result` is not "Call connected".
- `page_size` default 30, at most 300 (larger is rejected); `next_page_token` as in `pagination.py`. A
  token belongs to its query: sending it with a different `from`/`to`/`type` is rejected.
Records are those whose `date_time` falls on a day in [from, to], newest first, returned verbatim.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta

from local.emulator.config import EmulatorConfig
from local.emulator.messages import ApiError, Request, Response, json_response, validation_error
from local.emulator.pagination import PageTokens, page_size_of
from local.emulator.state import CallLog, CallLogs

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 300
HISTORY_MONTHS = 6
TYPES = ("all", "missed")
LISTING = "call_logs"
HISTORY_LISTING = "call_history"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def add_months(day: date, months: int) -> date:
    """Calendar months, the day clamped to the target month's length (Jan 31 + 1 -> Feb 28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _parse_date(name: str, raw: str) -> date:
    if not _DATE.match(raw):
        raise validation_error(f"Invalid {name} {raw!r}: use yyyy-mm-dd.")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise validation_error(f"Invalid {name} {raw!r}: not a calendar date.") from None


def is_missed(record: dict) -> bool:
    return record.get("direction") == "inbound" and str(record.get("result", "")).lower() != "call connected"


# Call-log `result` -> call-history `call_result`; any other result is written in the same snake case.
_RESULTS = {"call connected": "answered", "no answer": "no_answer", "call cancel": "canceled"}


def as_call_history(record: dict) -> dict:
    """A stored call-log record as `GET /phone/call_history` lists it."""
    def side(name: str) -> dict:
        number, kind = record.get(f"{name}_number"), record.get(f"{name}_number_type")
        internal = kind == 1
        out = {f"{name}_name": record.get(f"{name}_name"),
               f"{name}_number_type": "internal" if internal else "external"}
        out[f"{name}_ext_number" if internal else f"{name}_did_number"] = number
        return {k: v for k, v in out.items() if v is not None}

    result = str(record.get("result") or "").strip()
    call_result = _RESULTS.get(result.lower(), "_".join(result.lower().split()))
    internal = record.get("caller_number_type") == 1 and record.get("callee_number_type") == 1
    history = {"id": record.get("id"), "call_id": record.get("call_id") or record.get("id"),
               "direction": record.get("direction"), "connect_type": "internal" if internal else "external",
               **side("caller"), **side("callee"), "start_time": record.get("date_time"),
               "duration": record.get("duration", 0), "call_result": call_result or None}
    return {k: v for k, v in history.items() if v is not None}


class CallLogsApi:
    def __init__(self, logs: CallLogs, page_tokens: PageTokens, config: EmulatorConfig) -> None:
        self._logs = logs
        self._page_tokens = page_tokens
        self._config = config

    def list(self, request: Request, now: datetime) -> Response:
        self._require("call_logs")
        return self._list(request, now, history=False)

    def history(self, request: Request, now: datetime) -> Response:
        self._require("call_history")
        return self._list(request, now, history=True)

    def _require(self, api: str) -> None:
        if self._config.call_log_apis not in ("both", api):
            raise ApiError(404, 404, f"No such API: GET /phone/{api}.")

    def _list(self, request: Request, now: datetime, *, history: bool) -> Response:
        today = now.astimezone(UTC).date()
        raw_from, raw_to, raw_type = (request.query_value(n) or None for n in ("from", "to", "type"))
        if history:
            raw_type = None
        listing = HISTORY_LISTING if history else LISTING
        size = page_size_of(request.query_value("page_size"), default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        to_day = _parse_date("to", raw_to) if raw_to else today
        from_day = _parse_date("from", raw_from) if raw_from else to_day - timedelta(days=1)
        call_type = raw_type or "all"
        if call_type not in TYPES:
            raise validation_error(f"Invalid type {call_type!r}: must be one of {', '.join(TYPES)}.")
        if to_day < from_day:
            raise validation_error(f"Invalid date range: to ({to_day}) is before from ({from_day}).")
        if to_day >= add_months(from_day, 1):
            raise validation_error(f"Invalid date range {from_day}..{to_day}: at most one month.")
        oldest = add_months(today, -HISTORY_MONTHS)
        if from_day < oldest:
            raise validation_error(f"Invalid from {from_day}: only the last six months are available (from {oldest}).")

        query = (from_day.isoformat(), to_day.isoformat(), call_type)
        after = None
        token = request.query_value("next_page_token")
        if token:
            token_query, after = self._page_tokens.resume(token, listing, now)
            if token_query != query:
                raise validation_error("Invalid next_page_token: it belongs to a different from/to/type.")

        matching = [log for log in self._logs.all() if self._wanted(log, from_day, to_day, call_type)]
        matching.sort(key=_newest_first)
        page, next_token = self._page_tokens.page(
            matching, key=_newest_first, size=size, listing=listing, query=query, after=after, now=now)
        return json_response(200, {
            "from": query[0],
            "to": query[1],
            "page_size": size,
            "total_records": len(matching),
            "next_page_token": next_token,
            listing: [as_call_history(log.record) if history else log.record for log in page],
        })

    @staticmethod
    def _wanted(log: CallLog, from_day: date, to_day: date, call_type: str) -> bool:
        day = log.at.date()
        return from_day <= day <= to_day and (call_type == "all" or is_missed(log.record))


def _newest_first(log: CallLog) -> tuple[float, int]:
    return (-log.at.timestamp(), -log.seq)
