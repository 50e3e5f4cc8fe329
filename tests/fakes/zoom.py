"""In-memory Zoom Phone (ports.ZoomPhone) for service tests: Zoom's rules and the client's error types.

- Entries in creation order; POST accepts duplicates (Zoom does not reject them: exactly-once is ours),
  unless `reject_duplicates` (400 code 13601 for any entry of the same key, inactive included).
- Validation as Zoom/the emulator: match_type, block_type, status values; phone_number 1..50 chars;
  comment <= 255 -> ZoomInvalid (400, code 300). Unknown id on GET/PATCH/DELETE -> ZoomNotFound (400).
- `list_blocked` pages lazily (one request per page), `echo_plus=False` drops the '+' as Zoom has.
- Failures are scripted per operation: `fail("create", server_error(), commit=True)` makes the next
  POST take effect and then fail (a lost answer); `rate_limited(...)` builds the 429 the real client
  raises, from the headers Zoom sends (any Retry-After form), through the client's own parser.
- `requests` records (route, status) for every request, failed ones included.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from spam_blocker.clock import Clock
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import is_ours, zoom_digits
from spam_blocker.zoom.errors import (
    PermitExpired,
    ZoomError,
    ZoomInvalid,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomServerError,
    ZoomTransportError,
)
from spam_blocker.zoom.models import BlockedEntry, BlockedListPage, CallLogsPage
from spam_blocker.zoom.retry_after import read_rate_limit

ROUTES = {
    "list": "GET /phone/blocked_list", "create": "POST /phone/blocked_list", "get": "GET /phone/blocked_list/{id}",
    "update": "PATCH /phone/blocked_list/{id}", "delete": "DELETE /phone/blocked_list/{id}",
}
CATEGORIES = {"list": "Medium", "create": "Light", "get": "Light", "update": "Light", "delete": "Light"}
_PHONE_NUMBER = re.compile(r"^\+?[0-9]+$")
_PREFIX = re.compile(r"^[0-9]+$")


def server_error(status: int = 503, retry_at=None) -> ZoomServerError:
    return ZoomServerError("Service Unavailable.", status=status, code=status, retry_at=retry_at)


def dropped(*, sent: bool = True) -> ZoomTransportError:
    return ZoomTransportError("Server disconnected without sending a response.", may_have_committed=sent)


def invalid(message: str = "Invalid phone number.", code: int = 300) -> ZoomInvalid:
    return ZoomInvalid(message, status=400, code=code)


def rate_limited(clock: Clock, *, retry_after: str | None = "1", limit_type: str = "QPS",
                 category: str = "Light", message: str | None = None) -> ZoomRateLimited:
    """The 429 the client raises for these headers (Retry-After in any form, or None for missing)."""
    headers = {"X-RateLimit-Category": category, "X-RateLimit-Type": limit_type}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    now = clock.now()
    limit = read_rate_limit(headers, message, route_category=category, now=now)
    return ZoomRateLimited(message or "You have reached the maximum rate limit for this API.",
                           category=limit.category, limit_type=limit.limit_type, retry_at=limit.retry_at)


@dataclass
class _Fault:
    operation: str
    error: ZoomError
    commit: bool
    remaining: int


class FakeZoom:
    def __init__(self, clock: Clock, *, echo_plus: bool = True) -> None:
        self.clock = clock
        self.echo_plus = echo_plus
        self._entries: dict[str, dict[str, str]] = {}
        self._ids = (f"zid{n:05d}" for n in itertools.count(1))
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self.requests: list[tuple[str, int | None]] = []
        self.page_cap: int | None = None
        self.reject_duplicates = False  # as Zoom's newer API does (400, code 13601), any status

    # --- ports.ZoomPhone -----------------------------------------------------------------------------

    def check_credentials(self) -> None:
        return None

    def list_blocked(self, page_size: int = 100) -> Iterator[BlockedEntry]:
        token = None
        while True:
            page = self.list_blocked_page(page_size, token)
            yield from page.blocked_list
            token = page.next_page_token
            if not token:
                return

    def list_blocked_page(self, page_size: int = 100, next_page_token: str | None = None) -> BlockedListPage:
        """Tokens are offsets; `page_cap` makes pages shorter than asked, as a Zoom may."""
        if not 1 <= page_size <= 100:
            raise invalid("Invalid page_size.")
        offset = int(next_page_token) if next_page_token else 0
        size = min(page_size, self.page_cap or page_size)
        page = self._call("list", lambda: self._page(offset, size))
        after = offset + len(page)
        return BlockedListPage(blocked_list=page, next_page_token=str(after) if after < len(self._entries) else "",
                               page_size=size, total_records=len(self._entries))

    def get_blocked(self, blocked_id: str) -> BlockedEntry:
        return self._call("get", lambda: self._shown(self._existing(blocked_id)))

    def create_blocked(self, *, match_type: str, phone_number: str, block_type: str,
                       comment: str | None = None, status: str = "active", send_by: datetime | None = None) -> str:
        if send_by is not None and self.clock.now() > send_by:  # as ZoomClient: checked before sending
            raise PermitExpired("not sent: its rate-limit permit ran out", route="POST /phone/blocked_list")
        fields = {"match_type": match_type, "phone_number": phone_number, "block_type": block_type,
                  "status": status, "comment": comment or ""}
        return self._call("create", lambda: self._add(fields))

    def update_blocked(self, blocked_id: str, **fields: str) -> None:
        def update() -> None:
            entry = self._existing(blocked_id)
            changed = {**entry, **fields}
            _validate(changed)
            entry.update(fields)
        self._call("update", update)

    def delete_blocked(self, blocked_id: str) -> None:
        def delete() -> None:
            self._existing(blocked_id)
            del self._entries[blocked_id]
        self._call("delete", delete)

    def call_logs_page(self, *, date_from: date, date_to: date, next_page_token: str | None = None,
                       page_size: int = 300, log_type: str = "all") -> CallLogsPage:
        return CallLogsPage()

    # --- scripting and inspection --------------------------------------------------------------------

    def fail(self, operation: str, error: ZoomError, *, commit: bool = False, times: int = 1) -> None:
        """The next `times` calls of `operation` (list|get|create|update|delete) raise `error`; with
        `commit=True` the call takes effect first (the answer is lost)."""
        if operation not in ROUTES:
            raise ValueError(f"unknown operation {operation!r}")
        with self._lock:
            self._faults.append(_Fault(operation, error, commit, times))

    def add_entry(self, phone_number: str, *, match_type: str = "phoneNumber", block_type: str = "inbound",
                  comment: str = "", status: str = "active") -> str:
        """An entry made by a person in the portal (or by us, with our tag), without a request."""
        with self._lock:
            return self._add({"match_type": match_type, "phone_number": phone_number, "block_type": block_type,
                              "status": status, "comment": comment})

    def entries(self) -> list[dict[str, str]]:
        with self._lock:
            return [dict(e) for e in self._entries.values()]

    def entries_for(self, key: BlockKey) -> list[dict[str, str]]:
        return [e for e in self.entries() if (e["match_type"], zoom_digits(e["phone_number"]), e["block_type"])
                == (key.match_type, zoom_digits(key.phone_number), key.block_type)]

    def ours(self) -> list[dict[str, str]]:
        return [e for e in self.entries() if is_ours(e["comment"])]

    def count(self, operation: str) -> int:
        return sum(1 for route, _ in self.requests if route == ROUTES[operation])

    # --- machinery -----------------------------------------------------------------------------------

    def _call(self, operation: str, run):
        with self._lock:
            fault = next((f for f in self._faults if f.operation == operation and f.remaining > 0), None)
            if fault is not None:
                fault.remaining -= 1
            if fault is None:
                try:
                    result = run()
                except ZoomError as exc:
                    self.requests.append((ROUTES[operation], exc.status))
                    raise
                self.requests.append((ROUTES[operation], 201 if operation == "create" else 200))
                return result
            if fault.commit:
                try:
                    run()
                except ZoomError:
                    pass
            status = fault.error.status if not isinstance(fault.error, ZoomTransportError) else None
            self.requests.append((ROUTES[operation], status))
            raise fault.error

    def _add(self, fields: dict[str, str]) -> str:
        _validate(fields)
        if self.reject_duplicates and any(
                (e["match_type"], zoom_digits(e["phone_number"]), e["block_type"])
                == (fields["match_type"], zoom_digits(fields["phone_number"]), fields["block_type"])
                for e in self._entries.values()):
            raise ZoomInvalid("Duplicate blocked list.", status=400, code=13601)
        entry_id = next(self._ids)
        self._entries[entry_id] = {"id": entry_id, **fields}
        return entry_id

    def _page(self, offset: int, size: int) -> list[BlockedEntry]:
        return [self._shown(e) for e in list(self._entries.values())[offset:offset + size]]

    def _existing(self, blocked_id: str) -> dict[str, str]:
        entry = self._entries.get(blocked_id)
        if entry is None:
            raise ZoomNotFound("Blocked list not found.", status=400, code=404)
        return entry

    def _shown(self, entry: dict[str, str]) -> BlockedEntry:
        number = entry["phone_number"] if self.echo_plus else zoom_digits(entry["phone_number"])
        return BlockedEntry(**{**entry, "phone_number": number})


def _validate(fields: dict[str, str]) -> None:
    if fields.get("match_type") not in ("phoneNumber", "prefix"):
        raise invalid("Invalid match_type.")
    if fields.get("block_type") not in ("inbound", "outbound"):
        raise invalid("Invalid block_type.")
    if fields.get("status") not in ("active", "inactive"):
        raise invalid("Invalid status.")
    number = fields.get("phone_number") or ""
    pattern = _PREFIX if fields["match_type"] == "prefix" else _PHONE_NUMBER
    if not 1 <= len(number) <= 50 or not pattern.match(number):
        raise invalid("Invalid phone number.")
    if len(fields.get("comment") or "") > 255:
        raise invalid("Comment is too long.")
