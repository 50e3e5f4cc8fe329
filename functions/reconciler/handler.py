"""Reconciler (EventBridge Scheduler, daily): list Zoom's blocked list, diff with the Blocks table, repair
drift (spam_blocker.services.reconcile). Payload (events/reconciler_*.json): {"now": "..."} (ignored: the
listing is of Zoom now) and optionally {"dry_run": true}. Returns the ReconcileReport as a dict, with the
drift counts also published as metrics.
"""

from __future__ import annotations

from typing import Any

from spam_blocker.domain.invocation import as_payload, payload_flag
from spam_blocker.observability import logger, metrics
from spam_blocker.wiring.reconciler import ReconcilerDeps, get_deps


def handle(event: Any, context: Any, deps: ReconcilerDeps) -> dict[str, Any]:
    payload = as_payload(event)
    return deps.reconcile(dry_run=payload_flag(payload, "dry_run")).as_dict()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    return handle(event, context, get_deps())
