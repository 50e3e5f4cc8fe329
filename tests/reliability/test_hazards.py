"""The pipeline's end state under every hazard, through the real handlers on a virtual clock (harness.py).

Each test delivers events (or block requests), lets something go wrong - poison, duplicates, reordering,
crashes, DynamoDB throttling and lost races, Zoom 5xx bursts, dropped and lost answers, 429 storms, revoked
and expired tokens - drains the queues, and checks the end state: Zoom holds exactly one entry per block
(none twice, none missing), the Blocks table agrees, and every message that failed for good is in a DLQ
with its reason. Hazards already covered one handler at a time in tests/integration/test_blocker_hazards.py
and tests/contract are taken here end to end, across both functions and several instances.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from spam_blocker.domain.block_state import BlockState
from spam_blocker.zoom.auth import clear_token_cache

from functions.blocker.handler import handle as blocker_handle
from functions.scorer.handler import handle as scorer_handle
from local.esm_loop import LambdaContext, sqs_record
from tests.reliability.harness import START, World, block_request, not_spam, report, reported_twice

NUMBERS = [f"+1907555{n:04d}" for n in range(40)]
DEEP = "[" * (sys.getrecursionlimit() + 200) + "]" * (sys.getrecursionlimit() + 200)


def throttle_error(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                  "Message": "The level of configured provisioned throughput for the table was exceeded."},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


# --- poison --------------------------------------------------------------------------------------------

POISON_EVENTS = {
    "{not json": "bad JSON",
    "[1, 2]": "JSON object",
    DEEP: "nested too deeply",
    json.dumps({"type": "voicemail", "phone_number": "+19075550123"}): "unknown type",
    json.dumps({"type": "spam_report", "phone_number": "+19075550123", "reported_at": "2026-11-20T10:00:00Z"}):
        "missing field reporter",
    json.dumps({"type": "spam_report", "phone_number": "call me", "reporter": "x", "reported_at": "2026-11-20T10:00:00Z"}):
        "phone_number",
    json.dumps({"type": "spam_report", "phone_number": "+19075550123", "reporter": "x",
                "reported_at": "2026-11-20T10:00:00"}): "zone",
    json.dumps({"type": "spam_report", "phone_number": "+19075550123", "reporter": "x",
                "reported_at": "9999-12-31T23:59:59-01:00"}): "out of range",
    json.dumps({"type": "spam_report", "phone_number": "+19075550123", "reporter": "x",
                "reported_at": "9999-12-20T00:00:00Z"}): "out of range",
    json.dumps({"type": "call_log", "call_log": {"caller_number": "+19075550123", "duration": [3],
                                                 "date_time": "2026-11-20T10:00:00Z"}}): "duration",
}


def test_poison_events_are_dead_lettered_with_their_reason_and_the_rest_of_the_batch_is_scored(aws):
    world = World(scorer_batch=50)
    bodies = [*POISON_EVENTS, *reported_twice(NUMBERS[0]), *reported_twice(NUMBERS[1])]
    random.Random(5).shuffle(bodies)  # poison anywhere in the batch
    world.send(*bodies)

    world.drain()

    dead = world.dead_letters("ingest")
    assert sorted(body for body, _ in dead) == sorted(POISON_EVENTS)
    for body, reason in dead:
        assert reason and POISON_EVENTS[body] in reason, (reason, body[:80])
    assert world.scorer_map.stats.batches == 1 and world.scorer_map.stats.failed_records == 0
    world.assert_blocked_once(NUMBERS[:2])
    assert world.dead_letters("block") == [] and world.depths()["ingest"] == 0


def test_poison_block_requests_are_dead_lettered_with_their_reason_and_the_rest_are_blocked(aws):
    world = World()
    good = json.loads(block_request(NUMBERS[0]))
    poison = [
        "{", "[]", json.dumps({**good, "match_type": "number"}), json.dumps({**good, "phone_number": "+1 907 555 0001"}),
        json.dumps({**good, "match_type": "prefix", "phone_number": "١٩٠٧٥٥٥"}),
        json.dumps({k: v for k, v in good.items() if k != "expires_at"}),
        json.dumps({**good, "expires_at": "9999-12-31T23:59:59-01:00"}),
        json.dumps({**good, "action": "delete"}),
    ]
    world.send(*poison, *(block_request(n) for n in NUMBERS[:3]), queue="block")

    world.drain()

    dead = world.dead_letters("block")
    assert sorted(body for body, _ in dead) == sorted(poison)
    assert all(reason and reason.startswith("invalid block request") for _, reason in dead), dead
    world.assert_blocked_once(NUMBERS[:3])
    assert world.posts() == 3 and world.depths()["block"] == 0


# --- duplicates and order ------------------------------------------------------------------------------

def _scenario() -> list[str]:
    """Five numbers two people report; one of them is cleared by a colleague later (not_spam)."""
    events = [b for k, n in enumerate(NUMBERS[:5]) for b in reported_twice(n, minutes=k * 10)]
    return events + [not_spam(NUMBERS[2], "ext-1003", minutes=120)]


def _end_state(bodies: list[str], batch: int) -> tuple[dict, dict, list]:
    """Zoom's entries, the blocking rows of the Blocks table, and the dead letters after delivering `bodies`."""
    clear_token_cache()
    with mock_aws():
        world = World(scorer_batch=batch)
        for start in range(0, len(bodies), batch):
            world.send(*bodies[start:start + batch])
            world.drain()
        blocking = {key: str(row.state) for key, row in world.blocks().items() if row.is_blocking}
        return dict(world.entries()), blocking, world.dead_letters("ingest") + world.dead_letters("block")


def test_duplicated_and_reordered_delivery_ends_in_the_same_zoom_state():
    in_order = _scenario()
    entries, blocking, dead = _end_state(in_order, batch=10)
    expected = {("phoneNumber", n) for n in NUMBERS[:5] if n != NUMBERS[2]}  # the cleared one is not in Zoom
    assert entries == {key: 1 for key in expected} and set(blocking) == expected and dead == []

    # every event delivered twice, newest first (the not_spam before the reports), a few per batch
    shuffled = [b for body in reversed(in_order) for b in (body, body)]
    assert _end_state(shuffled, batch=3) == (entries, blocking, [])


@pytest.mark.parametrize("blocker_sees", ["block first", "unblock first"])
def test_a_not_spam_scored_after_reports_whose_block_is_still_queued_keeps_the_number_off_zoom(aws, blocker_sees):
    """Two scorers race: one records the reports and queues a block; the other records the not_spam after it
    (so it sees the reports too) while the block is still in BlockQueue, with no row to unblock yet."""
    world = World()
    world.send(*reported_twice(NUMBERS[0]))
    assert world.scorer_map.poll_once()  # the block request is queued, not yet executed
    world.send(not_spam(NUMBERS[0], "ext-1003", minutes=30))
    assert world.scorer_map.poll_once()
    bodies = []
    while batch := world.sqs.receive_message(QueueUrl=world.urls["block"], MaxNumberOfMessages=10).get("Messages"):
        for m in batch:
            bodies.append(m["Body"])
            world.sqs.delete_message(QueueUrl=world.urls["block"], ReceiptHandle=m["ReceiptHandle"])
    actions = sorted(json.loads(b).get("action", "block") for b in bodies)
    assert actions == ["block", "unblock"]
    bodies.sort(key=lambda b: json.loads(b).get("action", "block"), reverse=blocker_sees == "unblock first")
    for body in bodies:
        world.send(body, queue="block")
        world.drain()

    assert world.entries() == {} and world.dead_letters("block") == []
    row = world.blocks()[("phoneNumber", NUMBERS[0])]
    assert row.state in {BlockState.REMOVED, BlockState.FAILED} and row.cooldown_until is not None


# --- crashes -------------------------------------------------------------------------------------------

class LambdaKilled(Exception):
    """The invocation died (timeout, out of memory): Lambda deletes nothing, the whole batch comes back."""


def test_a_scorer_crash_after_sending_its_block_requests_redelivers_the_batch_and_blocks_once(aws):
    world = World()
    calls = {"n": 0}

    def dies_once(event, context):
        calls["n"] += 1
        result = scorer_handle(event, context, world.scorer)
        if calls["n"] == 1:
            raise LambdaKilled("after the block requests went out, before the batch was acknowledged")
        return result

    world.scorer_handler = dies_once
    world.send(*[b for n in NUMBERS[:3] for b in reported_twice(n)])

    world.drain()

    assert calls["n"] == 2 and world.scorer_map.stats.handler_errors == 1
    assert world.clock.now() >= START + timedelta(seconds=360)  # it came back after the visibility timeout
    world.assert_blocked_once(NUMBERS[:3])
    assert world.posts() == 3
    assert world.dead_letters("ingest") == [] and world.dead_letters("block") == []


def test_a_blocker_killed_mid_batch_after_a_post_adopts_that_entry_and_posts_the_rest_once(aws):
    world = World()
    zoom = world.blockers[0].zoom
    real_create, posted = zoom.create_blocked, []

    def create_then_die(**kwargs):
        zoom_id = real_create(**kwargs)
        posted.append(kwargs["phone_number"])
        if len(posted) == 4:
            raise SystemExit("Lambda runtime killed after the 4th POST, before its state write")
        return zoom_id

    zoom.create_blocked = create_then_die

    def lambda_dies(event, context):
        try:
            return blocker_handle(event, context, world.blockers[0])
        except SystemExit as exc:
            raise LambdaKilled(str(exc)) from None

    world.blocker_handler = lambda_dies
    world.send(*(block_request(n) for n in NUMBERS[:10]), queue="block")

    world.drain()

    world.assert_blocked_once(NUMBERS[:10])
    assert world.posts() == 10  # the 4th entry was found and adopted, not posted again
    assert world.blocker_map.stats.handler_errors == 1
    assert len(world.requests("GET /phone/blocked_list")) >= 1  # the lookup that found it
    assert world.dead_letters("block") == []


# --- DynamoDB throttling and lost conditional-write races ------------------------------------------------

def test_a_throttled_state_write_after_a_successful_post_is_adopted_not_posted_again(aws):
    world = World()
    throttled = []

    def activate_throttled(params, model, **_):
        item = params.get("Item", {})
        if params.get("TableName") == "blocks" and item.get("state", {}).get("S") == "active" and not throttled:
            throttled.append(item["block_id"])
            raise throttle_error(model.name)

    world.ddb.meta.events.register("before-parameter-build.dynamodb.PutItem", activate_throttled)
    world.send(block_request(NUMBERS[0]), queue="block")

    world.drain()

    assert throttled
    world.assert_blocked_once(NUMBERS[:1])
    assert world.posts() == 1
    assert world.dead_letters("block") == []


def test_ten_minutes_of_throttling_on_every_table_lose_no_evidence_and_no_block(aws):
    world = World(instances=2)
    throttled = []

    def throttling(params, model, **_):
        if world.clock.now() < START + timedelta(minutes=10):  # every call, every table; then it recovers
            throttled.append(model.name)
            raise throttle_error(model.name)

    world.ddb.meta.events.register("before-parameter-build.dynamodb", throttling)
    world.send(*[b for n in NUMBERS[:6] for b in reported_twice(n)])
    world.drain(until=START + timedelta(minutes=5))
    world.send(*(block_request(n) for n in NUMBERS[6:9]), queue="block")  # the blocker meets it too

    world.drain()

    assert {"Query", "BatchGetItem"} <= set(throttled)  # the scorer's exchange read, the blocker's first read
    world.assert_blocked_once(NUMBERS[:9])
    assert world.posts() == 9
    evidence = {item["sk"]["S"]: json.dumps(item) for item in world.ddb.scan(TableName="evidence")["Items"]
                if item["pk"]["S"].startswith("x#")}
    assert all("ext-1001" in evidence[n] and "ext-1002" in evidence[n] for n in NUMBERS[:6])
    assert world.dead_letters("ingest") == [] and world.dead_letters("block") == []


def test_a_lost_claim_race_in_the_blocker_is_read_again_and_posts_once(aws):
    world = World(instances=2)
    body = block_request(NUMBERS[0])
    raced = []

    def rival_first(params, model, **_):
        item = params.get("Item", {})
        if params.get("TableName") == "blocks" and item.get("state", {}).get("S") == "pending" and not raced:
            raced.append("rival")  # another container handles a duplicate of the same request in between
            record = {"MessageId": "rival", "ReceiptHandle": "rival", "Body": body, "Attributes": {}}
            event = {"Records": [sqs_record(record, "arn:aws:sqs:us-east-1:123456789012:block", "us-east-1")]}
            result = blocker_handle(event, LambdaContext(function_name="blocker"), world.blockers[1])
            assert result["batchItemFailures"] == []

    world.ddb.meta.events.register("before-parameter-build.dynamodb.PutItem", rival_first)
    world.send(body, queue="block")

    world.drain()

    assert raced
    world.assert_blocked_once(NUMBERS[:1])
    assert world.posts() == 1  # the instance that lost the conditional write saw the block active
    assert world.dead_letters("block") == []


def test_a_lost_evidence_write_race_in_the_scorer_merges_both_reports(aws):
    world = World()
    raced = []

    def rival_first(params, model, **_):
        if params.get("TableName") == "evidence" and "ConditionExpression" in params and not raced:
            raced.append("rival")  # another scorer instance records the colleague's report first
            record = {"MessageId": "rival", "ReceiptHandle": "rival", "Body": report(NUMBERS[0], "ext-1002", 1),
                      "Attributes": {}}
            event = {"Records": [sqs_record(record, "arn:aws:sqs:us-east-1:123456789012:ingest", "us-east-1")]}
            assert scorer_handle(event, LambdaContext(function_name="scorer"), world.scorer)["batchItemFailures"] == []

    world.ddb.meta.events.register("before-parameter-build.dynamodb.PutItem", rival_first)
    world.send(report(NUMBERS[0], "ext-1001", 0))

    world.drain()

    assert raced
    world.assert_blocked_once(NUMBERS[:1])  # two reporters: only if neither write overwrote the other
    assert world.dead_letters("ingest") == []


# --- Zoom failing --------------------------------------------------------------------------------------

def test_a_5xx_burst_on_posts_and_listings_ends_with_one_entry_per_block(aws):
    world = World(instances=2)
    faults = world.emulator.faults
    faults.inject("5xx", route="POST /phone/blocked_list", count=6, status=503)
    faults.inject("5xx", route="GET /phone/blocked_list", count=3, status=502, html=True)
    faults.inject("commit_then_fail", route="POST /phone/blocked_list", count=2, fail_with="5xx", status=500)
    world.send(*(block_request(n) for n in NUMBERS[:8]), queue="block")

    world.drain()

    assert not faults.pending()
    world.assert_blocked_once(NUMBERS[:8])
    assert world.dead_letters("block") == []


@pytest.mark.parametrize("kind, options", [
    ("drop", {}),
    ("slow", {"delay_s": 60.0}),
    ("commit_then_fail", {"fail_with": "drop"}),
    ("commit_then_fail", {"fail_with": "5xx", "status": 504}),
], ids=["drop", "slow", "committed-then-dropped", "committed-then-5xx"])
def test_dropped_slow_and_lost_answers_never_duplicate_nor_lose_an_entry(aws, kind, options):
    world = World(instances=2)
    world.emulator.faults.inject(kind, route="POST /phone/blocked_list", count=3, **options)
    world.emulator.faults.inject("drop", route="GET /phone/blocked_list", count=1)
    world.send(*(block_request(n) for n in NUMBERS[:5]), queue="block")

    world.drain()

    assert not world.emulator.faults.pending()
    world.assert_blocked_once(NUMBERS[:5])
    committed = 3 if kind in ("slow", "commit_then_fail") else 0
    assert world.posts() == 5 + 3 - committed  # a POST that took effect is adopted, never repeated
    assert world.dead_letters("block") == []


def test_an_unblock_whose_delete_committed_then_failed_ends_removed_with_the_entry_gone(aws):
    world = World()
    world.send(*reported_twice(NUMBERS[0]))
    world.drain()
    world.assert_blocked_once(NUMBERS[:1])
    world.emulator.faults.inject("commit_then_fail", route="DELETE /phone/blocked_list/{id}", fail_with="drop")

    world.send(not_spam(NUMBERS[0], "ext-1003", minutes=30))
    world.drain()

    assert world.emulator.entries() == []
    row = world.blocks()[("phoneNumber", NUMBERS[0])]
    assert str(row.state) == "removed" and row.cooldown_until is not None
    assert len(world.requests("DELETE /phone/blocked_list/{id}")) == 2
    assert world.dead_letters("ingest") == [] and world.dead_letters("block") == []


@pytest.mark.parametrize("form", ["seconds", "http-date", "iso", "none"])
def test_a_429_storm_in_each_retry_after_form_is_waited_out_by_every_instance(aws, form):
    world = World(instances=3)
    world.emulator.faults.inject("429", route="POST /phone/blocked_list", rate=0.3, count=8, retry_after=form,
                                 retry_after_s=2)
    world.send(*(block_request(n) for n in NUMBERS[:30]), queue="block")

    world.drain()

    world.assert_blocked_once(NUMBERS[:30])
    light = sorted((r for r in world.requests() if r.category == "Light"), key=lambda r: (r.at, r.seq))
    storms = [r for r in light if r.status == 429]
    assert len(storms) == 8 and all(r.fault == "429" for r in storms)  # Zoom's real limit was never hit
    wait = timedelta(seconds=1 if form == "none" else 2)  # "none": the client's fallback of a second
    for throttled in storms:
        later = [r for r in light if r.seq > throttled.seq]
        assert not later or later[0].at >= throttled.at + wait, (form, throttled.at, later[0].at)
    assert world.dead_letters("block") == []
    assert all(str(row.state) == "active" for row in world.blocks().values())


def test_revoked_and_expired_tokens_mid_run_are_refreshed_and_nothing_is_lost_or_duplicated(aws):
    world = World(instances=3)
    world.send(*(block_request(n) for n in NUMBERS[:10]), queue="block")
    world.drain()
    world.emulator.expire_tokens()  # revoked: every instance's cached token now answers 401

    world.send(*(block_request(n) for n in NUMBERS[10:20]), queue="block")
    world.drain()
    world.clock.advance(hours=2)  # past the token's lifetime: refreshed before use, no 401 needed

    world.send(*(block_request(n) for n in NUMBERS[20:30]), queue="block")
    world.drain()

    world.assert_blocked_once(NUMBERS[:30])
    unauthorized = [r for r in world.requests() if r.status == 401]
    assert 1 <= len(unauthorized) <= 3  # the first call of each instance that still held the revoked token
    assert world.posts() == 30 + sum(1 for r in unauthorized if r.route == "POST /phone/blocked_list")
    assert world.emulator.stats()["tokens_issued"] <= 3  # one per event, shared by the instances
    assert world.dead_letters("block") == []


# --- found by this suite, then fixed: a long Zoom outage and a failed permit write (blocker); a message
# redriven after repeated failures without its reason (scorer) ------------------------------------------------

def test_a_minute_long_zoom_outage_does_not_lose_a_block(aws):
    world = World()
    world.emulator.faults.inject("5xx", route="POST /phone/blocked_list", count=1000, status=503)
    world.send(block_request(NUMBERS[0]), queue="block")
    world.drain(until=START + timedelta(minutes=1))
    world.emulator.faults.clear()  # Zoom is back after a minute

    world.drain()

    world.assert_blocked_once(NUMBERS[:1])


def test_a_message_redriven_after_repeated_failures_carries_its_reason(aws):
    world = World()

    def evidence_down(params, model, **_):
        if params.get("TableName") == "evidence" and model.name in ("PutItem", "Query", "BatchGetItem"):
            raise throttle_error(model.name)

    world.ddb.meta.events.register("before-parameter-build.dynamodb", evidence_down)
    world.send(report(NUMBERS[0], "ext-1001"))

    world.drain()

    dead = world.dead_letters("ingest")
    assert len(dead) == 1
    assert dead[0][1], "no reason attribute on the redriven message"


def test_one_throttled_permit_write_delays_a_block_by_seconds_not_by_the_stale_claim_timeout(aws):
    world = World()
    throttled = []

    def once(params, model, **_):
        if params.get("TableName") == "rate" and not throttled:
            throttled.append(model.name)
            raise throttle_error(model.name)

    world.ddb.meta.events.register("before-parameter-build.dynamodb", once)
    world.send(block_request(NUMBERS[0]), queue="block")

    world.drain()

    assert throttled
    world.assert_blocked_once(NUMBERS[:1])  # correct in the end either way
    posts = world.requests("POST /phone/blocked_list")
    assert posts[0].at < START + timedelta(minutes=1)
    assert world.requests("GET /phone/blocked_list") == []
