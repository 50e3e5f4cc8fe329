"""Backfill (invoked by ops): history into IngestQueue, checkpointed and resumable.

    {"from": "2026-11-01", "to": "2026-11-07", "dry_run": true}                       call logs of a range
    {"phone_numbers": ["+19075550123"], "reporter": "ops-jane", "reason": "robocall"}  spam reports
(events/backfill_*.json; spam_blocker.domain.backfill_plan validates, services.backfill does the work).
Returns the progress (`status` done | paused | busy | dry_run, counts, `resume_at`, notes); a bad payload
raises BackfillInputError. Invoke again with the same payload to resume; a completed one is a no-op.
`on_progress` is for local hosts (the CLI prints it); Lambda never passes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from spam_blocker.domain.backfill_plan import parse_request
from spam_blocker.observability import logger, metrics
from spam_blocker.wiring.backfill import BackfillDeps, get_deps


def handle(event: Any, context: Any, deps: BackfillDeps,
           on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    request = parse_request(event, deps.settings.default_region)
    owner = getattr(context, "aws_request_id", None) or f"local-{uuid.uuid4()}"
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    time_left = (lambda: remaining() / 1000) if callable(remaining) else None
    result = deps.backfill.run(request, owner=owner, time_left=time_left, on_progress=on_progress)
    return result.as_dict()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: Any,
                   on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    return handle(event, context, get_deps(), on_progress)
