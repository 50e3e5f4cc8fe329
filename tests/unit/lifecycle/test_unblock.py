"""Ops unblock over fakes: ours removed with a cool-down, covering prefixes found, a person's entry named."""

from datetime import timedelta

import pytest
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord, BlockState
from spam_blocker.domain.rate_window import RateGrant
from spam_blocker.services.unblock import UnblockInputError

from tests.unit.lifecycle.conftest import KEY, NUMBER, START

PREFIX = BlockKey("prefix", "1907555", "inbound")
WIDE = BlockKey("prefix", "190755", "inbound")


def test_the_number_and_a_covering_prefix_are_removed_and_kept_off(world):
    world.block()
    world.block(PREFIX, reason="block range 1907555")
    report = world.unblock().run("(907) 555-0123", now=START)
    assert report.complete and world.zoom.entries() == []
    for key in (KEY, PREFIX):
        row = world.store[key]
        assert row.state is BlockState.REMOVED and row.cooldown_until == START + timedelta(days=30)
    texts = [a["text"] for a in report.actions]
    assert texts[0].startswith("removed number block +19075550123 from Zoom")
    assert texts[1].startswith("removed covering prefix block 1907555 (19075550123 starts with it) from Zoom")
    assert texts[2].startswith("recorded not_spam for +19075550123 from ops:ops")
    assert world.evidence[NUMBER].not_spam == (("ops:ops", int(START.timestamp())),)


def test_a_persons_entry_is_left_alone_and_named(world):
    world.external(WIDE)
    report = world.unblock().run(NUMBER, now=START)
    assert len(world.zoom.entries()) == 1 and world.store[WIDE].state is BlockState.EXTERNAL
    assert "blocked by a person's entry in the Zoom portal" in report.text and "remove it in the portal" in report.text


def test_an_ended_block_gets_the_cooldown_and_a_pending_one_is_cancelled(world):
    world.store.put(BlockRecord(key=KEY, state=BlockState.EXPIRED, zoom_id="z", updated_at=START, version=2))
    world.store.put(BlockRecord(key=PREFIX, state=BlockState.PENDING, updated_at=START - timedelta(hours=1),
                                version=1))
    report = world.unblock(cooldown_days=10).run(NUMBER, now=START)
    assert world.store[KEY].cooldown_until == START + timedelta(days=10)
    assert world.store[PREFIX].state is BlockState.FAILED and "cancelled" in report.actions[1]["text"]


def test_a_rate_limit_leaves_it_incomplete_and_says_so(world):
    world.block()
    world.limiter.deny_next("Light", RateGrant(False, START + timedelta(seconds=2), "qps"))
    report = world.unblock().run(NUMBER, now=START)
    assert not report.complete and "NOT removed yet: rate limit" in report.text and "run the command again" in report.text
    assert world.store[KEY].state is BlockState.ACTIVE


def test_a_dry_run_changes_nothing(world):
    world.block()
    before = world.store.records()
    report = world.unblock().run(NUMBER, now=START, dry_run=True)
    assert world.store.records() == before and len(world.zoom.entries()) == 1 and world.zoom.requests == []
    assert report.text.startswith("Dry run: unblock +19075550123") and "would remove it from Zoom" in report.text


def test_a_prefix_target_unblocks_that_prefix(world):
    world.block(PREFIX)
    report = world.unblock().run("+1907555*", now=START)
    assert report.target == "1907555*" and world.store[PREFIX].state is BlockState.REMOVED
    assert not any(a["kind"] == "evidence" for a in report.actions)


def test_nothing_to_unblock_is_said_plainly(world):
    report = world.unblock().run(NUMBER, now=START)
    assert "no block of ours or anyone's stops it" in report.text


@pytest.mark.parametrize("raw", ["hello", "911", ""])
def test_not_a_number_is_bad_input(world, raw):
    with pytest.raises(UnblockInputError):
        world.unblock().run(raw, now=START)
