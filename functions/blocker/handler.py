"""BlockQueue -> Zoom: each block request becomes exactly one Zoom entry (or none, for an unblock).

SQS partial batch responses (ReportBatchItemFailures): a record is reported failed only after its
visibility was set for when it can succeed; poison bodies go to the DLQ and count as processed. The
logic is spam_blocker.services (blocker_batch, execute_block); `handle` is what tests call.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from spam_blocker.observability import logger, metrics
from spam_blocker.wiring.blocker import BlockerDeps, get_deps


def handle(event: dict[str, Any], context: Any, deps: BlockerDeps) -> dict[str, Any]:
    batch = deps.batch(request_id=getattr(context, "aws_request_id", "local"))
    batch.prefetch(event.get("Records") or [])
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    try:
        return process_partial_response(event=event, record_handler=batch.handle, processor=processor,
                                        context=context)
    finally:
        batch.close()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_deps())
