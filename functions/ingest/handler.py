"""Zoom webhook endpoint (Lambda Function URL, payload format 2.0): verify, answer, enqueue call logs.

The logic is spam_blocker.services.ingest_webhook; `handle` is what tests call. `deps` may be passed
by a local host (the serve-webhook command) that composes its own clients; Lambda never passes it.
"""

from __future__ import annotations

from typing import Any

from spam_blocker.observability import logger, metrics
from spam_blocker.wiring.ingest import IngestDeps, get_deps


def handle(event: dict[str, Any], context: Any, deps: IngestDeps) -> dict[str, Any]:
    return deps.service.handle(event)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any, deps: IngestDeps | None = None) -> dict[str, Any]:
    return handle(event, context, deps or get_deps())
