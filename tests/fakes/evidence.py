"""In-memory Evidence table: the same reads, conditional writes and errors as adapters/dynamo_evidence.py.

Proven honest by tests/contract/test_evidence_store_contract.py. Readable asserts:

    assert "+19075550123" in store and store["+19075550123"].reports and len(store) == 3

`fail_next("put", StoreUnavailable("throttled"))` makes the next call of an operation raise;
`conflict_next_put()` makes the next put lose a race (as if another instance wrote first).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace

from spam_blocker.domain.evidence import NumberEvidence, exchange_of
from spam_blocker.ports import StoreConflict


class InMemoryEvidenceStore:
    def __init__(self) -> None:
        self._items: dict[str, NumberEvidence] = {}
        self._lock = threading.Lock()
        self._failures: dict[str, list[Exception]] = {}
        self.calls: dict[str, int] = {}

    # --- EvidenceStore -------------------------------------------------------------------------------

    def query_exchange(self, exchange: str) -> dict[str, NumberEvidence]:
        self._enter("query_exchange")
        with self._lock:
            return {n: e for n, e in self._items.items() if exchange_of(n) == exchange}

    def get_many(self, numbers: Iterable[str]) -> dict[str, NumberEvidence]:
        self._enter("get_many")
        with self._lock:
            return {n: self._items[n] for n in set(numbers) if n in self._items}

    def put(self, evidence: NumberEvidence) -> NumberEvidence:
        self._enter("put")
        with self._lock:
            current = self._items.get(evidence.number)
            stored_version = current.version if current is not None else 0
            if stored_version != evidence.version:
                raise StoreConflict(f"{evidence.number}: stored v{stored_version}, expected v{evidence.version}")
            written = replace(evidence, version=evidence.version + 1)
            self._items[evidence.number] = written
            return written

    # --- test helpers --------------------------------------------------------------------------------

    def fail_next(self, operation: str, error: Exception, times: int = 1) -> None:
        self._failures.setdefault(operation, []).extend([error] * times)

    def conflict_next_put(self, evidence: NumberEvidence) -> None:
        """Store `evidence` as another writer would, just before the next put reads nothing of it."""
        self._pending_race = evidence

    def numbers(self) -> list[str]:
        return sorted(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, number: object) -> bool:
        return number in self._items

    def __getitem__(self, number: str) -> NumberEvidence:
        return self._items[number]

    def _enter(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1
        race = getattr(self, "_pending_race", None)
        if operation == "put" and race is not None:
            self._pending_race = None
            with self._lock:
                current = self._items.get(race.number)
                self._items[race.number] = replace(race, version=(current.version if current else 0) + 1)
        queued = self._failures.get(operation)
        if queued:
            raise queued.pop(0)
