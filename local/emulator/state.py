"""What the emulated Zoom account holds: blocked-list entries, issued access tokens and call-log records.

Plain in-memory stores; the app serialises access with one lock, so nothing here locks. Ids come from
the emulator's seeded RNG so a run with the same seed creates the same ids; access tokens are random.
"""

from __future__ import annotations

import copy
import random
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from spam_blocker.clock import parse_iso

_ALPHANUMERIC = string.ascii_letters + string.digits
ENTRY_ID_LENGTH = 12  # Zoom's examples: "7buyurtKc0Zw", "cYDtrtyrgyQw"


class IdSource:
    """Zoom-like ids (12 alphanumerics) from a seeded RNG, never repeated within one emulator."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"ids-{seed}")
        self._issued: set[str] = set()

    def new_id(self, length: int = ENTRY_ID_LENGTH) -> str:
        while True:
            candidate = "".join(self._rng.choice(_ALPHANUMERIC) for _ in range(length))
            if candidate not in self._issued:
                self._issued.add(candidate)
                return candidate


@dataclass
class Entry:
    id: str
    match_type: str
    phone_number: str
    block_type: str
    status: str
    comment: str
    seq: int  # creation order; the list is returned in this order

    def as_dict(self, *, echo_plus: bool = True) -> dict[str, str]:
        number = self.phone_number if echo_plus else self.phone_number.lstrip("+")
        return {
            "id": self.id,
            "match_type": self.match_type,
            "phone_number": number,
            "block_type": self.block_type,
            "status": self.status,
            "comment": self.comment,
        }


class BlockedList:
    """The account's blocked list. Duplicates are allowed: Zoom does not document rejecting them."""

    def __init__(self, ids: IdSource) -> None:
        self._ids = ids
        self._entries: dict[str, Entry] = {}
        self._next_seq = 0

    def add(self, *, match_type: str, phone_number: str, block_type: str, status: str, comment: str) -> Entry:
        entry = Entry(self._ids.new_id(), match_type, phone_number, block_type, status, comment, self._next_seq)
        self._next_seq += 1
        self._entries[entry.id] = entry
        return entry

    def get(self, entry_id: str) -> Entry | None:
        return self._entries.get(entry_id)

    def update(self, entry_id: str, changes: dict[str, str]) -> None:
        entry = self._entries[entry_id]
        for name, value in changes.items():
            setattr(entry, name, value)

    def remove(self, entry_id: str) -> bool:
        return self._entries.pop(entry_id, None) is not None

    def ordered(self) -> list[Entry]:
        return list(self._entries.values())  # insertion order is creation (seq) order

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class Tokens:
    """Access tokens issued by /oauth/token, each valid until its expiry by the injected clock."""

    def __init__(self) -> None:
        self._expiry: dict[str, datetime] = {}
        self.issued_count = 0

    def issue(self, now: datetime, ttl_s: int) -> str:
        token = "emu." + secrets.token_urlsafe(48)
        self._expiry[token] = now + timedelta(seconds=ttl_s)
        self.issued_count += 1
        self._forget_expired(now)
        return token

    def is_valid(self, token: str, now: datetime) -> bool:
        expiry = self._expiry.get(token)
        return expiry is not None and now < expiry

    def expire_all(self) -> None:
        self._expiry.clear()

    def _forget_expired(self, now: datetime) -> None:
        if len(self._expiry) > 256:
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}


@dataclass(frozen=True)
class CallLog:
    record: dict[str, Any]
    at: datetime  # parsed `date_time`
    seq: int


class CallLogs:
    """Call-log records as Zoom's account call-log API returns them, kept verbatim."""

    def __init__(self, ids: IdSource) -> None:
        self._ids = ids
        self._logs: list[CallLog] = []

    def add(self, records: Iterable[dict[str, Any]]) -> int:
        """Adds records (each needs an ISO-8601 `date_time` with zone; `id` is filled in if absent)."""
        parsed = []
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise ValueError(f"call log #{index} is not an object")
            when = record.get("date_time")
            if not isinstance(when, str):
                raise ValueError(f"call log #{index} has no date_time")
            try:
                at = parse_iso(when)
            except ValueError as exc:
                raise ValueError(f"call log #{index} has an unreadable date_time {when!r}: {exc}") from None
            kept = copy.deepcopy(record)
            kept.setdefault("id", self._ids.new_id(32))
            parsed.append((kept, at))
        for kept, at in parsed:
            self._logs.append(CallLog(kept, at, len(self._logs)))
        return len(parsed)

    def all(self) -> list[CallLog]:
        return list(self._logs)

    def clear(self) -> None:
        self._logs.clear()

    def __len__(self) -> int:
        return len(self._logs)
