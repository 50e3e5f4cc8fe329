"""Ports: what services need from the outside world. Adapters (boto3) and zoom (httpx) implement them;
tests/fakes/ hold in-memory fakes proven by the contract suites in tests/contract/.

Each port is owned by the use case that introduced it; extend compatibly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Protocol

from spam_blocker.domain.allowlist import ProtectedLists
from spam_blocker.domain.backfill_plan import BackfillCheckpoint
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord
from spam_blocker.domain.evidence import NumberEvidence
from spam_blocker.zoom.models import BlockedEntry, BlockedListPage, CallLogsPage


class ZoomPhone(Protocol):
    """The subset of Zoom's Phone API we use (implemented by spam_blocker.zoom.client.ZoomClient)."""

    def check_credentials(self) -> None: ...
    def list_blocked(self, page_size: int = 100) -> Iterator[BlockedEntry]: ...
    def list_blocked_page(self, page_size: int = 100, next_page_token: str | None = None) -> BlockedListPage: ...
    def get_blocked(self, blocked_id: str) -> BlockedEntry: ...
    def create_blocked(self, *, match_type: str, phone_number: str, block_type: str,
                       comment: str | None = None, status: str = "active", send_by: datetime | None = None) -> str: ...
    def update_blocked(self, blocked_id: str, **fields: str) -> None: ...
    def delete_blocked(self, blocked_id: str) -> None: ...
    def call_logs_page(self, *, date_from: date, date_to: date, next_page_token: str | None = None,
                       page_size: int = 300, log_type: str = "all") -> CallLogsPage: ...


class Grant(Protocol):
    granted: bool
    retry_at: datetime | None  # when not granted: the earliest time a permit may be available
    reason: str  # "ok" | "qps" | "daily" | "penalty"
    send_at: datetime | None  # when granted: not to be sent before (a reservation's time is in the future)
    send_by: datetime | None  # when granted: not to be sent after


class RateLimiter(Protocol):
    """Shared by every instance: one permit per Zoom request, per account and category."""

    def acquire(self, category: str, now: datetime, *, wait_up_to_s: float = 0.0) -> Grant:
        """A permit now, or (when the caller may wait) reserved for when one frees (`send_at`), or when
        to ask again."""
        ...
    def penalize(self, category: str, until: datetime, limit_type: str) -> None: ...
    def foresee(self, category: str, now: datetime, *, wait_up_to_s: float = 0.0) -> Grant | None:
        """A refusal certain from what this instance already knows (no store call), else None."""
        ...


class Queue(Protocol):
    def send_many(self, bodies: Iterable[str]) -> None: ...


class BlockStore(Protocol):
    """The Blocks table (read side shared by the scorer; the blocker owns the state moves)."""

    def get(self, key: BlockKey) -> BlockRecord | None: ...
    def get_many(self, keys: Iterable[BlockKey]) -> dict[BlockKey, BlockRecord]: ...


# --- Block state moves (owned by the blocker; the expirer and reconciler reuse them) -----------------

class StoreConflict(Exception):
    """A conditional write found the item no longer in the expected state/version: someone else moved it.
    Re-read and decide again."""


class StoreUnavailable(Exception):
    """The store throttled or failed transiently (DynamoDB throttling, 5xx): retrying later may succeed."""


class BlockStateStore(BlockStore, Protocol):
    """The Blocks table's write side. Every move is one conditional write from the expected state and
    version (`BlockRecord.version`), raising StoreConflict when the item moved meanwhile."""

    def transition(self, expected: BlockRecord | None, target: BlockRecord) -> BlockRecord:
        """Write `target` (its version ignored) iff the item is still `expected` (absent when None) and
        `block_state.can_move(expected.state, target.state)`; returns what was written (version + 1)."""
        ...

    def set_cooldown(self, expected: BlockRecord, until: datetime, now: datetime) -> BlockRecord:
        """Keep an ended block off the list until `until` (no state change; conditional on version)."""
        ...

    def active_within(self, prefix_digits: str, block_type: str, match_type: str = "phoneNumber") -> list[BlockRecord]:
        """Our active blocks of `match_type` that a prefix covers (for prefixes: itself and the longer ones), from
        the by_expiry index: eventually consistent."""
        ...

    def due_for_expiry(self, before: datetime, limit: int = 100) -> list[BlockRecord]:
        """Our active blocks with `expires_at` <= `before`, soonest first (the by_expiry index)."""
        ...


# --- Evidence and protected lists (owned by the scorer) ------------------------------------------------

class EvidenceStore(Protocol):
    """The Evidence table: one record per number, partitioned by its exchange (`evidence.exchange_of`), so
    all evidence for a candidate range is one query. Writes are conditional on the record's version and
    raise StoreConflict when someone else wrote it since it was read; throttling and other transient
    failures raise StoreUnavailable."""

    def query_exchange(self, exchange: str) -> dict[str, NumberEvidence]:
        """Every number's record in one exchange (digits, e.g. '1907555'), by E.164 number."""
        ...

    def get_many(self, numbers: Iterable[str]) -> dict[str, NumberEvidence]:
        """The records of these numbers that exist (batched reads)."""
        ...

    def put(self, evidence: NumberEvidence) -> NumberEvidence:
        """Write iff the stored version is still `evidence.version` (0: absent); returns it with version + 1."""
        ...


class ListSource(Protocol):
    """The allowlist and own numbers, as the scorer reads them (cached briefly by the adapter)."""

    def current(self) -> ProtectedLists: ...


class OwnNumberSink(Protocol):
    """Where the scorer records the account's own numbers it sees in call logs (the Evidence table's
    own-numbers list, adapters.dynamo_allowlist.DynamoListStore)."""

    def add_own_numbers(self, numbers: Iterable[str], *, source: str, now: datetime) -> int: ...


class DeadLetterSink(Protocol):
    """Where a poison message goes, with its reason (adapters.sqs_queue.DeadLetters)."""

    def reject(self, body: str, reason: str, *, message_id: str | None = None) -> None: ...


# --- Lifecycle and ops (owned by the expirer, reconciler and backfill) ---------------------------------

class BlockInventory(Protocol):
    """Every row that blocks (active or external): what the reconciler compares with Zoom's list. A scan,
    for a daily job, never per request."""

    def blocking_records(self) -> list[BlockRecord]: ...


class CheckpointStore(Protocol):
    """Backfill progress (adapters.dynamo_checkpoints): one checkpoint per normalised input, written
    conditionally on its version (StoreConflict when another run wrote it), and the call-log ids each
    fetched page enqueued, so a window restarted from its first page enqueues nothing twice."""

    def get(self, key: str) -> BackfillCheckpoint | None: ...

    def save(self, checkpoint: BackfillCheckpoint) -> BackfillCheckpoint:
        """Write iff the stored version is still `checkpoint.version` (0: absent); returns it with version + 1."""
        ...

    def add_page_ids(self, key: str, window: int, page: int, ids: Iterable[str], now: datetime) -> None: ...

    def window_ids(self, key: str, window: int) -> set[str]: ...
