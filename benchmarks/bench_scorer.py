"""The scorer through its real handler on moto: events/second and DynamoDB requests per event.

Workload: generated company traffic (local.traffic.generate: campaigns, robocallers, a reminder service, a
bank line, customers, internal and emergency calls, reports, malformed bodies) in event-time order, fed to
`functions.scorer.handler.lambda_handler` in SQS batches of 10 (Lambda's default batch size) with the real
wiring, boto3 clients and DynamoDB/SQS adapters on moto in-process (`mock_aws`). The own numbers are loaded
into the Evidence table as ops would. DynamoDB requests are counted with a botocore `before-call` hook on
the client the wiring built. moto runs in-process, so events/second measures our code plus moto, not AWS
latency. A second pass with batches of 100 (a batching window) shows how writes/event fall as batches grow.

Figures:
    events, seconds, events_per_s       the whole run, batch size 10
    batch_ms_p50, batch_ms_p95          one handler invocation
    ddb_reads_per_event                 GetItem + BatchGetItem + Query (evidence, blocks, lists)
    ddb_writes_per_event                PutItem/UpdateItem/DeleteItem/BatchWriteItem (target: well under 1)
    evidence_writes_per_event           conditional puts of evidence records
    block_requests, rejected            block/unblock requests sent, bodies dead-lettered
    ddb_writes_per_event_batch100       the same traffic in batches of 100 (full runs only)

    python -m benchmarks.bench_scorer [--quick]
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import time
from collections import Counter
from typing import Any

REGION = "us-east-1"
READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})
_ENV = ("EVIDENCE_TABLE", "BLOCKS_TABLE", "BLOCK_QUEUE_URL", "INGEST_DLQ_URL", "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def _sqs_event(batch: list[tuple[str, str]]) -> dict[str, Any]:
    return {"Records": [{"messageId": mid, "receiptHandle": f"rh-{mid}", "body": body, "attributes": {},
                         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest", "awsRegion": REGION}
                        for mid, body in batch]}


def _replay(events: list[dict], own_numbers: list[str], batch_size: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws
    from spam_blocker import wiring
    from spam_blocker.adapters.dynamo_allowlist import DynamoListStore
    from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
    from spam_blocker.adapters.tables import BLOCKS_TABLE, EVIDENCE_TABLE, create_table
    from spam_blocker.domain.allowlist import ListEntry
    from spam_blocker.observability import logger, metrics

    from functions.scorer.handler import lambda_handler
    from local.esm_loop import LambdaContext

    saved = {name: os.environ.get(name) for name in _ENV}
    os.environ.update(AWS_DEFAULT_REGION=REGION, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    try:
        with mock_aws():
            ddb = boto3.client("dynamodb", region_name=REGION)
            sqs = boto3.client("sqs", region_name=REGION)
            create_table(ddb, "evidence", EVIDENCE_TABLE)
            create_table(ddb, "blocks", BLOCKS_TABLE)
            block_queue = sqs.create_queue(QueueName="block")["QueueUrl"]
            dlq = sqs.create_queue(QueueName="ingest-dlq")["QueueUrl"]
            os.environ.update(EVIDENCE_TABLE="evidence", BLOCKS_TABLE="blocks", BLOCK_QUEUE_URL=block_queue,
                              INGEST_DLQ_URL=dlq)
            DynamoListStore(ddb, "evidence").add("own", [ListEntry(n) for n in own_numbers], now=_now())
            wiring.cache_clear()
            metrics.clear_metrics()
            client = wiring.aws_client("dynamodb")  # the client the scorer's wiring uses
            calls: Counter[str] = Counter()
            evidence_puts = Counter()

            def count(params, model, **_kwargs):
                calls[model.name] += 1
                if model.name == "PutItem" and params.get("TableName") == "evidence":
                    evidence_puts["put"] += 1

            client.meta.events.register("before-parameter-build.dynamodb", count)
            blocks = DynamoBlockStore(boto3.client("dynamodb", region_name=REGION), "blocks")  # not counted
            bodies = [(f"m{i}", json.dumps(e)) for i, e in enumerate(events)]
            durations, failures, requests = [], 0, 0
            context = LambdaContext(function_name="scorer")
            started = time.perf_counter()
            level = logger.log_level
            logger.setLevel("ERROR")  # per-decision and dead-letter logs are not what is measured
            with contextlib.redirect_stdout(io.StringIO()):  # EMF metrics go to stdout
                for i in range(0, len(bodies), batch_size):
                    t0 = time.perf_counter()
                    result = lambda_handler(_sqs_event(bodies[i:i + batch_size]), context)
                    durations.append(time.perf_counter() - t0)
                    failures += len(result["batchItemFailures"])
                    paused = time.perf_counter()
                    requests += _act_as_blocker(sqs, block_queue, blocks)
                    started += time.perf_counter() - paused  # the blocker's work is not the scorer's
            elapsed = time.perf_counter() - started
            rejected = _depth(sqs, dlq)
            logger.setLevel(level)
            client.meta.events.unregister("before-parameter-build.dynamodb", count)
            wiring.cache_clear()
            metrics.clear_metrics()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    n = len(events)
    reads = sum(v for k, v in calls.items() if k in READS)
    writes = sum(v for k, v in calls.items() if k in WRITES)
    return {"events": n, "seconds": elapsed, "events_per_s": n / elapsed, "failures": failures,
            "batch_ms_p50": 1000 * statistics.median(durations),
            "batch_ms_p95": 1000 * sorted(durations)[int(0.95 * (len(durations) - 1))],
            "reads": reads / n, "writes": writes / n, "evidence_writes": evidence_puts["put"] / n,
            "block_requests": requests, "rejected": rejected}


def _act_as_blocker(sqs, url: str, blocks) -> int:
    """Drain BlockQueue and record each block as active (or removed), so the scorer sees what it would see."""
    from spam_blocker.domain.block_request import BlockRequest
    from spam_blocker.domain.block_state import BlockRecord, BlockState

    handled = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            request = BlockRequest.model_validate_json(message["Body"])
            current = blocks.get(request.key)
            state = BlockState.ACTIVE if request.action == "block" else BlockState.REMOVED
            if current is None or current.state != state:
                blocks.transition(current, BlockRecord(key=request.key, state=state, expires_at=request.expires_at,
                                                       cooldown_until=request.cooldown_until))
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]}
                                                        for m in messages])
        handled += len(messages)
    return handled


def _depth(sqs, url: str) -> int:
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])


def _now():
    from datetime import UTC, datetime

    return datetime(2026, 11, 1, tzinfo=UTC)


def run(quick: bool = False) -> dict[str, float | int]:
    from local.traffic import generate

    scenario = generate(seed=2026, days=5 if quick else 28, history_days=0 if quick else 14)
    main = _replay(scenario.events, scenario.own_numbers, batch_size=10)
    figures: dict[str, float | int] = {
        "events": main["events"],
        "seconds": round(main["seconds"], 2),
        "events_per_s": round(main["events_per_s"], 1),
        "batch_ms_p50": round(main["batch_ms_p50"], 1),
        "batch_ms_p95": round(main["batch_ms_p95"], 1),
        "ddb_reads_per_event": round(main["reads"], 3),
        "ddb_writes_per_event": round(main["writes"], 3),
        "evidence_writes_per_event": round(main["evidence_writes"], 3),
        "block_requests": main["block_requests"],
        "rejected": main["rejected"],
        "batch_failures": main["failures"],
    }
    if not quick:
        figures["ddb_writes_per_event_batch100"] = round(
            _replay(scenario.events, scenario.own_numbers, batch_size=100)["writes"], 3)
    return figures


if __name__ == "__main__":
    from benchmarks import standalone

    raise SystemExit(standalone("bench_scorer", run))
