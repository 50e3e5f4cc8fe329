"""Explain through the expirer function (what `spam-blocker explain --function-name` invokes)."""

from __future__ import annotations

import pytest

from functions.expirer.handler import lambda_handler
from local.esm_loop import LambdaContext
from tests.integration.test_lifecycle_stack import load_event, open_stack, report


@pytest.fixture
def stack(monkeypatch):
    yield from open_stack(monkeypatch)


def test_explain_says_why_a_number_is_blocked_from_the_stores_and_zoom(stack):
    now = stack.clock.now()
    stack.score(report("+19075550123", now, "ext-1042"), report("+19075550123", now, "ext-77"))
    stack.block()
    zoom_id = stack.entries()["+19075550123"]["id"]
    result = lambda_handler({**load_event("expirer_explain.json"), "now": now.isoformat()},
                            LambdaContext(function_name="expirer"))
    assert result["blocked"] and result["number"] == "+19075550123"
    text = result["text"]
    assert "BLOCKED by us: number +19075550123 (inbound)." in text
    assert "2 reporter(s): " in text and "ext-1042" in text and "ext-77" in text
    assert f"Zoom entry {zoom_id}: phoneNumber +19075550123 inbound active, our tag" in text
    assert result["zoom"][zoom_id]["comment"].startswith("[spam-blocker] from 2026-11-20T12:00:00Z until 2026-12-20T12:00:00Z: block +19075550123")


def test_explain_a_number_nobody_blocked(stack):
    result = lambda_handler({"action": "explain", "phone_number": "+14155550100"},
                            LambdaContext(function_name="expirer"))
    assert not result["blocked"] and "NOT BLOCKED by any entry the table knows." in result["text"]
    assert result["decision"]["action"] == "ignore" and result["blocks"] == [] and result["zoom"] == {}


def test_explain_checks_zoom_a_row_whose_entry_a_person_deleted_does_not_block(stack):
    now = stack.clock.now()
    stack.score(report("+19075550123", now, "ext-1042"), report("+19075550123", now, "ext-77"))
    stack.block()
    assert stack.emulator.remove_entry(stack.entries()["+19075550123"]["id"])  # in the portal, before a reconcile

    result = lambda_handler({"action": "explain", "phone_number": "+19075550123", "now": now.isoformat()},
                            LambdaContext(function_name="expirer"))

    assert not result["blocked"]
    assert result["text"].startswith("+19075550123")
    assert ("NOT BLOCKED: the table says number +19075550123 (inbound) is active, but Zoom has no active entry"
            in result["text"])
