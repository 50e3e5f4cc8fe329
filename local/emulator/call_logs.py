"""`GET /v2/phone/call_logs`: the account's call logs for a date range (Heavy).

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

from local.emulator.messages import Request, Response, json_response, validation_error
from local.emulator.pagination import PageTokens, page_size_of
from local.emulator.state import CallLog, CallLogs

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 300
HISTORY_MONTHS = 6
TYPES = ("all", "missed")
LISTING = "call_logs"
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


class CallLogsApi:
    def __init__(self, logs: CallLogs, page_tokens: PageTokens) -> None:
        self._logs = logs
        self._page_tokens = page_tokens

    def list(self, request: Request, now: datetime) -> Response:
        today = now.astimezone(UTC).date()
        raw_from, raw_to, raw_type = (request.query_value(n) or None for n in ("from", "to", "type"))
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
            token_query, after = self._page_tokens.resume(token, LISTING, now)
            if token_query != query:
                raise validation_error("Invalid next_page_token: it belongs to a different from/to/type.")

        matching = [log for log in self._logs.all() if self._wanted(log, from_day, to_day, call_type)]
        matching.sort(key=_newest_first)
        page, next_token = self._page_tokens.page(
            matching, key=_newest_first, size=size, listing=LISTING, query=query, after=after, now=now)
        return json_response(200, {
            "from": query[0],
            "to": query[1],
            "page_size": size,
            "total_records": len(matching),
            "next_page_token": next_token,
            "call_logs": [log.record for log in page],
        })

    @staticmethod
    def _wanted(log: CallLog, from_day: date, to_day: date, call_type: str) -> bool:
        day = log.at.date()
        return from_day <= day <= to_day and (call_type == "all" or is_missed(log.record))


def _newest_first(log: CallLog) -> tuple[float, int]:
    return (-log.at.timestamp(), -log.seq)
