"""The local event-source mapping behaves like Lambda's SQS poller."""

import json
import threading

import boto3
import pytest
from moto import mock_aws

from local.esm_loop import EventSourceMapping


@pytest.fixture
def queues():
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName="work", Attributes={
            "VisibilityTimeout": "0",  # failed records reappear at once, so the test needs no waiting
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        })["QueueUrl"]
        yield sqs, url, dlq


def _send(sqs, url, bodies):
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={"kind": {"DataType": "String", "StringValue": "t"}})


def _dlq_bodies(sqs, dlq):
    return sorted(m["Body"] for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", []))


def test_partial_batch_response_deletes_only_successes_and_poison_is_redriven(queues):
    sqs, url, dlq = queues
    _send(sqs, url, ["ok-1", "poison", "ok-2"])
    seen = []
    lock = threading.Lock()

    def handler(event, context):
        assert context.function_name == "worker" and context.get_remaining_time_in_millis() > 0
        record = event["Records"][0]
        assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"].endswith(":work")
        assert record["messageAttributes"]["kind"]["stringValue"] == "t"
        with lock:
            seen.extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "poison"]}

    mapping = EventSourceMapping(sqs=sqs, queue_url=url, handler=handler, function_name="worker", batch_size=10, idle_sleep_s=0)
    mapping.run_until_drained()
    assert seen.count("ok-1") == 1 and seen.count("ok-2") == 1
    assert seen.count("poison") == 3  # received maxReceiveCount times, then moved by the redrive policy
    assert _dlq_bodies(sqs, dlq) == ["poison"]
    assert mapping.stats.deleted == 2 and mapping.stats.failed_records == 3


def test_a_raising_handler_deletes_nothing(queues):
    sqs, url, dlq = queues
    _send(sqs, url, ["a", "b"])
    calls = []

    def handler(event, context):
        calls.append(len(event["Records"]))
        raise RuntimeError("boom")

    mapping = EventSourceMapping(sqs=sqs, queue_url=url, handler=handler, function_name="worker", idle_sleep_s=0)
    mapping.run_until_drained()
    assert _dlq_bodies(sqs, dlq) == ["a", "b"]
    assert mapping.stats.handler_errors == len(calls) and mapping.stats.deleted == 0


def test_batches_respect_batch_size_and_many_pollers_process_each_message_once(queues):
    sqs, _, _ = queues
    url = sqs.create_queue(QueueName="slow-visibility", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    _send(sqs, url, [str(i) for i in range(95)])
    seen, sizes = [], []
    lock = threading.Lock()

    def handler(event, context):
        with lock:
            sizes.append(len(event["Records"]))
            seen.extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": []}

    EventSourceMapping(sqs=sqs, queue_url=url, handler=handler, function_name="w", batch_size=7, pollers=4,
                       idle_sleep_s=0).run_until_drained()
    assert max(sizes) <= 7
    assert sorted(seen, key=int) == [str(i) for i in range(95)]


def test_held_pollers_take_nothing_and_released_ones_take_everything_in_one_batch(queues):
    sqs, url, _ = queues
    batches = []

    def handler(event, context):
        batches.append([r["body"] for r in event["Records"]])
        return {"batchItemFailures": []}

    mapping = EventSourceMapping(sqs=sqs, queue_url=url, handler=handler, function_name="w", batch_size=10,
                                 idle_sleep_s=0)
    mapping.hold()
    _send(sqs, url, ["a", "b", "c"])
    assert mapping.poll_once() == 0 and batches == []
    assert mapping.backlog()["visible"] == 3  # nothing was received: the messages wait, visible
    mapping.release()
    assert mapping.poll_once() == 3 and batches == [["a", "b", "c"]]
    assert mapping.busy == 0


def test_hold_waits_for_the_poll_cycle_under_way(queues):
    sqs, url, _ = queues
    _send(sqs, url, ["slow"])
    entered, finish = threading.Event(), threading.Event()

    def handler(event, context):
        entered.set()
        assert finish.wait(10)
        return {"batchItemFailures": []}

    mapping = EventSourceMapping(sqs=sqs, queue_url=url, handler=handler, function_name="w", idle_sleep_s=0)
    cycle = threading.Thread(target=mapping.poll_once)
    cycle.start()
    assert entered.wait(10) and mapping.busy == 1
    held = threading.Thread(target=mapping.hold)
    held.start()
    held.join(0.05)
    assert held.is_alive()  # still in the handler: hold() has not returned
    finish.set()
    held.join(10)
    cycle.join(10)
    assert not held.is_alive() and mapping.busy == 0


def test_a_nudge_wakes_an_idle_poller_before_its_back_off_ends(queues):
    sqs, url, _ = queues
    handled = threading.Event()

    def handler(event, context):
        handled.set()
        return {"batchItemFailures": []}

    mapping = EventSourceMapping(sqs=sqs, queue_url=url, handler=handler, function_name="w",
                                 idle_sleep_s=60, max_idle_sleep_s=60)
    stop = threading.Event()
    thread = threading.Thread(target=mapping.run_until_drained, kwargs={"upstream_done": lambda: False, "stop": stop})
    thread.start()
    try:
        _send(sqs, url, ["late"])
        mapping.nudge()  # without it the poller would sleep its 60 s back-off first
        assert handled.wait(10)
    finally:
        stop.set()
        mapping.nudge()
        thread.join(10)
    assert not thread.is_alive()
