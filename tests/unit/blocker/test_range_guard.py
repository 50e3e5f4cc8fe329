"""A range is checked against the evidence once more after the blocker's claim and before its POST: scorer
batches run side by side, and the one that decided a campaign's range may not have seen a legitimate caller
inside it whose evidence another batch was writing (services/range_guard.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from spam_blocker.clock import ManualClock
from spam_blocker.config.blocker import BlockerSettings
from spam_blocker.domain.allowlist import ProtectedLists, parse_list
from spam_blocker.domain.block_request import BlockKey, BlockRequest
from spam_blocker.domain.block_state import BlockState
from spam_blocker.domain.events import parse_ingest_event
from spam_blocker.domain.evidence import NumberEvidence, contribution_from, merge
from spam_blocker.domain.phone import prefix_covers
from spam_blocker.domain.scoring import DEFAULT_POLICY
from spam_blocker.ports import StoreUnavailable
from spam_blocker.services.outcomes import Result
from spam_blocker.services.range_guard import RangeGuard
from spam_blocker.services.score_events import ScoreEvents
from spam_blocker.wiring.blocker import _range_guard

from tests.fakes.evidence import InMemoryEvidenceStore
from tests.unit.blocker.conftest import World, request

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
EXCHANGE = "1305555"
LEGIT = "+13055559999"
BLOCKER_ENV = {"BLOCKS_TABLE": "b", "RATE_LIMIT_TABLE": "r", "BLOCK_QUEUE_URL": "q", "BLOCK_DLQ_URL": "d",
               "ZOOM_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:zoom"}
CAMPAIGN = ["+13055550143", "+13055551207", "+13055552388", "+13055553456", "+13055554620",
            "+13055555731", "+13055556802", "+13055557915"]


class Lists:
    def __init__(self, lists: ProtectedLists | None = None) -> None:
        self.lists = lists or ProtectedLists()

    def current(self) -> ProtectedLists:
        return self.lists


class Queue:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send_many(self, bodies):
        self.bodies += list(bodies)
        return len(self.bodies)

    def take(self) -> list[BlockRequest]:
        taken, self.bodies = self.bodies, []
        return [BlockRequest.model_validate(json.loads(b)) for b in taken]


class NoDeadLetters:
    def reject(self, body, reason, *, message_id=None):
        raise AssertionError(f"rejected: {reason}")


def call(number: str, at: datetime, callee: int, *, duration: int = 0) -> str:
    return json.dumps({"type": "call_log", "call_log": {
        "id": f"{number}-{at.isoformat()}-{callee}", "caller_number": number, "caller_number_type": 2,
        "callee_number": f"+1415555{100 + callee:04d}", "callee_number_type": 1, "direction": "inbound",
        "duration": duration, "result": "Call connected" if duration else "No Answer",
        "date_time": at.strftime("%Y-%m-%dT%H:%M:%SZ")}})


def report(number: str, at: datetime, reporter: str) -> str:
    return json.dumps({"type": "spam_report", "phone_number": number, "reporter": reporter,
                       "reported_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")})


def campaign_events() -> list[str]:
    bodies = [call(n, T0 + timedelta(minutes=10 * i + k), 3 * i + k) for i, n in enumerate(CAMPAIGN) for k in range(3)]
    return bodies + [report(CAMPAIGN[1], T0 + timedelta(hours=3), "ext-1"),
                     report(CAMPAIGN[5], T0 + timedelta(hours=3), "ext-2")]


def legit_events(at: datetime) -> list[str]:
    return [call(LEGIT, at + timedelta(hours=k), 40 + k, duration=300) for k in range(3)]


def record(store: InMemoryEvidenceStore, bodies: list[str]) -> None:
    for body in bodies:
        c = contribution_from(parse_ingest_event(body), "US")
        existing = store.get_many([c.number]).get(c.number)
        store.put(merge(existing or NumberEvidence(c.number), [c]))


def prefix_request(prefix: str = EXCHANGE, decided_at: datetime = T0 + timedelta(hours=3)) -> BlockRequest:
    return request(prefix, match_type="prefix", decided_at=decided_at, reason="campaign")


@pytest.fixture
def evidence() -> InMemoryEvidenceStore:
    return InMemoryEvidenceStore()


# --------------------------------------------------------------------------------------------- the check


def test_a_range_over_a_legitimate_caller_is_refused_with_the_reason(evidence):
    record(evidence, campaign_events() + legit_events(T0 - timedelta(days=1)))
    why = RangeGuard(evidence, Lists()).refusal(prefix_request())
    assert why is not None and LEGIT in why and "answered long call" in why


def test_evidence_later_than_the_decision_counts(evidence):
    record(evidence, campaign_events() + legit_events(T0 + timedelta(days=1)))
    assert LEGIT in (RangeGuard(evidence, Lists()).refusal(prefix_request()) or "")


def test_a_range_over_only_campaign_numbers_passes_and_a_clean_tile_beside_the_caller_too(evidence):
    record(evidence, campaign_events())
    guard = RangeGuard(evidence, Lists())
    assert guard.refusal(prefix_request()) is None
    record(evidence, legit_events(T0 - timedelta(days=1)))
    assert guard.refusal(prefix_request("13055551")) is None  # +13055559999 is not inside
    assert guard.refusal(prefix_request("13055559")) is not None


def test_allowlisted_and_own_entries_inside_are_refused_without_any_evidence(evidence):
    lists = Lists(ProtectedLists.of(allow=parse_list("+13055554444\n"), own=parse_list("+1907212*\n")))
    guard = RangeGuard(evidence, lists)
    assert "allowlisted" in (guard.refusal(prefix_request()) or "")
    assert "own number" in (guard.refusal(prefix_request("19072")) or "")


def test_the_guard_judges_legitimacy_with_the_scorers_policy_overrides(evidence):
    record(evidence, campaign_events() + legit_events(T0 - timedelta(days=50)))
    assert RangeGuard(evidence, Lists()).refusal(prefix_request()) is not None  # within legit_window_days 90
    shorter = BlockerSettings.from_env({**BLOCKER_ENV, "EVIDENCE_TABLE": "evidence", "LEGIT_WINDOW_DAYS": "30"})
    assert RangeGuard(evidence, Lists(), shorter.policy()).refusal(prefix_request()) is None
    wired = _range_guard(shorter, dynamodb=None)
    assert wired is not None and wired.policy == shorter.policy() != DEFAULT_POLICY


def test_number_blocks_are_not_checked(evidence):
    record(evidence, legit_events(T0))
    assert RangeGuard(evidence, Lists()).refusal(request(LEGIT)) is None
    assert evidence.calls.get("query_exchange", 0) == 0


# ----------------------------------------------------------------------------------------- the blocker


def test_the_blocker_refuses_the_range_after_its_claim_and_sends_nothing(clock, evidence):
    record(evidence, campaign_events() + legit_events(T0 - timedelta(days=1)))
    world = World(clock, guard=RangeGuard(evidence, Lists()))
    outcome = world.run(prefix_request())
    assert outcome.result is Result.UNSAFE and outcome.settled and LEGIT in outcome.detail
    assert world.zoom.entries() == [] and world.zoom.requests == [] and world.limiter.granted == {}
    row = world.store[BlockKey("prefix", EXCHANGE, "inbound")]
    assert row.state is BlockState.FAILED and row.failure_reason.startswith("not created:") and row.owner is None
    assert world.run(prefix_request()).result is Result.UNSAFE  # a redelivery too


def test_once_the_caller_is_no_longer_inside_the_evidence_the_range_can_be_made(clock, evidence):
    record(evidence, campaign_events() + legit_events(T0 - timedelta(days=1)))
    world = World(clock, guard=RangeGuard(evidence, Lists()))
    assert world.run(prefix_request()).result is Result.UNSAFE
    later = T0 + timedelta(days=200)  # the caller's legitimacy has aged out of legit_window_days
    record(evidence, [call(CAMPAIGN[0], later, 1), report(CAMPAIGN[0], later, "ext-9")])
    outcome = world.run(prefix_request(decided_at=later))
    assert outcome.result is Result.CREATED and len(world.zoom.entries()) == 1


def test_evidence_unavailable_gives_the_claim_back_and_retries(clock, evidence):
    record(evidence, campaign_events())
    evidence.fail_next("query_exchange", StoreUnavailable("throttled"))
    world = World(clock, guard=RangeGuard(evidence, Lists()))
    outcome = world.run(prefix_request())
    assert outcome.result is Result.RETRY and world.zoom.requests == []
    row = world.store[BlockKey("prefix", EXCHANGE, "inbound")]
    assert row.state is BlockState.PENDING and row.owner is None and row.post_started_at is None
    assert world.run(prefix_request()).result is Result.CREATED


# ------------------------------------------------------------------------- the race it closes, end to end


def test_a_caller_scored_while_the_range_waits_on_the_queue_is_never_covered(clock, evidence):
    """Batch A decides the campaign's range; batch B records a legitimate caller inside it and finds no block
    to lift (the request is still queued). The blocker's check catches it; the campaign's next call is
    decided around the caller."""
    queue = Queue()
    world = World(clock, guard=RangeGuard(evidence, Lists()))
    scorer = ScoreEvents(evidence=evidence, blocks=world.store, block_queue=queue, dead_letters=NoDeadLetters(),
                         lists=Lists(), clock=ManualClock(T0))

    def score(bodies: list[str]) -> None:
        batch = scorer.start_batch()
        for i, body in enumerate(bodies):
            batch.accept(f"m{i}", body)
        batch.finish()

    score(campaign_events())
    (decided,) = queue.take()
    assert (decided.match_type, decided.phone_number) == ("prefix", EXCHANGE)
    score(legit_events(T0 - timedelta(days=1)))
    assert queue.take() == []  # nothing to lift yet
    assert world.run(decided).result is Result.UNSAFE

    score([call("+13055558080", T0 + timedelta(hours=4), 30), report("+13055558080", T0 + timedelta(hours=4), "ext-3")])
    tiles = queue.take()
    assert tiles and all(r.match_type == "prefix" for r in tiles)
    assert {world.run(r).result for r in tiles} == {Result.CREATED}
    entries = world.zoom.entries()
    assert len(entries) == len(tiles) and not any(prefix_covers(e["phone_number"], LEGIT) for e in entries)
