"""In-memory stores for the lifecycle services: backfill checkpoints and a queue.

InMemoryCheckpoints keeps the same conditions as adapters/dynamo_checkpoints.py (proven by
tests/integration/test_backfill_checkpoints.py, which runs one suite against both).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from spam_blocker.domain.backfill_plan import BackfillCheckpoint
from spam_blocker.ports import StoreConflict


class InMemoryCheckpoints:
    def __init__(self) -> None:
        self._items: dict[str, BackfillCheckpoint] = {}
        self._ids: dict[tuple[str, int, int], set[str]] = {}
        self._lock = threading.Lock()
        self.saves = 0

    def get(self, key: str) -> BackfillCheckpoint | None:
        with self._lock:
            return self._items.get(key)

    def save(self, checkpoint: BackfillCheckpoint) -> BackfillCheckpoint:
        with self._lock:
            stored = self._items.get(checkpoint.key)
            if (stored.version if stored else 0) != checkpoint.version:
                raise StoreConflict(f"{checkpoint.key} moved")
            written = replace(checkpoint, version=checkpoint.version + 1)
            self._items[checkpoint.key] = written
            self.saves += 1
            return written

    def add_page_ids(self, key: str, window: int, page: int, ids: Iterable[str], now: datetime) -> None:
        values = set(ids)
        if values:
            with self._lock:
                self._ids[(key, window, page)] = values

    def window_ids(self, key: str, window: int) -> set[str]:
        with self._lock:
            return set().union(*[v for (k, w, _), v in self._ids.items() if k == key and w == window])


class ListQueue:
    """Queue port: remembers every body; `fail_next` makes the next send raise."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self._fail: list[Exception] = []

    def send_many(self, bodies: Iterable[str]) -> int:
        if self._fail:
            raise self._fail.pop(0)
        batch = list(bodies)
        self.bodies.extend(batch)
        return len(batch)

    def fail_next(self, error: Exception) -> None:
        self._fail.append(error)

    @property
    def events(self) -> list[dict]:
        return [json.loads(b) for b in self.bodies]
