"""Expirer (EventBridge Scheduler): renew due blocks with fresh evidence, take the others out of Zoom.

Payloads (events/expirer_*.json):
    {"now": "<aws.scheduler.scheduled-time>"}             the scheduled run; `now` optional (system clock),
    {"now": "...", "dry_run": true}                       dry run: say what would be renewed or expired
    {"action": "unblock", "phone_number": "+19075550123", "reporter": "ops-jane", "dry_run": false}
    {"action": "explain", "phone_number": "+19075550123"}
The ops actions live here because this function already holds everything they need (the Blocks and
Evidence tables, the allowlist, Zoom, the shared limiter); `spam-blocker unblock|explain --function-name`
invokes it. Returns the service's report as a dict; a payload it cannot read raises InvalidInvocation.
"""

from __future__ import annotations

from typing import Any

from spam_blocker.domain.invocation import (
    InvalidInvocation,
    as_payload,
    payload_flag,
    payload_now,
    payload_text,
)
from spam_blocker.observability import logger, metrics
from spam_blocker.wiring.expirer import ExpirerDeps, get_deps

ACTIONS = ("expire", "unblock", "explain")


def handle(event: Any, context: Any, deps: ExpirerDeps) -> dict[str, Any]:
    payload = as_payload(event)
    action = payload.get("action") or "expire"
    if action not in ACTIONS:
        raise InvalidInvocation(f"unknown action {action!r} (expected one of {', '.join(ACTIONS)})")
    now = payload_now(payload) or deps.clock.now()
    dry_run = payload_flag(payload, "dry_run")
    if action == "expire":
        return deps.expirer.run(now, dry_run=dry_run).as_dict()
    number = payload_text(payload, "phone_number")
    if action == "unblock":
        reporter = payload_text(payload, "reporter", required=False) or "ops"
        return deps.unblock.run(number, now=now, dry_run=dry_run, reporter=reporter).as_dict()
    from spam_blocker.services.explain import as_data

    return as_data(deps.explainer.facts(number, now))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    return handle(event, context, get_deps())
