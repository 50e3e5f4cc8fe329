"""In-memory Blocks table: the same moves, conditions and errors as adapters/dynamo_blocks.py.

Proven honest by tests/contract/test_block_store_contract.py. Readable asserts:

    assert key in store and store[key].state is BlockState.ACTIVE and len(store) == 1

`fail_next("transition", StoreUnavailable("throttled"))` makes the next call of an operation raise.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord, BlockState, can_move
from spam_blocker.ports import StoreConflict


class InMemoryBlockStore:
    def __init__(self) -> None:
        self._items: dict[BlockKey, BlockRecord] = {}
        self._lock = threading.Lock()
        self._failures: dict[str, list[Exception | None]] = {}
        self.calls: dict[str, int] = {}

    # --- BlockStore ----------------------------------------------------------------------------------

    def get(self, key: BlockKey) -> BlockRecord | None:
        self._enter("get")
        with self._lock:
            return self._items.get(BlockKey(*key))

    def get_many(self, keys: Iterable[BlockKey]) -> dict[BlockKey, BlockRecord]:
        self._enter("get_many")
        with self._lock:
            wanted = {BlockKey(*k) for k in keys}
            return {k: self._items[k] for k in wanted if k in self._items}

    # --- BlockStateStore -----------------------------------------------------------------------------

    def transition(self, expected: BlockRecord | None, target: BlockRecord) -> BlockRecord:
        self._enter("transition")
        _check_move(expected, target)
        with self._lock:
            current = self._items.get(target.key)
            if expected is None:
                if current is not None:
                    raise StoreConflict(f"{target.key.as_id()} already exists")
            elif current is None or current.state != expected.state or current.version != expected.version:
                raise StoreConflict(f"{target.key.as_id()} is no longer {expected.state}@v{expected.version}")
            written = _as_stored(replace(target, version=(expected.version if expected else 0) + 1))
            self._items[target.key] = written
            return written

    def set_cooldown(self, expected: BlockRecord, until: datetime, now: datetime) -> BlockRecord:
        self._enter("set_cooldown")
        with self._lock:
            current = self._items.get(expected.key)
            if current is None or current.version != expected.version:
                raise StoreConflict(f"{expected.key.as_id()} is no longer v{expected.version}")
            written = replace(current, cooldown_until=until, updated_at=now, version=current.version + 1)
            self._items[expected.key] = written
            return written

    def active_within(self, prefix_digits: str, block_type: str, match_type: str = "phoneNumber") -> list[BlockRecord]:
        self._enter("active_within")
        with self._lock:
            found = [r for r in self._items.values() if _in_expiry_index(r)
                     and r.key.match_type == match_type and r.key.block_type == block_type
                     and r.key.phone_number.lstrip("+").startswith(prefix_digits)]
        return sorted(found, key=lambda r: r.key.as_id())

    def due_for_expiry(self, before: datetime, limit: int = 100) -> list[BlockRecord]:
        self._enter("due_for_expiry")
        with self._lock:
            due = [r for r in self._items.values() if _in_expiry_index(r) and r.expires_at <= before]
        return sorted(due, key=lambda r: (r.expires_at, r.key.as_id()))[:limit]

    def blocking_records(self) -> list[BlockRecord]:
        self._enter("blocking_records")
        with self._lock:
            found = [r for r in self._items.values() if r.state in (BlockState.ACTIVE, BlockState.EXTERNAL)]
        return sorted(found, key=lambda r: r.key.as_id())

    # --- test helpers --------------------------------------------------------------------------------

    def put(self, record: BlockRecord) -> BlockRecord:
        """Seed a row as-is (a test's Given), bypassing the state machine."""
        with self._lock:
            stored = _as_stored(record)
            self._items[record.key] = stored
            return stored

    def fail_next(self, operation: str, error: Exception, times: int = 1, *, after: int = 0) -> None:
        """The next `times` calls of `operation` raise `error`, once `after` more calls have passed."""
        self._failures.setdefault(operation, []).extend([None] * after + [error] * times)

    def records(self) -> list[BlockRecord]:
        with self._lock:
            return sorted(self._items.values(), key=lambda r: r.key.as_id())

    def states(self) -> dict[str, str]:
        return {r.key.as_id(): r.state.value for r in self.records()}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __getitem__(self, key: BlockKey) -> BlockRecord:
        return self._items[key]

    def _enter(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            queue = self._failures.get(operation)
            error = queue.pop(0) if queue else None
        if error is not None:
            raise error


def _check_move(expected: BlockRecord | None, target: BlockRecord) -> None:
    if expected is not None and expected.key != target.key:
        raise ValueError(f"cannot move {expected.key.as_id()} into {target.key.as_id()}")
    if not can_move(expected.state if expected else None, target.state):
        raise ValueError(f"{target.key.as_id()}: {expected.state if expected else 'absent'} -> {target.state} "
                         "is not an allowed move")


def _in_expiry_index(record: BlockRecord) -> bool:
    return record.state is BlockState.ACTIVE and bool(record.zoom_id) and record.expires_at is not None


def _as_stored(record: BlockRecord) -> BlockRecord:
    """What a round trip through DynamoDB keeps: expires_at at whole seconds (the index's sort key is
    `clock.iso`), evidence as JSON."""
    expires_at = record.expires_at.astimezone(UTC).replace(microsecond=0) if record.expires_at else None
    return replace(record, key=BlockKey(*record.key), expires_at=expires_at,
                   evidence=json.loads(json.dumps(record.evidence)))
