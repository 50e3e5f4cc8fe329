"""A lifecycle world for service tests: fake Blocks table, Zoom, limiter, Evidence; a manual clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from spam_blocker.clock import ManualClock
from spam_blocker.domain.allowlist import ProtectedLists
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord, BlockState, tag_comment
from spam_blocker.domain.evidence import Contribution, NumberEvidence, merge
from spam_blocker.services.blocked_list_index import BlockedListIndex
from spam_blocker.services.execute_block import ExecuteBlock
from spam_blocker.services.expire_blocks import ExpireBlocks
from spam_blocker.services.remove_block import BlockRemover
from spam_blocker.services.unblock import Unblock

from tests.fakes.blocks import InMemoryBlockStore
from tests.fakes.evidence import InMemoryEvidenceStore
from tests.fakes.rate_limiter import InMemoryRateLimiter
from tests.fakes.zoom import FakeZoom

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NUMBER = "+19075550123"
KEY = BlockKey("phoneNumber", NUMBER, "inbound")


@dataclass
class World:
    clock: ManualClock
    store: InMemoryBlockStore = field(default_factory=InMemoryBlockStore)
    limiter: InMemoryRateLimiter = field(default_factory=InMemoryRateLimiter)
    evidence: InMemoryEvidenceStore = field(default_factory=InMemoryEvidenceStore)
    lists: ProtectedLists = field(default_factory=ProtectedLists)
    zoom: FakeZoom = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.zoom = self.zoom or FakeZoom(self.clock)

    def block(self, key: BlockKey = KEY, *, days: float = 30, decided_at: datetime | None = None,
              reason: str = "block +19075550123: reported by 2 employees") -> BlockRecord:
        """Given: one of our active blocks, in Zoom (tagged) and in the table."""
        decided = decided_at or self.clock.now()
        zoom_id = self.zoom.add_entry(key.phone_number, match_type=key.match_type, block_type=key.block_type,
                                      comment=tag_comment(reason))
        return self.store.put(BlockRecord(key=key, state=BlockState.ACTIVE, zoom_id=zoom_id, reason=reason,
                                          evidence={"reporters": 2}, decided_at=decided, updated_at=decided,
                                          expires_at=decided + timedelta(days=days), version=1))

    def external(self, key: BlockKey) -> BlockRecord:
        zoom_id = self.zoom.add_entry(key.phone_number, match_type=key.match_type, comment="front desk")
        return self.store.put(BlockRecord(key=key, state=BlockState.EXTERNAL, zoom_id=zoom_id, reason="a person's",
                                          decided_at=self.clock.now(), updated_at=self.clock.now(), version=1))

    def add_evidence(self, *contributions: Contribution) -> None:
        """Given: evidence as the scorer would have merged it."""
        for c in contributions:
            current = self.evidence.get_many([c.number]).get(c.number) or NumberEvidence(c.number)
            self.evidence.put(merge(current, [c]))

    def remover(self, *, deactivate: bool = False) -> BlockRemover:
        return BlockRemover(self.store, self.zoom, self.clock, deactivate=deactivate)

    def expirer(self, *, max_per_run: int = 100, deactivate: bool = False) -> ExpireBlocks:
        return ExpireBlocks(store=self.store, evidence=self.evidence, lists=self.lists,
                            remover=self.remover(deactivate=deactivate), limiter=self.limiter, clock=self.clock,
                            max_per_run=max_per_run)

    def unblock(self, cooldown_days: float = 30) -> Unblock:
        executor = ExecuteBlock(store=self.store, zoom=self.zoom, clock=self.clock,
                                index=BlockedListIndex(self.zoom, self.clock), remover=self.remover())
        return Unblock(store=self.store, executor=executor, evidence=self.evidence, limiter=self.limiter,
                       clock=self.clock, cooldown=timedelta(days=cooldown_days))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def world(clock: ManualClock) -> World:
    return World(clock)


# --- the Zoom emulator in process (call logs for the backfill) -----------------------------------------------

def call_logs(first_day: datetime, days: int, per_day: int, *, prefix: str = "log") -> list[dict]:
    """`per_day` inbound call-log records a day from `first_day` on, with ids, as Zoom returns them."""
    records = []
    for day in range(days):
        for n in range(per_day):
            when = first_day + timedelta(days=day, minutes=7 * n + 1)
            records.append({"id": f"{prefix}-{day:03d}-{n:03d}", "caller_number": f"+1907555{(day * 31 + n) % 10000:04d}",
                            "caller_number_type": 2, "callee_number": "+14155550100", "callee_number_type": 1,
                            "direction": "inbound", "duration": 3, "result": "No Answer",
                            "date_time": when.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return records


@pytest.fixture
def emulator(clock: ManualClock):
    from local.emulator import ZoomEmulator

    return ZoomEmulator("pro", clock)


@pytest.fixture
def zoom_client(emulator, clock: ManualClock):
    from spam_blocker.zoom.client import ZoomClient

    with ZoomClient.create("https://api.zoom.us/v2", "https://zoom.us/oauth/token", emulator.account_id,
                           emulator.client_id, emulator.client_secret, transport=emulator.transport(), clock=clock,
                           sleep=lambda s: clock.advance(s)) as client:
        yield client
