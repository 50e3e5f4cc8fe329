"""The blocker handler under every hazard, end to end in-process: moto SQS and DynamoDB (the real adapters),
the real ZoomClient through the emulator's transport, one manual clock for all of them.

SQS delivery is done by hand so nothing waits: messages are sent to and received from moto's queue (real
receipt handles and receive counts); a record the handler reported failed is made visible again
(standing in for its visibility timeout running out) and received again.
"""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws
from spam_blocker.adapters.dynamo_blocks import from_item
from spam_blocker.adapters.sqs_queue import SqsQueue
from spam_blocker.adapters.tables import BLOCKS_TABLE, RATE_LIMIT_TABLE, create_table
from spam_blocker.clock import ManualClock
from spam_blocker.config.blocker import BlockerSettings
from spam_blocker.domain.block_request import BlockKey, BlockRequest
from spam_blocker.domain.block_state import ZOOM_TAG, BlockState
from spam_blocker.domain.rate_window import micros
from spam_blocker.observability import metrics
from spam_blocker.wiring.blocker import build_deps
from spam_blocker.zoom.auth import clear_token_cache
from spam_blocker.zoom.client import ZoomClient

from functions.blocker.handler import handle
from local.emulator import ZoomEmulator
from local.esm_loop import LambdaContext, sqs_record

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REGION = "us-east-1"
API_URL, OAUTH_URL = "https://api.zoom.us/v2", "https://zoom.us/oauth/token"


def body(number: str = "+19075550123", **fields) -> str:
    match_type = "phoneNumber" if number.startswith("+") else "prefix"
    return BlockRequest(match_type=match_type, phone_number=number, reason=fields.pop("reason", "spam reports"),
                        expires_at=START + timedelta(days=30), decided_at=START, **fields).to_body()


class RecordingQueue(SqsQueue):
    """The real SQS adapter, remembering what the handler asked of it. A fresh copy's DelaySeconds is
    recorded, then the copy is sent at once: the test stands in for the delay running out."""

    def __init__(self, client, url):
        super().__init__(client, url)
        self.visibility: list[int] = []
        self.resent: list[tuple[str, int]] = []

    def change_visibility(self, receipt_handle, seconds):
        self.visibility.append(int(seconds))
        super().change_visibility(receipt_handle, seconds)

    def send(self, body, *, delay_s=0, attributes=None):
        self.resent.append((body, delay_s))
        super().send(body, attributes=attributes)


class World:
    def __init__(self, clock: ManualClock, emulator: ZoomEmulator, **settings) -> None:
        self.clock, self.emulator = clock, emulator
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        create_table(self.ddb, "blocks", BLOCKS_TABLE)
        create_table(self.ddb, "rate", RATE_LIMIT_TABLE)
        self.dlq = self.sqs.create_queue(QueueName="block-dlq")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=self.dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.url = self.sqs.create_queue(QueueName="block", Attributes={
            "VisibilityTimeout": "60", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "8"}),
        })["QueueUrl"]
        self.arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.queue = RecordingQueue(self.sqs, self.url)
        self.in_flight: dict[str, str] = {}
        self.settings = BlockerSettings.from_env({
            "BLOCKS_TABLE": "blocks", "RATE_LIMIT_TABLE": "rate", "BLOCK_QUEUE_URL": self.url,
            "BLOCK_DLQ_URL": self.dlq, "ZOOM_ACCOUNT_ID": "dev-account", "ZOOM_CLIENT_ID": "dev-client-id",
            "ZOOM_CLIENT_SECRET": "dev-client-secret", **{k.upper(): str(v) for k, v in settings.items()}})
        self.deps = self.instance()

    def instance(self):
        """Another Lambda container: its own Zoom client, limiter cache and listing, the same AWS and Zoom."""
        zoom = ZoomClient.create(API_URL, OAUTH_URL, "dev-account", "dev-client-id", "dev-client-secret",
                                 transport=self.emulator.transport(), clock=self.clock,
                                 sleep=lambda s: self.clock.advance(s), rng=random.Random(1))
        return build_deps(self.settings, dynamodb=self.ddb, sqs=self.sqs, zoom=zoom, account="dev-account",
                          clock=self.clock, sleep=lambda s: self.clock.advance(s), rng=random.Random(2),
                          queue=self.queue)

    # --- SQS by hand ---------------------------------------------------------------------------------

    def send(self, *bodies: str) -> None:
        for text in bodies:
            self.sqs.send_message(QueueUrl=self.url, MessageBody=text)

    def receive(self, most: int = 10) -> list[dict]:
        messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=most,
                                            AttributeNames=["All"]).get("Messages", [])
        self.in_flight.update({m["MessageId"]: m["ReceiptHandle"] for m in messages})
        return messages

    def invoke(self, messages: list[dict], deps=None) -> set[str]:
        """One invocation; acks what succeeded (as the event-source mapping does); returns failed ids."""
        event = {"Records": [sqs_record(m, self.arn, REGION) for m in messages]}
        result = handle(event, LambdaContext(function_name="blocker"), deps or self.deps)
        failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
                self.in_flight.pop(m["MessageId"], None)
        return failed

    def deliver(self, *bodies: str) -> set[str]:
        self.send(*bodies)
        return self.invoke(self.receive())

    def redeliver(self) -> set[str]:
        """Everything in flight becomes visible again (its visibility ran out) and is received again."""
        self.expire_visibility()
        return self.invoke(self.receive())

    def expire_visibility(self) -> None:
        for receipt in self.in_flight.values():
            self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=0)
        self.in_flight.clear()

    def drain(self, *, step_s: float = 2.0, rounds: int = 12) -> None:
        for _ in range(rounds):
            if self.depth() == 0:
                return
            self.clock.advance(step_s)
            self.redeliver()
        raise AssertionError(f"queue not drained: {self.depth()} left")

    def depth(self) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    # --- end state -----------------------------------------------------------------------------------

    def blocks(self) -> dict[str, object]:
        items = self.ddb.scan(TableName="blocks")["Items"]
        return {r.key.as_id(): r for r in map(from_item, items)}

    def posts(self) -> int:
        return sum(1 for r in self.emulator.requests if r.route == "POST /phone/blocked_list")

    def statuses(self, route: str) -> list[int | None]:
        return [r.status for r in self.emulator.requests if r.route == route]


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def world(clock):
    clear_token_cache()
    metrics.clear_metrics()
    with mock_aws():
        yield World(clock, ZoomEmulator(plan="pro", clock=clock))
    metrics.clear_metrics()


def one_entry_for(world, number="+19075550123"):
    entries = [e for e in world.emulator.entries() if e["phone_number"].lstrip("+") == number.lstrip("+")]
    assert len(entries) == 1, world.emulator.entries()
    assert entries[0]["comment"].startswith(ZOOM_TAG)
    row = world.blocks()[BlockKey("phoneNumber" if number.startswith("+") else "prefix", number, "inbound").as_id()]
    assert row.state is BlockState.ACTIVE and row.zoom_id == entries[0]["id"]
    assert row.owner is None and row.post_started_at is None
    return entries[0]


def test_duplicate_deliveries_in_one_batch_and_later_make_one_entry(world):
    assert world.deliver(body(), body(), body()) == set()
    assert world.deliver(body()) == set()
    one_entry_for(world)
    assert world.posts() == 1 and len(world.emulator.entries()) == 1


def test_two_instances_on_one_request_at_once_make_one_entry(world):
    world.send(body())
    world.send(body())
    first, second = world.receive(most=1), world.receive(most=1)
    assert first and second
    other = world.instance()
    start = threading.Barrier(2)
    failed = []

    def run(messages, deps):
        start.wait(5)
        failed.extend(world.invoke(messages, deps))

    threads = [threading.Thread(target=run, args=(first, world.deps)), threading.Thread(target=run, args=(second, other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    world.drain()
    one_entry_for(world)
    assert world.posts() == 1


def test_a_crash_after_the_post_before_the_state_write_is_adopted_not_reposted(world):
    class CrashOnActivate:
        """DynamoDB that dies on the write that would record the new entry's id (Lambda killed)."""

        def __init__(self, client):
            self._client = client

        def __getattr__(self, name):
            return getattr(self._client, name)

        def put_item(self, **kwargs):
            if kwargs["TableName"] == "blocks" and kwargs["Item"]["state"]["S"] == "active":
                raise SystemExit("Lambda runtime killed")
            return self._client.put_item(**kwargs)

    crashing = world.instance()
    crashing.executor._store._client = CrashOnActivate(world.ddb)
    world.send(body())
    with pytest.raises(SystemExit):
        world.invoke(world.receive(), crashing)
    row = world.blocks()["phoneNumber#+19075550123#inbound"]
    assert row.state is BlockState.PENDING and row.owner and row.post_started_at == START
    assert world.posts() == 1 and len(world.emulator.entries()) == 1
    assert world.redeliver() != set()  # still held: the claim is not stale yet
    world.clock.advance(minutes=15)
    assert world.redeliver() == set()
    one_entry_for(world)
    assert world.posts() == 1
    assert world.statuses("GET /phone/blocked_list") == [200]


@pytest.mark.parametrize("fail_with", ["drop", "5xx"])
def test_commit_then_fail_is_found_and_adopted(world, fail_with):
    world.emulator.faults.inject("commit_then_fail", route="POST /phone/blocked_list", fail_with=fail_with,
                                 status=502)
    failed = world.deliver(body())
    assert len(failed) == 1 and world.queue.visibility and world.queue.visibility[-1] >= 1
    row = world.blocks()["phoneNumber#+19075550123#inbound"]
    assert row.state is BlockState.PENDING and row.post_started_at is not None and row.last_error
    world.drain()
    one_entry_for(world)
    assert world.posts() == 1
    assert metrics.metric_set["BlocksAdopted"]["Value"] == [1.0]


def test_a_burst_of_5xx_ends_with_one_entry_per_block(world):
    world.emulator.faults.inject("5xx", route="POST /phone/blocked_list", count=4, status=503)
    world.emulator.faults.inject("commit_then_fail", route="POST /phone/blocked_list", fail_with="5xx", status=500)
    numbers = [f"+1907555{n:04d}" for n in range(4)]
    world.deliver(*(body(n) for n in numbers))
    world.drain(rounds=20)
    for number in numbers:
        one_entry_for(world, number)
    assert len(world.emulator.entries()) == 4


def test_the_shared_limiter_keeps_zoom_from_answering_429(world):
    numbers = [f"+1907556{n:04d}" for n in range(30)]
    for chunk in range(3):
        world.send(*(body(n) for n in numbers[chunk * 10:(chunk + 1) * 10]))
    instances = [world.deps, world.instance(), world.instance()]
    for deps in instances:  # three containers, one frozen second
        world.invoke(world.receive(), deps)
    assert len(world.emulator.entries()) == 20 and 429 not in world.statuses("POST /phone/blocked_list")
    world.drain(step_s=1.1)
    assert len(world.emulator.entries()) == 30 and 429 not in world.statuses("POST /phone/blocked_list")
    for number in numbers:
        one_entry_for(world, number)


@pytest.mark.parametrize("form", ["seconds", "http-date", "iso", "none"])
def test_a_qps_429_penalizes_every_instance_and_defers_the_batch(world, form):
    world.emulator.faults.inject("429", route="POST /phone/blocked_list", retry_after=form, retry_after_s=3)
    failed = world.deliver(*(body(f"+1907555{n:04d}") for n in range(5)))
    assert len(failed) == 5 and world.posts() == 1  # the rest of the batch never reached Zoom
    item = world.ddb.get_item(TableName="rate", Key={"limit_key": {"S": "dev-account#Light"}})["Item"]
    until = int(item["blocked_until"]["N"])
    expected = {"seconds": START + timedelta(seconds=3), "http-date": START + timedelta(seconds=3),
                "iso": START + timedelta(seconds=3), "none": None}[form]
    if expected is not None:
        assert until == micros(expected)
    else:  # no Retry-After: a second plus jitter
        assert micros(START + timedelta(seconds=1)) <= until < micros(START + timedelta(seconds=1.5))
    assert all(1 <= s <= 5 for s in world.queue.visibility) and len(world.queue.visibility) == 5
    assert world.instance().limiter.acquire("Light", START + timedelta(milliseconds=900)).granted is False
    assert metrics.metric_set["ZoomThrottled"]["Value"] == [1.0]
    first = world.blocks()["phoneNumber#+19075550000#inbound"]
    assert (first.state, first.owner, first.post_started_at, first.zoom_id) == (BlockState.PENDING, None, None, None)
    world.drain()
    assert len(world.emulator.entries()) == 5 and world.posts() == 6
    for n in range(5):
        one_entry_for(world, f"+1907555{n:04d}")


@pytest.mark.parametrize("form", ["iso", "http-date", "seconds", "none"])
def test_a_daily_429_pushes_work_past_the_reset_not_into_the_dlq(world, form):
    world.emulator.faults.inject("429", route="POST /phone/blocked_list", limit_type="Daily-limit", retry_after=form)
    midnight = datetime(2026, 11, 21, tzinfo=UTC)
    failed = world.deliver(body("+19075550001"), body("+19075550002"))
    assert len(failed) == 2
    wait = (midnight - START).total_seconds()
    assert all(wait <= s <= wait + 2 for s in world.queue.visibility)
    item = world.ddb.get_item(TableName="rate", Key={"limit_key": {"S": "dev-account#Light"}})["Item"]
    assert int(item["blocked_until"]["N"]) == micros(midnight) and item["blocked_type"]["S"] == "Daily-limit"
    # Seen often (deferred again and again): a fresh copy with DelaySeconds replaces it; nothing reaches the DLQ.
    world.clock.set(midnight - timedelta(minutes=10))
    for _ in range(4):
        world.expire_visibility()
        world.invoke(world.receive())
    assert world.queue.resent and all(600 <= delay <= 900 for _, delay in world.queue.resent)
    assert world.sqs.receive_message(QueueUrl=world.dlq).get("Messages") is None
    world.clock.set(midnight)
    world.drain()
    assert len(world.emulator.entries()) == 2 and world.posts() == 3
    one_entry_for(world, "+19075550001")
    one_entry_for(world, "+19075550002")


def test_unblock_removes_our_entry_and_never_touches_a_persons(world):
    world.deliver(body("+19075550001"))
    theirs = world.emulator.add_entry("+19075550002", comment="blocked by reception")
    from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
    from spam_blocker.domain.block_state import BlockRecord

    DynamoBlockStore(world.ddb, "blocks").transition(None, BlockRecord(
        BlockKey("phoneNumber", "+19075550002", "inbound"), BlockState.EXTERNAL, zoom_id=theirs))
    cooldown = START + timedelta(days=14)
    assert world.deliver(body("+19075550001", action="unblock", cooldown_until=cooldown),
                         body("+19075550002", action="unblock", cooldown_until=cooldown)) == set()
    assert [e["id"] for e in world.emulator.entries()] == [theirs]
    rows = world.blocks()
    assert rows["phoneNumber#+19075550001#inbound"].state is BlockState.REMOVED
    assert rows["phoneNumber#+19075550001#inbound"].cooldown_until == cooldown
    assert rows["phoneNumber#+19075550002#inbound"].state is BlockState.EXTERNAL


def test_retiring_covered_numbers_when_configured(clock):
    clear_token_cache()
    with mock_aws():
        world = World(clock, ZoomEmulator(plan="pro", clock=clock), retire_covered_numbers="true")
        world.deliver(*(body(f"+190755500{n:02d}") for n in range(3)), body("+19075560000"))
        assert world.deliver(body("1907555")) == set()
        left = sorted(e["phone_number"] for e in world.emulator.entries())
        assert left == ["+19075560000", "1907555"]
        rows = world.blocks()
        assert rows["phoneNumber#+19075550001#inbound"].ended_reason == "covered by prefix 1907555"
        assert world.deliver(body("+19075550001")) == set()  # covered now: nothing created
        assert len(world.emulator.entries()) == 2
    metrics.clear_metrics()
