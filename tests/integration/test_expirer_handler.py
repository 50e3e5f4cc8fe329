"""The expirer's real `lambda_handler` with the real wiring (settings from the environment, boto3 clients,
Zoom through wiring.zoom's transport into the emulator): what EventBridge Scheduler and the local runner's
`--expire-at` call with {"now": ISO}."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord, BlockState, tag_comment
from spam_blocker.domain.invocation import InvalidInvocation

from functions.expirer.handler import lambda_handler
from local.esm_loop import LambdaContext
from tests.integration.test_lifecycle_stack import T0, load_event, open_stack


@pytest.fixture
def stack(monkeypatch):
    yield from open_stack(monkeypatch)


NUMBER = "+19075550123"
KEY = BlockKey("phoneNumber", NUMBER, "inbound")


def seed(stack, key=KEY, expires=T0 + timedelta(days=30)):
    zoom_id = stack.emulator.add_entry(key.phone_number, match_type=key.match_type, comment=tag_comment("spam"))
    stack.store.transition(None, BlockRecord(key=key, state=BlockState.ACTIVE, zoom_id=zoom_id, reason="spam",
                                             decided_at=T0, updated_at=T0, expires_at=expires))
    return zoom_id


def test_the_scheduled_payload_sets_the_clock_and_expires_what_is_due(stack, capsys):
    seed(stack)
    seed(stack, BlockKey("phoneNumber", "+19075550999", "inbound"), expires=T0 + timedelta(days=60))
    event = load_event("expirer_schedule.json")  # {"now": "2026-12-21T13:00:00Z"}
    summary = lambda_handler(event, LambdaContext(function_name="expirer"))
    assert summary["now"] == "2026-12-21T13:00:00Z"
    assert (summary["due"], summary["renewed"], summary["expired"], summary["deferred"]) == (1, 0, 1, 0)
    assert stack.store.get(KEY).state is BlockState.EXPIRED and set(stack.entries()) == {"+19075550999"}
    [emf] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf["BlocksExpired"] == [1.0] and emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ZoomSpamBlocker"


def test_without_now_the_system_clock_is_used(stack):
    seed(stack, expires=T0 - timedelta(days=400))  # long past, whatever today is
    summary = lambda_handler({}, LambdaContext(function_name="expirer"))
    assert summary["expired"] == 1 and summary["now"] > "2026-01-01"


def test_a_dry_run_payload_changes_nothing(stack):
    seed(stack)
    summary = lambda_handler(load_event("expirer_dry_run.json"), LambdaContext(function_name="expirer"))
    assert (summary["dry_run"], summary["expired"]) == (True, 1)
    assert stack.store.get(KEY).state is BlockState.ACTIVE and NUMBER in stack.entries()


def test_max_per_run_bounds_the_work(stack):
    stack.setenv(MAX_PER_RUN="1")
    seed(stack)
    seed(stack, BlockKey("phoneNumber", "+19075550999", "inbound"))
    first = lambda_handler(load_event("expirer_schedule.json"), LambdaContext(function_name="expirer"))
    assert (first["due"], first["expired"], first["more_due"]) == (1, 1, True)
    second = lambda_handler(load_event("expirer_schedule.json"), LambdaContext(function_name="expirer"))
    assert (second["due"], second["expired"], second["more_due"]) == (1, 1, False)


@pytest.mark.parametrize("event", [{"now": "yesterday"}, {"action": "purge"}, {"dry_run": "maybe"}, ["now"]])
def test_a_payload_it_cannot_read_is_refused(stack, event):
    with pytest.raises(InvalidInvocation):
        lambda_handler(event, LambdaContext(function_name="expirer"))
