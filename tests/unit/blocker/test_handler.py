"""The blocker handler's batch semantics, with fakes: exact batchItemFailures, visibility, re-sends, metrics."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
from spam_blocker.config.blocker import BlockerSettings
from spam_blocker.domain.rate_window import RateGrant
from spam_blocker.observability import metrics
from spam_blocker.ports import StoreUnavailable
from spam_blocker.wiring.blocker import build_deps

from functions.blocker.handler import handle
from local.esm_loop import LambdaContext
from tests.fakes.blocks import InMemoryBlockStore
from tests.fakes.rate_limiter import InMemoryRateLimiter
from tests.fakes.zoom import FakeZoom, invalid, server_error
from tests.unit.blocker.conftest import START, request

EVENT = json.loads((Path(__file__).resolve().parents[3] / "events" / "blocker_sqs.json").read_text())
SETTINGS = BlockerSettings.from_env({"BLOCKS_TABLE": "b", "RATE_LIMIT_TABLE": "r", "BLOCK_QUEUE_URL": "q",
                                     "BLOCK_DLQ_URL": "d", "ZOOM_ACCOUNT_ID": "a", "ZOOM_CLIENT_ID": "c",
                                     "ZOOM_CLIENT_SECRET": "s"})


class Queue:
    def __init__(self):
        self.visibility: dict[str, int] = {}
        self.sent: list[tuple[str, int]] = []
        self.rejected: list[tuple[str, str]] = []

    def change_visibility(self, receipt_handle, seconds):
        self.visibility[receipt_handle] = int(seconds)

    def send(self, body, *, delay_s=0, attributes=None):
        self.sent.append((body, delay_s))

    def reject(self, body, reason, *, message_id=None):
        self.rejected.append((message_id, reason))


@pytest.fixture
def env(clock):
    metrics.clear_metrics()
    queue, zoom, limiter = Queue(), FakeZoom(clock), InMemoryRateLimiter()
    deps = build_deps(SETTINGS, dynamodb=None, sqs=None, zoom=zoom, account="a", clock=clock,
                      rng=random.Random(3), store=InMemoryBlockStore(), limiter=limiter, queue=queue,
                      dead_letters=queue)
    yield deps, queue, zoom, limiter
    metrics.clear_metrics()


def event(*bodies: str, receive_count: int = 1) -> dict:
    return {"Records": [{
        "messageId": f"m{i}", "receiptHandle": f"r{i}", "body": b, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:block", "awsRegion": "us-east-1",
        "messageAttributes": {}, "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "0",
                                                "SenderId": "x", "ApproximateFirstReceiveTimestamp": "0"},
    } for i, b in enumerate(bodies)]}


def counts() -> dict[str, float]:
    return {name: sum(m["Value"]) for name, m in metrics.metric_set.items()}


def test_the_sample_event_settles_every_record(env):
    deps, queue, zoom, _ = env
    result = handle(EVENT, LambdaContext(function_name="blocker"), deps)
    assert result == {"batchItemFailures": []}
    assert len(zoom.entries()) == 2 and queue.visibility == {}
    assert [mid for mid, _ in queue.rejected] == [EVENT["Records"][3]["messageId"]]
    assert counts() == {"BlocksCreated": 2, "UnblocksNothingToRemove": 1, "BlockRequestsRejected": 1}


def test_once_limited_the_rest_of_the_batch_is_deferred_without_zoom(env, clock):
    deps, queue, zoom, limiter = env
    limiter.deny_next("Light", RateGrant(True), times=2)
    limiter.deny_next("Light", RateGrant(False, START + timedelta(milliseconds=300), "qps"))
    bodies = [request(f"+1907555{n:04d}").to_body() for n in range(6)]
    result = handle(event(*bodies), LambdaContext(function_name="blocker"), deps)
    assert result == {"batchItemFailures": [{"itemIdentifier": f"m{i}"} for i in range(2, 6)]}
    assert set(queue.visibility) == {"r2", "r3", "r4", "r5"} and all(1 <= s <= 2 for s in queue.visibility.values())
    assert zoom.count("create") == 2 and limiter.denied == {"Light": 1}
    assert counts() == {"BlocksCreated": 2, "BlocksDeferred": 4}


def test_a_message_deferred_often_is_resent_fresh_and_acked(env):
    deps, queue, zoom, limiter = env
    limiter.deny_next("Light", RateGrant(False, START + timedelta(seconds=2), "qps"))
    body = request().to_body()
    result = handle(event(body, receive_count=4), LambdaContext(function_name="blocker"), deps)
    assert result == {"batchItemFailures": []}
    assert len(queue.sent) == 1 and queue.sent[0][0] == body and 2 <= queue.sent[0][1] <= 900
    assert counts()["BlockRequestsResent"] == 1


def test_a_refused_entry_is_acked_as_failed_and_a_5xx_is_retried_with_backoff(env):
    deps, queue, zoom, _ = env
    zoom.fail("create", invalid("Invalid phone number."))
    zoom.fail("create", server_error(503))
    result = handle(event(request("+19075550001").to_body(), request("+19075550002").to_body(), receive_count=3),
                    LambdaContext(function_name="blocker"), deps)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert 4 <= queue.visibility["r1"] <= 8  # transient: 8 s backoff at the third receive, half of it at least
    assert counts() == {"BlockFailed": 1, "BlockRetried": 1}
    assert "Invalid phone number." in deps.store.records()[0].failure_reason


def test_an_entirely_failed_batch_is_reported_not_raised(env):
    deps, queue, zoom, limiter = env
    limiter.deny_next("Light", RateGrant(False, START + timedelta(seconds=1), "penalty"))
    result = handle(event(request("+19075550001").to_body(), request("+19075550002").to_body()),
                    LambdaContext(function_name="blocker"), deps)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}


def test_a_batch_reads_its_blocks_once_and_duplicates_within_it_read_again(env):
    deps, queue, zoom, _ = env
    numbers = [f"+1415555{n:04d}" for n in range(1, 7)]
    bodies = [request(n).to_body() for n in numbers] + [request(numbers[0]).to_body()]  # the first, twice
    result = handle(event(*bodies), LambdaContext(function_name="blocker"), deps)
    assert result == {"batchItemFailures": []}
    assert sorted(e["phone_number"] for e in zoom.entries()) == numbers  # one entry each, the repeat skipped
    # one read for the batch, one for the repeat (its block changed earlier in the batch): not seven
    assert deps.store.calls["get_many"] == 2
    assert counts()["BlocksSkippedActive"] == 1


def test_a_number_after_a_prefix_over_it_in_the_same_batch_is_covered_not_created(env):
    deps, queue, zoom, _ = env
    bodies = [request("1415555").to_body(), request("+14155550123").to_body()]
    result = handle(event(*bodies), LambdaContext(function_name="blocker"), deps)
    assert result == {"batchItemFailures": []}
    assert [e["phone_number"] for e in zoom.entries()] == ["1415555"]
    assert counts() == {"BlocksCreated": 1, "BlocksSkippedCovered": 1}


def test_without_a_batch_read_each_record_reads_its_own(env):
    deps, queue, zoom, _ = env
    deps.store.fail_next("get_many", StoreUnavailable("throttled"))
    bodies = [request(f"+1415555{n:04d}").to_body() for n in range(1, 4)]
    result = handle(event(*bodies), LambdaContext(function_name="blocker"), deps)
    assert result == {"batchItemFailures": []} and len(zoom.entries()) == 3
    assert deps.store.calls["get_many"] == 4  # the failed batch read, then one per record


def test_records_handled_long_after_the_batch_read_read_their_own(env, clock):
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    deps, queue, zoom, _ = env
    batch = deps.batch(request_id="r")
    records = event(*[request(f"+1415555{n:04d}").to_body() for n in range(1, 4)])["Records"]
    batch.prefetch(records)
    batch.handle(SQSRecord(records[0]))
    assert deps.store.calls["get_many"] == 1  # served by the batch read
    clock.advance(2)  # pacing, say, held the batch
    batch.handle(SQSRecord(records[1]))
    batch.handle(SQSRecord(records[2]))
    assert deps.store.calls["get_many"] == 3  # too old now: each reads its own
    assert len(zoom.entries()) == 3


def test_only_the_first_records_of_a_long_batch_are_read_ahead(env):
    from spam_blocker.services.blocker_batch import PREFETCH_MAX

    deps, queue, zoom, _ = env
    bodies = [request(f"+1415555{n:04d}").to_body() for n in range(PREFETCH_MAX + 2)]
    assert handle(event(*bodies), LambdaContext(function_name="blocker"), deps) == {"batchItemFailures": []}
    assert len(zoom.entries()) == PREFETCH_MAX + 2
    assert deps.store.calls["get_many"] == 1 + 2  # one read ahead, then the two beyond it on their own
