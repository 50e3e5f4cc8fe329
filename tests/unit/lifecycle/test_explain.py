"""Explain: the decision, the evidence and the Zoom entry for a number, in words."""

from datetime import timedelta

import pytest
from spam_blocker.domain.allowlist import ListEntry, ProtectedLists
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockState
from spam_blocker.domain.evidence import Contribution, epoch
from spam_blocker.services.explain import Explainer, ExplainInputError, as_data, render

from tests.unit.lifecycle.conftest import KEY, NUMBER, START


def explainer(world, zoom=True):
    return Explainer(blocks=world.store, evidence=world.evidence, lists=world.lists,
                     zoom=world.zoom if zoom else None, limiter=world.limiter, clock=world.clock)


def reported(world, *who):
    for n, person in enumerate(who):
        world.add_evidence(Contribution("report", NUMBER, epoch(START - timedelta(hours=n + 1)), person))


def test_a_blocked_number_shows_why_the_evidence_and_the_zoom_entry(world):
    reported(world, "ext-1042", "ext-77")
    record = world.block()
    text = render(explainer(world).facts("907-555-0123", START))
    assert text.startswith("+19075550123 — as of 2026-11-20T12:00:00Z\n\nBLOCKED by us: number +19075550123 (inbound).")
    assert "Decision now:\n  block_number: block +19075550123: reported by 2" in text  # the scorer's own words
    assert "2 reporter(s): ext-1042 at 2026-11-20T11:00:00Z, ext-77 at 2026-11-20T10:00:00Z" in text
    assert "why: block +19075550123: reported by 2 employees" in text
    assert f"Zoom entry {record.zoom_id}: phoneNumber +19075550123 inbound active, our tag" in text
    assert "expires at 2026-12-20T12:00:00Z" in text and world.limiter.granted == {"Light": 1}


def test_a_number_covered_by_a_persons_prefix_says_so(world):
    row = world.external(BlockKey("prefix", "1907555", "inbound"))
    facts = explainer(world).facts(NUMBER, START)
    text = render(facts)
    assert "BLOCKED by a person's entry in the Zoom portal: prefix 1907555 (inbound, covers +19075550123)." in text
    assert f"Zoom entry {row.zoom_id}:" in text and "no tag of ours" in text
    data = as_data(facts)
    assert data["blocked"] and data["blocks"][0]["state"] == "external" and data["text"] == text


def test_an_expired_block_an_allowlisted_number_and_no_evidence(world):
    world.block()
    world.store.put(world.store[KEY].__class__(**{**world.store[KEY].__dict__, "state": BlockState.EXPIRED,
                                                   "ended_reason": "expired: no fresh evidence"}))
    world.lists = ProtectedLists.of(allow=[ListEntry(NUMBER, source="allow.txt:3")])
    text = render(explainer(world).facts(NUMBER, START))
    assert "NOT BLOCKED. It was: number +19075550123 (inbound) is expired (expired: no fresh evidence)." in text
    assert "ignore: never block +19075550123: +19075550123 is allowlisted by +19075550123 (allow.txt:3)" in text
    assert "nothing stored for this number" in text and "allowlist: +19075550123 (allow.txt:3)" in text


def test_zoom_missing_or_unreachable_is_said_not_fatal(world):
    record = world.block()
    world.zoom.delete_blocked(record.zoom_id)
    assert "Zoom has no such entry any more" in render(explainer(world).facts(NUMBER, START))
    assert "not asked (no Zoom access)" in render(explainer(world, zoom=False).facts(NUMBER, START))


def test_not_a_number_is_bad_input(world):
    with pytest.raises(ExplainInputError):
        explainer(world).facts("112", START)
    with pytest.raises(ExplainInputError, match="is a prefix: explain takes one number"):
        explainer(world).facts("1907555*", START)


def test_permits_are_optional(world):
    world.block()
    facts = Explainer(blocks=world.store, evidence=world.evidence, lists=world.lists, zoom=world.zoom, limiter=None,
                      clock=world.clock).facts(NUMBER, START)
    assert world.limiter.granted == {} and len(facts.zoom) == 1
