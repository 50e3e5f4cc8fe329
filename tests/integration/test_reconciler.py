"""The reconciler on moto and the emulator: the scheduled handler with the real wiring (drift counts in its
return value and as metrics), and `reconcile` as the local runner calls it at start, without a limiter."""

from __future__ import annotations

import json

import pytest
from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import ZOOM_TAG, BlockRecord, BlockState
from spam_blocker.services.reconcile import reconcile

from functions.reconciler.handler import lambda_handler
from local.esm_loop import LambdaContext
from tests.integration.test_lifecycle_stack import T0, load_event, open_stack, report


@pytest.fixture
def stack(monkeypatch):
    yield from open_stack(monkeypatch)


def portal(stack):
    """Zoom holds: our tagged entry the table lost, a person's prefix, a person's inactive entry."""
    ours = stack.emulator.add_entry("+19075550123", comment=f"{ZOOM_TAG} block +19075550123: 3 reports")
    theirs = stack.emulator.add_entry("1415555", match_type="prefix", comment="telemarketers")
    stack.emulator.add_entry("+12125550147", status="inactive", comment="old")
    return ours, theirs


def test_the_scheduled_run_repairs_drift_and_reports_it_as_metrics(stack, capsys):
    ours, theirs = portal(stack)
    summary = lambda_handler(load_event("reconciler_schedule.json"), LambdaContext(function_name="reconciler"))
    assert summary["complete"] and (summary["listed"], summary["ours"], summary["theirs"]) == (3, 1, 1)
    assert (summary["adopted"], summary["external_recorded"], summary["drift"], summary["ignored"]) == (1, 1, 2, 1)
    rows = stack.rows()
    assert rows["phoneNumber#+19075550123#inbound"].zoom_id == ours
    assert rows["prefix#1415555#inbound"].state is BlockState.EXTERNAL
    [emf] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf["DriftAdopted"] == [1.0] and emf["DriftExternalRecorded"] == [1.0] and emf["ZoomBlockedListSize"] == [3.0]


def test_a_dry_run_changes_nothing(stack):
    portal(stack)
    summary = lambda_handler(load_event("reconciler_dry_run.json"), LambdaContext(function_name="reconciler"))
    assert summary["dry_run"] and summary["adopted"] == 1 and stack.rows() == {}


def test_at_the_runners_start_entries_that_already_block_count_as_blocked(stack):
    portal(stack)
    result = reconcile(stack.zoom, DynamoBlockStore(stack.ddb, "blocks"), None, stack.clock)
    assert (result.adopted, result.external_recorded) == (1, 1)
    now = stack.clock.now()
    # Our adopted number, and a number inside a person's prefix: reported, but no block request, no entry.
    stack.score(report("+19075550123", now, "a"), report("+19075550123", now, "b"),
                report("+14155550199", now, "a"), report("+14155550199", now, "b"))
    assert stack.block() == [] and len(stack.emulator.entries()) == 3
    assert not any(r.route == "POST /phone/blocked_list" for r in stack.emulator.requests)


def test_blocking_records_reads_active_and_external_rows_only(stack):
    store = DynamoBlockStore(stack.ddb, "blocks")
    for n, state in enumerate([BlockState.ACTIVE, BlockState.EXTERNAL, BlockState.PENDING]):
        key = BlockKey("phoneNumber", f"+1907555010{n}", "inbound")
        store.transition(None, BlockRecord(key=key, state=state, zoom_id=f"z{n}", expires_at=T0, updated_at=T0))
    expired = store.transition(None, BlockRecord(key=BlockKey("prefix", "1907", "inbound"), state=BlockState.ACTIVE,
                                                 zoom_id="z9", expires_at=T0, updated_at=T0))
    store.transition(expired, BlockRecord(key=expired.key, state=BlockState.EXPIRED, zoom_id="z9", updated_at=T0))
    assert [(r.key.phone_number, r.state) for r in store.blocking_records()] == [
        ("+19075550100", BlockState.ACTIVE), ("+19075550101", BlockState.EXTERNAL)]
