"""Scorer: IngestQueue (SQS, partial batch responses) -> evidence -> decisions -> BlockQueue.

Each body is parsed inside the record handler; a malformed one goes to the ingest DLQ with its reason and
counts as processed, so it never fails or delays the rest of the batch. The batch's evidence is then read,
merged and written once per number, and decisions are sent (spam_blocker.services.score_events).
`batchItemFailures` lists the records whose work could not be completed (store or queue unavailable).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from spam_blocker.observability import logger, metrics
from spam_blocker.wiring.scorer import ScorerDeps, get_deps


def handle(event: dict[str, Any], context: Any, deps: ScorerDeps) -> dict[str, Any]:
    batch = deps.scorer.start_batch()
    # One processor per invocation: a local host may call the handler from several threads.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def record_handler(record: SQSRecord) -> str:
        return batch.accept(record.message_id, record.body)

    with processor(records=event.get("Records", []), handler=record_handler):
        processor.process()
    outcome = batch.finish()
    failed = [f["itemIdentifier"] for f in processor.response()["batchItemFailures"]]
    failed += [m for m in outcome.failed_message_ids if m not in failed]
    failed = _dead_letter_last_tries(event.get("Records", []), failed, deps)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def _dead_letter_last_tries(records: list[dict[str, Any]], failed: list[str], deps: ScorerDeps) -> list[str]:
    """A record failing on its last receive goes to the DLQ now, with the reason: SQS's redrive would move
    it there on the next receive with none. Returns the records still to be retried."""
    limit = deps.settings.dead_letter_after_receives
    by_id = {r.get("messageId"): r for r in records}
    retry = []
    for message_id in failed:
        record = by_id.get(message_id, {})
        receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1") or 1)
        if receives < limit:
            retry.append(message_id)
            continue
        try:
            deps.scorer.dead_letters.reject(record.get("body", ""), f"scoring failed on {receives} receives "
                                            "(evidence store or queue unavailable)", message_id=message_id)
        except Exception:  # the DLQ itself is unreachable: leave it to SQS's redrive
            retry.append(message_id)
    return retry


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_deps())
