"""Unblock requests and retiring number blocks a prefix makes redundant."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import ZOOM_TAG, BlockRecord, BlockState
from spam_blocker.domain.rate_window import RateGrant
from spam_blocker.services.outcomes import Result
from spam_blocker.zoom.errors import ZoomNotFound

from tests.fakes.zoom import server_error
from tests.unit.blocker.conftest import NUMBER, START, request

KEY = BlockKey("phoneNumber", NUMBER, "inbound")
COOLDOWN = START + timedelta(days=14)


def unblock(number: str = NUMBER, **kw):
    return request(number, action="unblock", reason="not_spam from ext-1042", cooldown_until=COOLDOWN, **kw)


def test_unblock_deletes_our_entry_and_keeps_the_number_off_the_list(world):
    world.run(request())
    outcome = world.run(unblock())
    assert outcome.result is Result.REMOVED
    assert world.zoom.entries() == []
    row = world.store[KEY]
    assert (row.state, row.cooldown_until, row.ended_reason) == (
        BlockState.REMOVED, COOLDOWN, "unblocked: not_spam from ext-1042")
    assert world.run(request(decided_at=START + timedelta(days=1))).result is Result.COOLDOWN
    assert world.zoom.entries() == []


def test_an_entry_already_gone_from_zoom_counts_as_removed(world):
    created = world.run(request())
    world.zoom.fail("delete", ZoomNotFound("Blocked list not found.", status=400, code=404))
    assert world.run(unblock()).result is Result.REMOVED
    assert world.store[KEY].state is BlockState.REMOVED and world.store[KEY].zoom_id == created.zoom_id


def test_a_duplicate_unblock_changes_nothing_more(world):
    world.run(request())
    world.run(unblock())
    assert world.run(unblock()).result is Result.NOTHING_TO_REMOVE
    assert world.zoom.count("delete") == 1


def test_an_external_entry_is_never_touched(world):
    theirs = world.zoom.add_entry(NUMBER, comment="reception")
    world.store.put(BlockRecord(KEY, BlockState.EXTERNAL, zoom_id=theirs))
    assert world.run(unblock()).result is Result.NOT_OURS
    assert [e["id"] for e in world.zoom.entries()] == [theirs]
    assert world.store[KEY].state is BlockState.EXTERNAL and world.zoom.requests == []


def test_unblocking_a_block_whose_post_is_in_doubt_finds_and_removes_it(world):
    world.zoom.fail("create", server_error(502), commit=True)
    assert world.run(request()).result is Result.RETRY
    world.clock.advance(2)
    assert world.run(unblock()).result is Result.REMOVED
    assert world.zoom.entries() == [] and world.store[KEY].state is BlockState.REMOVED


def test_unblocking_a_pending_block_that_never_reached_zoom_cancels_it(world):
    world.store.put(BlockRecord(KEY, BlockState.PENDING, attempts=1, updated_at=START - timedelta(hours=1)))
    assert world.run(unblock()).result is Result.NOTHING_TO_REMOVE
    row = world.store[KEY]
    assert row.state is BlockState.FAILED and row.cooldown_until == COOLDOWN and "cancelled" in row.failure_reason
    assert world.zoom.requests == []


def test_unblocking_an_unknown_block_records_the_cooldown_and_refuses_a_block_decided_before_it(world):
    assert world.run(unblock()).result is Result.NOTHING_TO_REMOVE
    row = world.store[KEY]
    assert row.state is BlockState.REMOVED and row.cooldown_until == COOLDOWN and row.zoom_id is None
    assert world.run(request()).result is Result.COOLDOWN  # decided before the cool-down ends: refused
    assert world.zoom.requests == []


def test_unblocking_an_ended_block_only_records_the_cooldown(world):
    world.store.put(BlockRecord(KEY, BlockState.EXPIRED, zoom_id="old"))
    assert world.run(unblock()).result is Result.NOTHING_TO_REMOVE
    assert world.store[KEY].cooldown_until == COOLDOWN and world.store[KEY].state is BlockState.EXPIRED


def test_an_unblock_waits_for_a_live_claim(world):
    world.store.put(BlockRecord(KEY, BlockState.PENDING, owner="other", updated_at=START, post_started_at=START))
    assert world.run(unblock()).result is Result.IN_PROGRESS


def test_an_unblock_without_a_permit_is_deferred_and_the_block_stays(world):
    world.run(request())
    world.limiter.deny_next("Light", RateGrant(False, START + timedelta(seconds=1), "qps"))
    assert world.run(unblock()).result is Result.LIMITED
    assert len(world.zoom.entries()) == 1 and world.store[KEY].state is BlockState.ACTIVE


# --- a prefix makes number blocks inside it redundant -----------------------------------------------------

def _active_number(world, number: str) -> str:
    outcome = world.run(request(number))
    assert outcome.result is Result.CREATED
    return outcome.zoom_id


def test_by_default_numbers_inside_a_new_prefix_block_stay(world):
    _active_number(world, "+19075550001")
    assert world.run(request("1907555")).result is Result.CREATED
    assert len(world.zoom.entries()) == 2


def test_with_retirement_our_numbers_inside_the_prefix_are_removed_and_theirs_kept(world):
    world.policy = replace(world.policy, retire_covered_numbers=True)
    inside = [_active_number(world, f"+190755500{n:02d}") for n in range(3)]
    outside = _active_number(world, "+19075560000")
    theirs = world.zoom.add_entry("+19075550099", comment="reception")
    world.store.put(BlockRecord(BlockKey("phoneNumber", "+19075550099", "inbound"), BlockState.EXTERNAL, zoom_id=theirs))
    outcome = world.run(request("1907555"))
    assert outcome.result is Result.CREATED and outcome.retired == 3 and outcome.settled
    left = {e["id"] for e in world.zoom.entries()}
    assert left == {outcome.zoom_id, outside, theirs} and not left & set(inside)
    for n in range(3):
        row = world.store[BlockKey("phoneNumber", f"+190755500{n:02d}", "inbound")]
        assert row.state is BlockState.REMOVED and row.ended_reason == "covered by prefix 1907555"


def test_retirement_without_permits_is_finished_by_a_later_delivery(world):
    world.policy = replace(world.policy, retire_covered_numbers=True)
    for n in range(3):
        _active_number(world, f"+190755500{n:02d}")
    permits = world.permits()
    world.limiter.deny_next("Light", RateGrant(True))  # the prefix POST
    world.limiter.deny_next("Light", RateGrant(True))  # one retirement
    world.limiter.deny_next("Light", RateGrant(False, START + timedelta(seconds=1), "qps"))
    first = world.run(request("1907555"), permits=permits)
    assert first.result is Result.CREATED and first.retired == 1 and not first.settled
    assert first.deferral.result is Result.LIMITED
    world.clock.advance(1)
    again = world.run(request("1907555"))
    assert again.result is Result.ALREADY_BLOCKED and again.retired == 2 and again.settled
    assert [e["comment"].startswith(ZOOM_TAG) for e in world.zoom.entries()] == [True]


def test_the_ended_reason_does_not_repeat_the_scorers_unblock_prefix(world):
    world.run(request())
    world.run(request(NUMBER, action="unblock", reason="unblock: watch +19075550123: a legitimate caller",
                      cooldown_until=COOLDOWN))
    assert world.store[KEY].ended_reason == "unblocked: watch +19075550123: a legitimate caller"
