"""Zoom-style paging: `page_size` checks and opaque `next_page_token`s that expire after 15 minutes.

A token is a random string the server maps to (which list, which query, where the last page ended).
The position is a keyset cursor (the sort key of the last item returned), not an offset, so deleting
entries between pages never makes a later page skip one. A token is reusable until it expires (by the
injected clock); an unknown, expired or other-list token is 400 code 300.

`page_size` above the maximum is rejected (400 code 300) rather than clamped: a client that respects
the documented maximum works whichever way Zoom behaves.
"""

from __future__ import annotations

import bisect
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from local.emulator.messages import validation_error

TOKEN_TTL = timedelta(minutes=15)
T = TypeVar("T")


def page_size_of(raw: str | None, *, default: int, maximum: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        size = int(raw)
    except ValueError:
        raise validation_error(f"Invalid page_size {raw!r}: must be an integer from 1 to {maximum}.") from None
    if not 1 <= size <= maximum:
        raise validation_error(f"Invalid page_size {size}: must be from 1 to {maximum}.")
    return size


@dataclass(frozen=True)
class _Cursor:
    listing: str  # "blocked_list" | "call_logs"
    query: tuple[Any, ...]  # the filter the token belongs to
    after: Any  # sort key of the last item already returned
    expires_at: datetime


class PageTokens:
    def __init__(self) -> None:
        self._cursors: dict[str, _Cursor] = {}

    def resume(self, token: str, listing: str, now: datetime) -> tuple[tuple[Any, ...], Any]:
        """(query, after) of a token from an earlier page, or 400 code 300 if unknown/expired."""
        cursor = self._cursors.get(token)
        if cursor is None or cursor.listing != listing or now >= cursor.expires_at:
            raise validation_error("Invalid next_page_token: the token is invalid or has expired (15 minutes).")
        return cursor.query, cursor.after

    def page(self, items: Sequence[T], *, key: Callable[[T], Any], size: int, listing: str,
             query: tuple[Any, ...], after: Any, now: datetime) -> tuple[list[T], str]:
        """One page of `items` (sorted by `key`, ascending) after the cursor, and the token for the next."""
        start = 0 if after is None else bisect.bisect_right(items, after, key=key)
        chunk = list(items[start:start + size])
        if start + size >= len(items):
            return chunk, ""
        token = secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
        self._cursors[token] = _Cursor(listing, query, key(chunk[-1]), now + TOKEN_TTL)
        self._forget_expired(now)
        return chunk, token

    def clear(self) -> None:
        self._cursors.clear()

    def _forget_expired(self, now: datetime) -> None:
        if len(self._cursors) > 1024:
            self._cursors = {t: c for t, c in self._cursors.items() if now < c.expires_at}
