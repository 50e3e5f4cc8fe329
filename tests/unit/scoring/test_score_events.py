"""The scorer's use case on fakes: parsing and dead-lettering, aggregation of writes, decisions to requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from spam_blocker.clock import ManualClock
from spam_blocker.domain.allowlist import ProtectedLists, parse_list
from spam_blocker.domain.block_request import BlockKey, BlockRequest
from spam_blocker.domain.block_state import BlockRecord, BlockState
from spam_blocker.domain.scoring import DEFAULT_POLICY
from spam_blocker.ports import StoreUnavailable
from spam_blocker.services.score_events import ScoreEvents, ScorerOptions

from tests.fakes.blocks import InMemoryBlockStore
from tests.fakes.evidence import InMemoryEvidenceStore

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
ROBO = "+13055550142"


class CapturingQueue:
    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.fail = False

    def send_many(self, bodies):
        bodies = list(bodies)
        if self.fail:
            raise RuntimeError("SQS down")
        self.bodies += bodies
        return len(bodies)

    @property
    def requests(self) -> list[BlockRequest]:
        return [BlockRequest.model_validate(json.loads(b)) for b in self.bodies]


class CapturingDeadLetters:
    def __init__(self) -> None:
        self.rejected: list[tuple[str, str, str | None]] = []

    def reject(self, body, reason, *, message_id=None):
        self.rejected.append((body, reason, message_id))


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def inbound(number: str, minutes: float, callee: int, *, call_id: str | None = None, duration: int = 0,
            answered: bool = False) -> str:
    return json.dumps({"type": "call_log", "call_log": {
        "id": call_id or f"{number}-{minutes}-{callee}", "caller_number": number, "caller_number_type": 2,
        "callee_number": f"+1907212{1000 + callee}", "direction": "inbound", "duration": duration,
        "result": "Call connected" if answered else "No Answer", "date_time": iso(T0 + timedelta(minutes=minutes))}})


def report(number: str, minutes: float, reporter: str) -> str:
    return json.dumps({"type": "spam_report", "phone_number": number, "reporter": reporter,
                       "reported_at": iso(T0 + timedelta(minutes=minutes))})


def not_spam(number: str, minutes: float, reporter: str) -> str:
    return json.dumps({"type": "not_spam", "phone_number": number, "reporter": reporter,
                       "reported_at": iso(T0 + timedelta(minutes=minutes))})


def outbound(number: str, minutes: float) -> str:
    return json.dumps({"type": "call_log", "call_log": {
        "id": f"out-{number}-{minutes}", "caller_number": "+19072121000", "caller_number_type": 1,
        "callee_number": number, "callee_number_type": 2, "direction": "outbound", "duration": 120,
        "result": "Call connected", "date_time": iso(T0 + timedelta(minutes=minutes))}})


def robocaller_batch(number: str = ROBO, start: float = 0) -> list[str]:
    return [inbound(number, start + i, i) for i in range(5)] + [report(number, start + 10, "ext-1")]


@pytest.fixture
def world():
    class World:
        evidence = InMemoryEvidenceStore()
        blocks = InMemoryBlockStore()
        queue = CapturingQueue()
        dead = CapturingDeadLetters()
        clock = ManualClock(T0 + timedelta(hours=1))
        lists = ProtectedLists()

        def scorer(self, **options) -> ScoreEvents:
            return ScoreEvents(evidence=self.evidence, blocks=self.blocks, block_queue=self.queue,
                               dead_letters=self.dead, lists=self.lists, clock=self.clock, policy=DEFAULT_POLICY,
                               options=ScorerOptions(**options))

        def run(self, bodies: list[str], **options):
            batch = self.scorer(**options).start_batch()
            verdicts = [batch.accept(f"m{i}", body) for i, body in enumerate(bodies)]
            return verdicts, batch.finish()

    return World()


def test_a_malformed_body_is_dead_lettered_with_its_reason_and_the_rest_is_scored(world):
    bodies = ["{not json", json.dumps({"type": "mystery"}), inbound("not-a-number", 0, 1),
              inbound("911", 1, 1)] + robocaller_batch()
    verdicts, outcome = world.run(bodies)
    assert verdicts[:4] == ["rejected", "rejected", "rejected", "ignored"]
    assert [(m, r.split(":")[0]) for _, r, m in world.dead.rejected] == [
        ("m0", "bad JSON"), ("m1", "unknown type 'mystery' (expected one of call_log, spam_report, not_spam)"),
        ("m2", "invalid caller_number")]
    assert world.dead.rejected[0][0] == "{not json"  # the body as received
    assert (outcome.rejected, outcome.ignored, outcome.accepted) == (3, 1, 6)
    assert outcome.failed_message_ids == []
    assert [(r.match_type, r.phone_number) for r in world.queue.requests] == [("phoneNumber", ROBO)]


def test_events_dated_in_the_future_are_judged_by_event_time_unless_a_tolerance_is_set(world):
    verdicts, _ = world.run([report(ROBO, 60 * 24 * 3, "ext-1")])
    assert verdicts == ["accepted"]
    verdicts, _ = world.run([report(ROBO, 60 * 24 * 3, "ext-1")], future_tolerance=timedelta(days=1))
    assert verdicts == ["rejected"] and "in the future" in world.dead.rejected[0][1]


def test_a_block_already_expired_by_the_clock_is_not_requested_when_asked(world):
    # A backfill of old call logs: the decision (one reporter: blocked for 10 days from the event) has run out.
    world.clock.set(T0 + timedelta(days=DEFAULT_POLICY.single_reporter_block_days + 1))
    _, kept = world.run(robocaller_batch())
    assert [r.phone_number for r in kept.requests] == [ROBO]  # off by default: the clock is event time
    world.queue.bodies.clear()
    world.blocks = InMemoryBlockStore()
    other = "+12125550199"
    _, skipped = world.run(robocaller_batch(other), skip_expired=True)
    assert world.queue.bodies == [] and skipped.expired_skipped == 1 and other in world.evidence
    assert world.blocks.calls.get("get_many", 0) == 0  # nothing to look up for a block never requested
    assert any(d.action == "block_number" for d in skipped.decisions)
    world.clock.set(T0 + timedelta(days=DEFAULT_POLICY.single_reporter_block_days - 1))  # still in force
    _, live = world.run(robocaller_batch("+13125550177"), skip_expired=True)
    assert [r.phone_number for r in world.queue.requests] == ["+13125550177"] and live.expired_skipped == 0
    expected = T0 + timedelta(minutes=10, days=DEFAULT_POLICY.single_reporter_block_days)
    assert world.queue.requests[0].expires_at == expected


def test_one_write_per_changed_number_per_batch_and_none_for_a_redelivery(world):
    _, first = world.run(robocaller_batch() + robocaller_batch("+12125550199", 30))
    assert first.evidence_writes == 2 and world.evidence.calls["put"] == 2
    assert world.evidence.calls["query_exchange"] == 2  # one read per exchange with a suspicious event
    _, again = world.run(robocaller_batch())  # redelivered
    assert again.evidence_writes == 0 and world.evidence.calls["put"] == 2
    assert world.evidence[ROBO].version == 1 and len(world.evidence[ROBO].calls) == 5


def test_numbers_without_a_suspicious_event_are_read_in_one_batch(world):
    _, outcome = world.run([outbound("+13125550100", 1), outbound("+14155550100", 2)])
    assert world.evidence.calls == {"get_many": 1, "put": 2}
    assert outcome.evidence_writes == 2 and not world.queue.bodies


def test_a_lost_race_is_merged_again_not_overwritten(world):
    from spam_blocker.domain.evidence import Contribution, NumberEvidence, merge

    other = merge(NumberEvidence(ROBO), [Contribution("report", ROBO, int(T0.timestamp()), "ext-7")])
    world.evidence.conflict_next_put(other)
    _, outcome = world.run(robocaller_batch())
    stored = world.evidence[ROBO]
    assert {r for r, _ in stored.reports} == {"ext-1", "ext-7"} and len(stored.calls) == 5
    assert stored.version == 2 and outcome.failed_message_ids == []


def test_a_store_failure_fails_exactly_that_exchanges_messages(world):
    world.evidence.fail_next("query_exchange", StoreUnavailable("throttled"))  # exchanges are read in order
    _, outcome = world.run(robocaller_batch() + [inbound("+12125550199", 1, 1)])
    assert outcome.failed_message_ids == ["m6"]  # 1212555 was read first and failed; 1305555 went through
    assert ROBO in world.evidence and "+12125550199" not in world.evidence
    assert [r.phone_number for r in world.queue.requests] == [ROBO]


def test_a_queue_failure_fails_the_messages_behind_the_request(world):
    world.queue.fail = True
    _, outcome = world.run(robocaller_batch() + [outbound("+13125550100", 1)])
    assert outcome.failed_message_ids == [f"m{i}" for i in range(6)]
    world.queue.fail = False
    _, retried = world.run(robocaller_batch())  # the redelivery sends it, without writing again
    assert retried.evidence_writes == 0 and [r.phone_number for r in world.queue.requests] == [ROBO]


def test_a_request_carries_the_explanation_evidence_and_event_time_expiry(world):
    world.run(robocaller_batch())
    [request] = world.queue.requests
    assert request.action == "block" and request.block_type == "inbound"
    assert request.decided_at == T0 + timedelta(minutes=10)
    assert request.expires_at == request.decided_at + timedelta(days=DEFAULT_POLICY.single_reporter_block_days)
    assert request.reason.startswith(f"block {ROBO}: reported by 1 person") and len(request.reason) <= 200
    assert request.evidence["reporters"] == 1 and request.evidence["robocall_pattern"] is True


@pytest.mark.parametrize("state, sent", [(BlockState.ACTIVE, False), (BlockState.PENDING, False),
                                         (BlockState.EXTERNAL, False), (BlockState.EXPIRED, True)])
def test_a_number_already_blocked_is_not_requested_again(world, state, sent):
    key = BlockKey("phoneNumber", ROBO, "inbound")
    world.blocks.put(BlockRecord(key=key, state=state))
    _, outcome = world.run(robocaller_batch())
    assert bool(world.queue.bodies) is sent
    assert outcome.already_covered == (0 if sent else 1)


def test_a_number_inside_a_blocked_prefix_is_not_requested(world):
    world.blocks.put(BlockRecord(key=BlockKey("prefix", "1305555", "inbound"), state=BlockState.ACTIVE))
    world.run(robocaller_batch())
    assert world.queue.bodies == []


def test_a_block_in_its_cool_down_is_not_requested(world):
    key = BlockKey("phoneNumber", ROBO, "inbound")
    world.blocks.put(BlockRecord(key=key, state=BlockState.REMOVED, cooldown_until=T0 + timedelta(days=5)))
    world.run(robocaller_batch())
    assert world.queue.bodies == []


def test_not_spam_unblocks_our_blocks_over_the_number_with_a_cool_down(world):
    world.blocks.put(BlockRecord(key=BlockKey("phoneNumber", ROBO, "inbound"), state=BlockState.ACTIVE))
    world.blocks.put(BlockRecord(key=BlockKey("prefix", "1305555", "inbound"), state=BlockState.ACTIVE))
    world.blocks.put(BlockRecord(key=BlockKey("prefix", "130555", "inbound"), state=BlockState.EXTERNAL))
    world.run(robocaller_batch() + [not_spam(ROBO, 20, "ext-2")])
    requests = world.queue.requests
    assert {(r.action, r.phone_number) for r in requests} == {("unblock", ROBO), ("unblock", "1305555")}
    assert all(r.cooldown_until == T0 + timedelta(minutes=20, days=30) for r in requests)


def test_an_employee_calling_a_blocked_number_lifts_the_block(world):
    world.run(robocaller_batch())
    world.blocks.put(BlockRecord(key=BlockKey("phoneNumber", ROBO, "inbound"), state=BlockState.ACTIVE))
    world.run([outbound(ROBO, 40)])
    unblock = world.queue.requests[-1]
    assert (unblock.action, unblock.phone_number, unblock.cooldown_until) == ("unblock", ROBO, None)


def test_shadow_mode_decides_but_sends_nothing(world):
    _, outcome = world.run(robocaller_batch(), shadow_mode=True)
    assert world.queue.bodies == [] and [r.phone_number for r in outcome.requests] == [ROBO]
    assert any(d.action == "block_number" for d in outcome.decisions)


def test_allowlisted_numbers_are_recorded_but_never_requested(world):
    world.lists = ProtectedLists.of(allow=parse_list("+1305555*\n"))
    _, outcome = world.run(robocaller_batch())
    assert ROBO in world.evidence and world.queue.bodies == []
    assert outcome.decisions[0].evidence["rule"] == "allowlisted"


def test_a_campaign_range_tiled_around_own_numbers_becomes_one_request_per_prefix(world):
    world.lists = ProtectedLists.of(own=parse_list("".join(f"+1907555{100 + i:04d}\n" for i in range(30))))
    bodies = []
    for n, line in enumerate(["1234", "3456", "5678", "7890"]):
        bodies += [inbound(f"+1907555{line}", 20 * n + i, 10 * n + i) for i in range(4)]
    bodies.append(report("+19075551234", 100, "ext-3"))
    world.run(bodies)
    prefixes = sorted(r.phone_number for r in world.queue.requests if r.match_type == "prefix")
    assert len(prefixes) == 18 and "19075551" in prefixes and not any(p.startswith("190755501") for p in prefixes)
    assert all(r.expires_at == r.decided_at + timedelta(days=DEFAULT_POLICY.prefix_block_days)
               for r in world.queue.requests if r.match_type == "prefix")


def test_decisions_are_made_as_of_the_latest_event_time_known_in_the_exchange(world):
    world.run(robocaller_batch("+13055550111", 600))  # a neighbour seen ten hours later
    world.run(robocaller_batch())  # a backfill of earlier events
    backfilled = world.queue.requests[-1]
    assert backfilled.phone_number == ROBO and backfilled.decided_at == T0 + timedelta(minutes=610)


def _campaign_calls(start: float, numbers: range) -> list[str]:
    return [inbound(f"+1907555{n:04d}", start + n, n % 7) for n in numbers]


def test_an_exchange_a_prefix_block_covers_is_not_read_whole_once_the_block_is_confirmed(world):
    scorer = world.scorer()
    world.blocks.put(BlockRecord(key=BlockKey("prefix", "1907555", "inbound"), state=BlockState.ACTIVE))

    def run(bodies):
        batch = scorer.start_batch()
        for i, body in enumerate(bodies):
            batch.accept(f"m{i}", body)
        return batch.finish()

    first = run(_campaign_calls(0, range(0, 5)) + [report("+19075550001", 6, "ext-1")])
    queries = world.evidence.calls.get("query_exchange", 0)
    second = run(_campaign_calls(10, range(5, 10)))
    assert (first.exchanges_skipped, second.exchanges_skipped) == (0, 1)  # the first batch learns of the block
    assert world.evidence.calls.get("query_exchange", 0) == queries
    assert all(f"+1907555{n:04d}" in world.evidence for n in range(10)) and world.queue.bodies == []

    # once the block is gone, the exchange is read whole again (and the scorer forgets the block)
    world.blocks.put(BlockRecord(key=BlockKey("prefix", "1907555", "inbound"), state=BlockState.EXPIRED))
    third = run(_campaign_calls(20, range(10, 12)))
    assert third.exchanges_skipped == 0 and world.evidence.calls["query_exchange"] == queries + 1
    assert scorer.remembered_prefix_blocks("+19075550100") == []


def test_an_exchange_with_one_uncovered_suspicious_number_is_read_whole(world):
    scorer = world.scorer()
    world.blocks.put(BlockRecord(key=BlockKey("prefix", "19075551", "inbound"), state=BlockState.ACTIVE))
    scorer.learn_prefix_blocks([BlockKey("prefix", "19075551", "inbound")], world.blocks.get_many(
        [BlockKey("prefix", "19075551", "inbound")]))
    batch = scorer.start_batch()
    for i, body in enumerate([inbound("+19075551234", 1, 1), inbound("+19075552345", 2, 2)]):
        batch.accept(f"m{i}", body)
    assert batch.finish().exchanges_skipped == 0 and world.evidence.calls["query_exchange"] == 1


class _OwnNumbers:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.added: list[tuple[str, str]] = []

    def add_own_numbers(self, numbers, *, source, now):
        if self.fail:
            raise StoreUnavailable("evidence table unavailable")
        self.added += [(n, source) for n in numbers]
        return len(numbers)


@pytest.mark.parametrize("fail", [False, True])
def test_the_company_s_lines_a_batch_shows_are_never_inside_its_ranges_even_when_recording_them_fails(world, fail):
    """No own-numbers list: the callees of the campaign's calls (the company's lines, in the campaign's own
    exchange) become own numbers before the batch decides, and the range is tiled around them. If they
    cannot be recorded, this batch's decisions still protect them."""
    sink = _OwnNumbers(fail=fail)
    lines = [f"+1907555{100 + i:04d}" for i in range(30)]
    bodies = []
    for n, line in enumerate(["1234", "3456", "5678", "7890"]):
        for i in range(4):
            body = json.loads(inbound(f"+1907555{line}", 20 * n + i, 0))
            body["call_log"]["callee_number"] = lines[(10 * n + i) % 30]
            bodies.append(json.dumps(body))
    bodies.append(report("+19075551234", 100, "ext-3"))
    scorer = world.scorer()
    scorer.own_numbers = sink
    batch = scorer.start_batch()
    for i, body in enumerate(bodies):
        batch.accept(f"m{i}", body)
    outcome = batch.finish()

    called = {lines[(10 * n + i) % 30] for n in range(4) for i in range(4)}
    prefixes = [r.phone_number for r in world.queue.requests if r.match_type == "prefix"]
    assert prefixes and not any(n.lstrip("+").startswith(p) for p in prefixes for n in called)
    assert sorted(n for n, _ in sink.added) == ([] if fail else sorted(called))
    assert outcome.own_numbers_learned == (0 if fail else len(called)) and outcome.failed_message_ids == []
