"""The real scorer `lambda_handler` with the real wiring (settings from the environment, boto3 clients) on
moto: the sample event, a week of realistic mixed traffic, failures, shadow mode and threads."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from spam_blocker import wiring
from spam_blocker.adapters.dynamo_allowlist import DynamoListStore
from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
from spam_blocker.adapters.dynamo_evidence import DynamoEvidenceStore
from spam_blocker.adapters.tables import BLOCKS_TABLE, EVIDENCE_TABLE, create_table
from spam_blocker.domain import phone
from spam_blocker.domain.allowlist import ListEntry
from spam_blocker.domain.block_request import BlockRequest
from spam_blocker.domain.block_state import BlockRecord, BlockState
from spam_blocker.observability import metrics
from spam_blocker.wiring.scorer import get_deps

from functions.scorer.handler import lambda_handler
from local.esm_loop import LambdaContext
from local.traffic import generate

EVENT = json.loads((Path(__file__).resolve().parents[2] / "events" / "scorer_sqs.json").read_text())
REGION = "us-east-1"
CONTEXT = LambdaContext(function_name="scorer")


@pytest.fixture
def aws(monkeypatch):
    metrics.clear_metrics()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        create_table(ddb, "evidence", EVIDENCE_TABLE)
        create_table(ddb, "blocks", BLOCKS_TABLE)
        block_queue = sqs.create_queue(QueueName="block")["QueueUrl"]
        dlq = sqs.create_queue(QueueName="ingest-dlq")["QueueUrl"]
        for name, value in {"EVIDENCE_TABLE": "evidence", "BLOCKS_TABLE": "blocks", "BLOCK_QUEUE_URL": block_queue,
                            "INGEST_DLQ_URL": dlq, "AWS_DEFAULT_REGION": REGION}.items():
            monkeypatch.setenv(name, value)
        for name in ("SHADOW_MODE", "DEFAULT_REGION"):
            monkeypatch.delenv(name, raising=False)
        wiring.cache_clear()
        yield ddb, sqs, block_queue, dlq
        wiring.cache_clear()
    metrics.clear_metrics()


def drain(sqs, url: str) -> list[dict]:
    messages = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                       VisibilityTimeout=0).get("Messages", []):
        messages += batch
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]}
                                                        for m in batch])
    return messages


def sqs_event(bodies: list[tuple[str, str]]) -> dict:
    return {"Records": [{"messageId": mid, "receiptHandle": f"rh-{mid}", "body": body, "attributes": {},
                         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest", "awsRegion": REGION}
                        for mid, body in bodies]}


def test_the_sample_event_blocks_the_robocaller_and_dead_letters_the_poison_bodies(aws):
    ddb, sqs, block_queue, dlq = aws
    assert lambda_handler(EVENT, CONTEXT) == {"batchItemFailures": []}
    requests = [BlockRequest.model_validate_json(m["Body"]) for m in drain(sqs, block_queue)]
    # the not_spam'd bank line has no block: its unblock still goes, to hold the cool-down against a block
    # request another scorer may have queued before it saw the not_spam
    assert [(r.action, r.match_type, r.phone_number) for r in requests] == [
        ("block", "phoneNumber", "+13055550142"), ("unblock", "phoneNumber", "+18005550199")]
    assert requests[0].decided_at == datetime(2026, 11, 20, 14, 5, tzinfo=UTC)  # its exchange's latest event
    dead = {m["MessageAttributes"]["message_id"]["StringValue"]: m for m in drain(sqs, dlq)}
    records = {r["messageId"]: r for r in EVENT["Records"]}
    assert set(dead) == {EVENT["Records"][10]["messageId"], EVENT["Records"][11]["messageId"]}
    for message_id, message in dead.items():
        assert message["Body"] == records[message_id]["body"]
        assert message["MessageAttributes"]["source"]["StringValue"] == "scorer"
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in dead.values())
    assert reasons[0].startswith("bad JSON") and reasons[1] == "missing field reporter"
    stored = DynamoEvidenceStore(ddb, "evidence").get_many(["+13055550142", "+14155550100", "+18005550199"])
    assert len(stored["+13055550142"].calls) == 4 and stored["+13055550142"].reports[0][0] == "ext-1002"
    assert stored["+14155550100"].outbound and stored["+18005550199"].not_spam


def test_a_week_of_mixed_traffic(aws):
    """Robocallers, rotating campaigns (one in the company's own exchange), a reminder service and a bank line
    fanning out short calls, customers, internal and emergency calls, malformed bodies - batches of 10 in
    event-time order, with requested blocks made active as the blocker would."""
    ddb, sqs, block_queue, dlq = aws
    scenario = generate(1, days=7)
    own = [ListEntry(n, source="own-numbers") for n in scenario.own_numbers]
    DynamoListStore(ddb, "evidence").add("own", own, now=scenario.start)
    blocks = DynamoBlockStore(ddb, "blocks")
    requests: list[BlockRequest] = []
    bodies = [(f"msg-{i}", json.dumps(e)) for i, e in enumerate(scenario.events)]
    for start in range(0, len(bodies), 10):
        assert lambda_handler(sqs_event(bodies[start:start + 10]), CONTEXT) == {"batchItemFailures": []}
        for message in drain(sqs, block_queue):
            request = BlockRequest.model_validate_json(message["Body"])
            requests.append(request)
            current = blocks.get(request.key)
            if request.action == "block":
                blocks.transition(current, BlockRecord(key=request.key, state=BlockState.ACTIVE, reason=request.reason,
                                                       expires_at=request.expires_at, decided_at=request.decided_at))
            elif current is not None:
                blocks.transition(current, BlockRecord(key=request.key, state=BlockState.REMOVED,
                                                       cooldown_until=request.cooldown_until))

    # every rejected event is accounted for: in the DLQ, with its reason
    malformed = {f"msg-{i}": label.call_id for i, label in enumerate(scenario.labels) if label.kind == "malformed"}
    expected_reason = {"bad_number": "invalid caller_number", "missing_time": "missing field call_log.date_time",
                       "zoneless_time": "time without a zone", "unknown_type": "unknown type 'call_summary'",
                       "missing_reporter": "missing field reporter", "bad_report_number": "invalid phone_number"}
    dead = {m["MessageAttributes"]["message_id"]["StringValue"]: m["MessageAttributes"]["reason"]["StringValue"]
            for m in drain(sqs, dlq)}
    assert set(dead) == set(malformed) and len(malformed) >= 3
    for message_id, kind in malformed.items():
        assert expected_reason[kind] in dead[message_id], (kind, dead[message_id])

    blocked = [r for r in requests if r.action == "block"]
    assert len({r.key for r in blocked}) == len(blocked)  # never requested again while active
    spam_numbers = {n for s in scenario.sources.values() if s.spam for n in s.numbers}
    legit_numbers = {n for s in scenario.sources.values() if not s.spam and s.kind != "emergency" for n in s.numbers}
    for request in blocked:
        if request.match_type == "phoneNumber":
            assert request.phone_number in spam_numbers, request.reason
        else:
            padded = f"+{request.phone_number:0<11}"
            assert len(request.phone_number) >= 7 and not phone.is_toll_free(padded)
            assert not any(phone.prefix_covers(request.phone_number, n) for n in scenario.own_numbers)
            for name in ("pharmacy", "bank"):
                assert not any(phone.prefix_covers(request.phone_number, n) for n in scenario.sources[name].numbers)
        assert request.reason and request.evidence and request.expires_at > request.decided_at

    # each reported campaign of any size is blocked as a range; reported campaign numbers one by one
    reported = {label.source for label in scenario.labels if label.kind == "spam_report" and label.spam}
    for name in reported:
        source = scenario.sources[name]
        if source.kind == "campaign" and len(source.numbers) >= 10:
            assert any(r.match_type == "prefix" and r.phone_number.startswith(source.prefix[:7]) for r in blocked), name
    assert sum(r.match_type == "phoneNumber" for r in blocked) >= 3
    own_campaign = scenario.sources["campaign-3"]
    assert own_campaign.scope == "own_exchange"
    tiles = [r for r in blocked if r.match_type == "prefix" and r.phone_number.startswith(own_campaign.prefix)]
    assert len(tiles) > 5  # tiled around the company's own numbers
    assert not any(phone.prefix_covers(r.phone_number, n) for r in blocked for n in legit_numbers
                   if r.match_type == "prefix" and n in scenario.sources["customers"].numbers
                   and _called_long_before(scenario, n, r.decided_at))

    stored = DynamoEvidenceStore(ddb, "evidence")
    keys = [item["sk"]["S"] for item in ddb.scan(TableName="evidence", ProjectionExpression="sk")["Items"]]
    assert "911" not in keys and all(len(k) >= 12 for k in keys)  # E.164 numbers and list entries only
    assert stored.get_many(scenario.sources["pharmacy"].numbers)


def _called_long_before(scenario, number: str, when: datetime) -> bool:
    """A customer who had an answered long call before the decision: a range must not cover them."""
    for event, label in zip(scenario.events, scenario.labels, strict=True):
        if label.number == number and label.kind == "inbound_call":
            log = event["call_log"]
            if log["result"] == "Call connected" and log["duration"] >= 60 and log["date_time"] < when.strftime(
                    "%Y-%m-%dT%H:%M:%SZ"):
                return True
    return False


def test_an_unavailable_evidence_table_fails_exactly_the_valid_records(aws):
    ddb, sqs, block_queue, dlq = aws
    ddb.delete_table(TableName="evidence")
    result = lambda_handler(EVENT, CONTEXT)
    ignored_or_poison = {EVENT["Records"][i]["messageId"] for i in (7, 8, 10, 11)}  # internal, 911, 2 poison
    expected = [r["messageId"] for r in EVENT["Records"] if r["messageId"] not in ignored_or_poison]
    assert result == {"batchItemFailures": [{"itemIdentifier": m} for m in sorted(expected)]}
    assert len(drain(sqs, dlq)) == 2 and drain(sqs, block_queue) == []


def test_shadow_mode_records_evidence_but_sends_no_block_request(aws, monkeypatch):
    ddb, sqs, block_queue, dlq = aws
    monkeypatch.setenv("SHADOW_MODE", "true")
    wiring.cache_clear()
    assert lambda_handler(EVENT, CONTEXT) == {"batchItemFailures": []}
    assert drain(sqs, block_queue) == []
    assert DynamoEvidenceStore(ddb, "evidence").get_many(["+13055550142"])


def test_concurrent_invocations_share_one_set_of_clients_and_lose_nothing(aws):
    ddb, sqs, block_queue, dlq = aws
    scenario = generate(2, days=3)
    bodies = [(f"msg-{i}", json.dumps(e)) for i, e in enumerate(scenario.events)]
    batches = [bodies[i:i + 10] for i in range(0, len(bodies), 10)]
    results: list[dict] = []
    deps: list[object] = []
    lock = threading.Lock()

    def worker(mine: list[list[tuple[str, str]]]) -> None:
        for batch in mine:
            result = lambda_handler(sqs_event(batch), LambdaContext(function_name="scorer"))
            with lock:
                results.append(result)
                deps.append(get_deps())

    threads = [threading.Thread(target=worker, args=(batches[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    failed = [f for r in results for f in r["batchItemFailures"]]
    assert len(results) == len(batches) and failed == [] and len({id(d) for d in deps}) == 1
    numbers = {label.number for label in scenario.labels
               if label.kind in ("inbound_call", "spam_report", "outbound_call") and label.number
               and label.number.startswith("+") and len(label.number) > 8}
    stored = DynamoEvidenceStore(ddb, "evidence").get_many(numbers)
    assert set(stored) == numbers
    calls = sum(len(e.calls) for e in stored.values())
    assert calls == sum(1 for label in scenario.labels if label.kind == "inbound_call" and label.number in numbers)


def test_without_an_own_numbers_list_the_numbers_call_logs_show_as_the_company_s_are_learned_and_never_blocked(aws):
    """Nobody listed the company's numbers: the callees of its inbound calls (and callers of its outbound
    ones) become own numbers, source "call logs", before anything is decided - so the ranges over a
    neighbour-spoofing campaign in its own exchange are tiled around them, as with the list."""
    ddb, sqs, block_queue, _ = aws
    scenario = generate(1, days=7)
    bodies = [(f"msg-{i}", json.dumps(e)) for i, e in enumerate(scenario.events)]
    requests: list[BlockRequest] = []
    for start in range(0, len(bodies), 10):
        assert lambda_handler(sqs_event(bodies[start:start + 10]), CONTEXT) == {"batchItemFailures": []}
        requests += [BlockRequest.model_validate_json(m["Body"]) for m in drain(sqs, block_queue)]

    learned = {e.value: e.source for e in DynamoListStore(ddb, "evidence").entries("own")}
    dids = {e164 for e164 in scenario.own_numbers if not e164.endswith("000")}  # the employees' lines
    assert dids <= set(learned) and set(learned) <= set(scenario.own_numbers)
    assert set(learned.values()) == {"call logs"}
    ranges = [r for r in requests if r.action == "block" and r.match_type == "prefix"]
    own_exchange = scenario.sources["campaign-3"].prefix
    assert any(r.phone_number.startswith(own_exchange) for r in ranges)
    assert not any(phone.prefix_covers(r.phone_number, n) for r in ranges for n in dids)
