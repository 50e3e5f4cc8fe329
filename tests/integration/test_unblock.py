"""Ops unblock through the expirer function (what `spam-blocker unblock --function-name` invokes), on moto
and the emulator: our blocks removed with a cool-down, a not_spam recorded, and the scorer then refusing."""

from __future__ import annotations

import pytest
from spam_blocker.adapters.dynamo_evidence import DynamoEvidenceStore
from spam_blocker.domain.block_state import BlockState

from functions.expirer.handler import lambda_handler
from local.esm_loop import LambdaContext
from tests.integration.test_lifecycle_stack import load_event, open_stack, report


@pytest.fixture
def stack(monkeypatch):
    yield from open_stack(monkeypatch)


NUMBER = "+19075550123"


def test_unblock_removes_the_number_and_its_covering_prefix_and_keeps_it_off(stack):
    now = stack.clock.now()
    stack.score(report(NUMBER, now, "a"), report(NUMBER, now, "b"))
    stack.block()
    person = stack.emulator.add_entry("190755", match_type="prefix", comment="a person's range")
    stack.emulator.add_entry("1907555", match_type="prefix", comment="[spam-blocker] campaign")
    stack.reconcile()  # adopts our prefix entry, records the person's
    result = lambda_handler(load_event("expirer_unblock.json"), LambdaContext(function_name="expirer"))
    assert result["complete"] and result["target"] == NUMBER
    rows = stack.rows()
    for block_id in (f"phoneNumber#{NUMBER}#inbound", "prefix#1907555#inbound"):
        assert rows[block_id].state is BlockState.REMOVED and rows[block_id].cooldown_until is not None
    assert rows["prefix#190755#inbound"].state is BlockState.EXTERNAL
    assert [e["id"] for e in stack.emulator.entries()] == [person]
    assert "removed number block +19075550123 from Zoom" in result["text"]
    assert "removed covering prefix block 1907555" in result["text"]
    assert "covering prefix block 190755 (19075550123 starts with it) is blocked by a person's entry" in result["text"]
    evidence = DynamoEvidenceStore(stack.ddb, "evidence").get_many([NUMBER])[NUMBER]
    assert [who for who, _ in evidence.not_spam] == ["ops:ops-jane"]

    # Spam reports keep coming: the scorer refuses during the cool-down; nothing new in Zoom.
    stack.clock.advance(days=2)
    later = stack.clock.now()
    stack.score(report(NUMBER, later, "c"), report(NUMBER, later, "d"), report(NUMBER, later, "e"))
    assert stack.block() == [] and [e["id"] for e in stack.emulator.entries()] == [person]


def test_a_dry_run_unblock_changes_nothing(stack):
    now = stack.clock.now()
    stack.score(report(NUMBER, now, "a"), report(NUMBER, now, "b"))
    stack.block()
    result = lambda_handler({**load_event("expirer_unblock.json"), "dry_run": True},
                            LambdaContext(function_name="expirer"))
    assert result["dry_run"] and "would remove it from Zoom" in result["text"]
    assert stack.rows()[f"phoneNumber#{NUMBER}#inbound"].state is BlockState.ACTIVE and len(stack.entries()) == 1


def test_unblocking_a_range_also_removes_its_tiles_but_not_the_numbers_inside(stack):
    now = stack.clock.now()
    stack.score(report(NUMBER, now, "a"), report(NUMBER, now, "b"))
    stack.block()
    for tile in ("19075550", "19075551", "190755520"):  # a range blocked around a protected number
        stack.emulator.add_entry(tile, match_type="prefix", comment="[spam-blocker] block range 1907555 as tiles")
    stack.emulator.add_entry("19075553", match_type="prefix", comment="a person's block")
    stack.reconcile()

    result = lambda_handler({"action": "unblock", "phone_number": "+1907555*", "reporter": "ops-jane"},
                            LambdaContext(function_name="expirer"))

    assert result["complete"] and result["target"] == "1907555*"
    rows = stack.rows()
    assert all(rows[f"prefix#{t}#inbound"].state is BlockState.REMOVED for t in ("19075550", "19075551", "190755520"))
    assert rows[f"phoneNumber#{NUMBER}#inbound"].state is BlockState.ACTIVE
    assert sorted(e["phone_number"] for e in stack.emulator.entries()) == [NUMBER, "19075553"]
    assert "removed prefix block 190755520 (inside 1907555) from Zoom" in result["text"]


def test_unblocking_a_block_whose_entry_a_person_already_deleted_says_so(stack):
    now = stack.clock.now()
    stack.score(report(NUMBER, now, "a"), report(NUMBER, now, "b"))
    stack.block()
    assert stack.emulator.remove_entry(stack.entries()[NUMBER]["id"])  # in the portal

    result = lambda_handler(load_event("expirer_unblock.json"), LambdaContext(function_name="expirer"))

    assert result["complete"] and stack.rows()[f"phoneNumber#{NUMBER}#inbound"].state is BlockState.REMOVED
    assert "Zoom had no such entry any more" in result["text"] and "removed number block" not in result["text"]
