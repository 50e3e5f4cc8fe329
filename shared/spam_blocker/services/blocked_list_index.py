"""Finding a block's entry in Zoom when we do not know its id (a POST whose answer was lost).

Zoom's blocked list has no search: the only way is to list it all (GET /phone/blocked_list, Medium, one
permit per page). A listing is a snapshot; it can answer for a block whose doubt arose *before* the
snapshot started (plus `settle_s` for Zoom to show a fresh write). The last snapshot is kept per
container, so a burst of doubtful POSTs costs one listing, not one each.

    lookup(key, not_before, permits) ->
        Lookup(ours=[tagged active entries for the key], theirs=[untagged active entries],
               inactive=[anyone's inactive entries for the key])
        Lookup(wait=RateGrant(...))   no permit for the next page, or too soon after the doubt
Zoom errors while listing (429 included) propagate to the caller, who decides.

Entries are matched on match_type + digits (Zoom may echo a number without '+') + block_type; only
`active` ones (or without a status) count. "Ours" carries `block_state.ZOOM_TAG`.

One Medium permit per page request (services/blocked_list_pages.py), whatever size the pages come in.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from spam_blocker.clock import Clock
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import is_ours, zoom_digits
from spam_blocker.domain.rate_window import RateGrant
from spam_blocker.observability import logger
from spam_blocker.ports import ZoomPhone
from spam_blocker.services.blocked_list_pages import ListingStopped, listed_entries
from spam_blocker.services.permits import Permits
from spam_blocker.zoom.models import BlockedEntry

SETTLE = "settle"

_Match = tuple[str, str, str]


def match_of(match_type: str | None, phone_number: str | None, block_type: str | None) -> _Match:
    return (match_type or "", zoom_digits(phone_number or ""), block_type or "")


@dataclass(frozen=True)
class Snapshot:
    started_at: datetime
    ours: dict[_Match, list[BlockedEntry]] = field(default_factory=dict)
    theirs: dict[_Match, list[BlockedEntry]] = field(default_factory=dict)
    size: int = 0
    inactive: dict[_Match, list[BlockedEntry]] = field(default_factory=dict)  # anyone's, status inactive


@dataclass(frozen=True)
class Lookup:
    ours: list[BlockedEntry] = field(default_factory=list)
    theirs: list[BlockedEntry] = field(default_factory=list)
    wait: RateGrant | None = None
    listed: bool = False  # this lookup took a fresh listing
    inactive: list[BlockedEntry] = field(default_factory=list)


class BlockedListIndex:
    def __init__(self, zoom: ZoomPhone, clock: Clock, *, page_size: int = 100, settle_s: float = 1.0) -> None:
        self._zoom = zoom
        self._clock = clock
        self._page_size = page_size
        self._settle = timedelta(seconds=settle_s)
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self.listings = 0

    @property
    def settle(self) -> timedelta:
        return self._settle

    def lookup(self, key: BlockKey, *, not_before: datetime, permits: Permits) -> Lookup:
        """Entries for `key` from a listing that started at least `settle` after `not_before` (the time the
        doubtful write was certainly over)."""
        needed = not_before + self._settle
        now = self._clock.now()
        if now < needed:
            return Lookup(wait=RateGrant(False, needed, SETTLE))
        listed = False
        with self._lock:  # one listing at a time per container; others then reuse it
            snapshot = self._snapshot
            if snapshot is None or snapshot.started_at < needed:
                taken = self._take(permits)
                if isinstance(taken, RateGrant):
                    return Lookup(wait=taken)
                snapshot = self._snapshot = taken
                listed = True
            match = match_of(*key)
            return Lookup(ours=list(snapshot.ours.get(match, [])), theirs=list(snapshot.theirs.get(match, [])),
                          listed=listed, inactive=list(snapshot.inactive.get(match, [])))

    def forget(self, entry_id: str) -> None:
        """An entry we deleted: later lookups from the same snapshot must not offer it again."""
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None:
                return
            for index in (snapshot.ours, snapshot.theirs, snapshot.inactive):
                for match, entries in index.items():
                    index[match] = [e for e in entries if e.id != entry_id]

    def _take(self, permits: Permits) -> Snapshot | RateGrant:
        started_at = self._clock.now()
        ours: dict[_Match, list[BlockedEntry]] = {}
        theirs: dict[_Match, list[BlockedEntry]] = {}
        inactive: dict[_Match, list[BlockedEntry]] = {}
        size = 0
        try:
            for entry in listed_entries(self._zoom, permits, self._clock, page_size=self._page_size):
                size += 1
                if entry.status in (None, "active"):
                    index = ours if is_ours(entry.comment) else theirs
                else:
                    index = inactive
                index.setdefault(match_of(entry.match_type, entry.phone_number, entry.block_type), []).append(entry)
        except ListingStopped as stop:
            if size:
                logger.info("blocked-list listing paused: no permit", extra={
                    "entries_listed": size, "retry_at": str(stop.grant.retry_at)})
            return stop.grant
        self.listings += 1
        logger.info("blocked list listed", extra={"entries": size})
        return Snapshot(started_at, ours, theirs, size, inactive)
