"""Ports: what services need from the outside world. Adapters (boto3) and zoom (httpx) implement them;
tests/fakes/ hold in-memory fakes proven by the contract suites in tests/contract/.

Each port is owned by the use case that introduced it; extend compatibly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Protocol

from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord
from spam_blocker.zoom.models import BlockedEntry, CallLogsPage


class ZoomPhone(Protocol):
    """The subset of Zoom's Phone API we use (implemented by spam_blocker.zoom.client.ZoomClient)."""

    def check_credentials(self) -> None: ...
    def list_blocked(self, page_size: int = 100) -> Iterator[BlockedEntry]: ...
    def get_blocked(self, blocked_id: str) -> BlockedEntry: ...
    def create_blocked(self, *, match_type: str, phone_number: str, block_type: str,
                       comment: str | None = None, status: str = "active") -> str: ...
    def update_blocked(self, blocked_id: str, **fields: str) -> None: ...
    def delete_blocked(self, blocked_id: str) -> None: ...
    def call_logs_page(self, *, date_from: date, date_to: date, next_page_token: str | None = None,
                       page_size: int = 300, log_type: str = "all") -> CallLogsPage: ...


class Grant(Protocol):
    granted: bool
    retry_at: datetime | None  # when not granted: the earliest time a permit may be available
    reason: str  # "ok" | "qps" | "daily" | "penalty"


class RateLimiter(Protocol):
    """Shared by every instance: one permit per Zoom request, per account and category."""

    def acquire(self, category: str, now: datetime) -> Grant: ...
    def penalize(self, category: str, until: datetime, limit_type: str) -> None: ...


class Queue(Protocol):
    def send_many(self, bodies: Iterable[str]) -> None: ...


class BlockStore(Protocol):
    """The Blocks table (read side shared by the scorer; the blocker owns the state moves)."""

    def get(self, key: BlockKey) -> BlockRecord | None: ...
    def get_many(self, keys: Iterable[BlockKey]) -> dict[BlockKey, BlockRecord]: ...
