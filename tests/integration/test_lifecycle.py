"""A block's whole life on moto and the Zoom emulator, through the real handlers, on one injected clock:
created by the scorer and the blocker, renewed by fresh evidence, expired and removed from Zoom, blocked
again when the spam resumes; a person's entries and a person's deletions handled by the reconciler."""

from __future__ import annotations

import pytest
from spam_blocker.domain.block_state import ZOOM_TAG, BlockState

from tests.integration.test_lifecycle_stack import open_stack, report


@pytest.fixture
def stack(monkeypatch):
    yield from open_stack(monkeypatch)


NUMBER = "+19075550123"
BLOCK_ID = f"phoneNumber#{NUMBER}#inbound"


def test_created_renewed_expired_and_blocked_again_when_spam_resumes(stack):
    # Created: two people report the number; the scorer decides, the blocker makes one tagged entry.
    stack.score(report(NUMBER, stack.later(hours=-2), "ext-1042"), report(NUMBER, stack.later(hours=-1), "ext-77"))
    [request] = stack.block()
    assert request["match_type"] == "phoneNumber" and request["phone_number"] == NUMBER
    created = stack.rows()[BLOCK_ID]
    first_id = created.zoom_id
    assert created.state is BlockState.ACTIVE and stack.entries()[NUMBER]["comment"].startswith(ZOOM_TAG)
    expires = created.expires_at

    # Not due yet: nothing happens.
    summary = stack.expire({"now": "2026-12-01T00:00:00Z"})
    assert (summary["due"], summary["renewed"], summary["expired"]) == (0, 0, 0)

    # Fresh evidence: a third person reports it while blocked (the scorer records it; no second entry).
    stack.clock.set(expires.replace(day=expires.day - 5))
    stack.score(report(NUMBER, stack.clock.now(), "ext-9"))
    assert stack.block() == []
    stack.clock.set(expires.replace(hour=13))
    summary = stack.expire({"now": expires.replace(hour=13).isoformat()})
    assert (summary["due"], summary["renewed"], summary["expired"], summary["deferred"]) == (1, 1, 0, 0)
    renewed = stack.rows()[BLOCK_ID]
    assert renewed.state is BlockState.ACTIVE and renewed.zoom_id == first_id and renewed.expires_at > expires
    assert renewed.reason.startswith("renewed until") and "1 new report" in renewed.reason
    assert list(stack.entries()) == [NUMBER]

    # No fresh evidence by the next expiry: removed from Zoom and marked expired.
    at = renewed.expires_at.replace(hour=14)
    stack.clock.set(at)
    summary = stack.expire({"now": at.isoformat()})
    assert (summary["due"], summary["renewed"], summary["expired"]) == (1, 0, 1)
    expired = stack.rows()[BLOCK_ID]
    assert expired.state is BlockState.EXPIRED and expired.ended_reason.startswith("expired: no fresh evidence")
    assert stack.entries() == {}
    deletes = [r for r in stack.emulator.requests if r.route == "DELETE /phone/blocked_list/{id}"]
    assert [(r.path.rsplit("/", 1)[-1], r.status) for r in deletes] == [(first_id, 204)]

    # Spam resumes: new reports after the expiry make the scorer ask again, and the blocker makes a new entry.
    stack.clock.advance(days=3)
    resumed = stack.clock.now()
    stack.score(report(NUMBER, resumed, "ext-5"), report(NUMBER, resumed, "ext-6"))
    [again] = stack.block()
    row = stack.rows()[BLOCK_ID]
    assert again["phone_number"] == NUMBER and row.state is BlockState.ACTIVE and row.zoom_id != first_id
    assert stack.entries()[NUMBER]["id"] == row.zoom_id


def test_entries_people_make_or_delete_in_the_portal(stack):
    # Ours, made by the pipeline; then a person deletes it in the portal.
    stack.score(report(NUMBER, stack.later(hours=-1), "a"), report(NUMBER, stack.later(hours=-1), "b"))
    stack.block()
    ours_id = stack.rows()[BLOCK_ID].zoom_id
    assert stack.emulator.remove_entry(ours_id)
    # A person blocks a whole exchange, and another number with a comment of their own.
    person_prefix = stack.emulator.add_entry("1415555", match_type="prefix", comment="telemarketers")
    stack.emulator.add_entry("+12125550147", comment="")
    # Our tagged entry that the table does not know (a lost table, another deployment): adopted.
    lost = stack.emulator.add_entry("+13125550100", comment=f"{ZOOM_TAG} block +13125550100: reported by 3 people")
    stack.clock.advance(minutes=5)

    summary = stack.reconcile()
    assert summary["complete"] and (summary["removed"], summary["external_recorded"], summary["adopted"]) == (1, 2, 1)
    assert summary["drift"] == 4
    rows = stack.rows()
    assert rows[BLOCK_ID].state is BlockState.REMOVED and "Zoom portal" in rows[BLOCK_ID].ended_reason
    assert rows["prefix#1415555#inbound"].state is BlockState.EXTERNAL
    assert rows["prefix#1415555#inbound"].zoom_id == person_prefix
    assert rows["phoneNumber#+13125550100#inbound"].state is BlockState.ACTIVE
    assert rows["phoneNumber#+13125550100#inbound"].zoom_id == lost

    # A person's entry counts as blocking: a spam number inside their prefix is not blocked a second time.
    inside = "+14155550199"
    stack.score(report(inside, stack.clock.now(), "a"), report(inside, stack.clock.now(), "b"))
    assert stack.block() == []
    # Removed in the portal: not re-created without new evidence...
    assert stack.block() == [] and NUMBER not in stack.entries()
    # ...and the expirer never touches a person's entries, however late it runs.
    summary = stack.expire({"now": stack.later(days=400).isoformat()})
    assert summary["expired"] == 1  # only the adopted entry of ours
    assert set(stack.entries()) == {"1415555", "+12125550147"}
    assert stack.rows()["prefix#1415555#inbound"].state is BlockState.EXTERNAL

    # Reconciling again finds nothing to do.
    again = stack.reconcile()
    assert again["drift"] == 0 and again["in_sync"] == 2


def test_zoom_saying_the_entry_is_gone_on_delete_counts_as_done(stack):
    stack.score(report(NUMBER, stack.later(hours=-1), "a"), report(NUMBER, stack.later(hours=-1), "b"))
    stack.block()
    row = stack.rows()[BLOCK_ID]
    stack.emulator.remove_entry(row.zoom_id)  # gone in Zoom, before the reconciler noticed
    summary = stack.expire({"now": row.expires_at.isoformat()})
    assert summary["expired"] == 1 and stack.rows()[BLOCK_ID].state is BlockState.EXPIRED
    [delete] = [r for r in stack.emulator.requests if r.route == "DELETE /phone/blocked_list/{id}"]
    assert delete.status == 400


def test_expiry_action_deactivate_leaves_an_inactive_entry_that_the_reconciler_ignores(stack):
    stack.setenv(EXPIRY_ACTION="deactivate")
    stack.score(report(NUMBER, stack.later(hours=-1), "a"), report(NUMBER, stack.later(hours=-1), "b"))
    stack.block()
    row = stack.rows()[BLOCK_ID]
    assert stack.expire({"now": row.expires_at.isoformat()})["expired"] == 1
    assert stack.entries()[NUMBER]["status"] == "inactive" and stack.rows()[BLOCK_ID].state is BlockState.EXPIRED
    assert stack.reconcile()["drift"] == 0
