"""A blocker world for service tests: fake Blocks table, fake Zoom, in-memory limiter, manual clock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from spam_blocker.clock import ManualClock
from spam_blocker.domain.block_request import BlockRequest
from spam_blocker.services.blocked_list_index import BlockedListIndex
from spam_blocker.services.execute_block import BlockerPolicy, ExecuteBlock
from spam_blocker.services.outcomes import Outcome
from spam_blocker.services.permits import Permits
from spam_blocker.services.range_guard import RangeGuard
from spam_blocker.services.remove_block import BlockRemover

from tests.fakes.blocks import InMemoryBlockStore
from tests.fakes.rate_limiter import InMemoryRateLimiter
from tests.fakes.zoom import FakeZoom

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NUMBER = "+19075550123"


def request(phone_number: str = NUMBER, *, match_type: str | None = None, action: str = "block",
            reason: str = "14 spam reports from 9 reporters", decided_at: datetime = START,
            cooldown_until: datetime | None = None, block_type: str = "inbound") -> BlockRequest:
    return BlockRequest(
        action=action, match_type=match_type or ("phoneNumber" if phone_number.startswith("+") else "prefix"),
        phone_number=phone_number, block_type=block_type, reason=reason, evidence={"reports": 14},
        expires_at=decided_at + timedelta(days=30), decided_at=decided_at, cooldown_until=cooldown_until)


@dataclass
class World:
    clock: ManualClock
    store: InMemoryBlockStore = field(default_factory=InMemoryBlockStore)
    limiter: InMemoryRateLimiter = field(default_factory=InMemoryRateLimiter)
    policy: BlockerPolicy = field(default_factory=BlockerPolicy)
    zoom: FakeZoom = None  # type: ignore[assignment]
    index: BlockedListIndex = None  # type: ignore[assignment]
    guard: RangeGuard | None = None
    _attempts: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.zoom = self.zoom or FakeZoom(self.clock)
        self.index = self.index or BlockedListIndex(self.zoom, self.clock, page_size=100, settle_s=1.0)

    def executor(self) -> ExecuteBlock:
        return ExecuteBlock(store=self.store, zoom=self.zoom, clock=self.clock, index=self.index,
                            remover=BlockRemover(self.store, self.zoom, self.clock), policy=self.policy,
                            guard=self.guard)

    def permits(self) -> Permits:
        return Permits(self.limiter, self.clock)

    def run(self, req: BlockRequest, *, permits: Permits | None = None, attempt: str | None = None) -> Outcome:
        """One delivery of `req` (a fresh attempt id each time, as every receive has)."""
        return self.executor().execute(req, attempt_id=attempt or f"attempt-{next(self._attempts)}",
                                       permits=permits or self.permits())

    def until_settled(self, req: BlockRequest, *, step_s: float = 2.0, rounds: int = 20) -> list[Outcome]:
        """Redeliver until the outcome is settled, moving the clock past each retry time."""
        outcomes = []
        for _ in range(rounds):
            outcome = self.run(req)
            outcomes.append(outcome)
            if outcome.settled:
                return outcomes
            if outcome.retry_at is not None and outcome.retry_at > self.clock.now():
                self.clock.set(outcome.retry_at)
            self.clock.advance(step_s)
        raise AssertionError(f"not settled after {rounds} deliveries: {outcomes}")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def world(clock: ManualClock) -> World:
    return World(clock)
