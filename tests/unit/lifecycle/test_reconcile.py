"""The reconcile service over fakes: repairs applied with conditional writes, our deletes under permits."""

from datetime import timedelta

import pytest
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord, BlockState, tag_comment
from spam_blocker.domain.rate_window import RateGrant
from spam_blocker.services.reconcile import reconcile

from tests.fakes.zoom import rate_limited
from tests.unit.lifecycle.conftest import KEY, NUMBER, START

PREFIX = BlockKey("prefix", "1907555", "inbound")


def test_without_a_limiter_ours_are_adopted_and_a_persons_recorded_external(world):
    mine = world.zoom.add_entry(NUMBER, comment=tag_comment("14 spam reports"))
    persons = world.zoom.add_entry("1415555", match_type="prefix", comment="sales calls")
    world.zoom.add_entry("+14155550100", comment="", status="inactive")
    report = reconcile(world.zoom, world.store, None, world.clock)
    assert (report.listed, report.ours, report.theirs, report.ignored) == (3, 1, 1, 1)
    assert (report.adopted, report.external_recorded, report.drift) == (1, 1, 2)
    assert world.store[KEY].state is BlockState.ACTIVE and world.store[KEY].zoom_id == mine
    external = world.store[BlockKey("prefix", "1415555", "inbound")]
    assert external.state is BlockState.EXTERNAL and external.zoom_id == persons
    again = reconcile(world.zoom, world.store, None, world.clock)
    assert again.drift == 0 and again.in_sync == 2


def test_an_entry_deleted_in_the_portal_marks_our_row_removed(world):
    record = world.block()
    world.zoom.delete_blocked(record.zoom_id)
    world.clock.advance(60)
    report = reconcile(world.zoom, world.store, world.limiter, world.clock)
    assert report.removed == 1 and world.store[KEY].state is BlockState.REMOVED
    assert "Zoom portal" in world.store[KEY].ended_reason and world.limiter.granted == {"Medium": 1}


def test_a_persons_entry_removed_in_the_portal_ends_its_row(world):
    row = world.external(PREFIX)
    world.zoom.delete_blocked(row.zoom_id)
    world.clock.advance(60)
    assert reconcile(world.zoom, world.store, None, world.clock).external_removed == 1
    assert world.store[PREFIX].state is BlockState.REMOVED


def test_our_duplicate_is_deleted_and_a_stale_entry_in_its_cooldown_too(world):
    world.block()
    duplicate = world.zoom.add_entry(NUMBER, comment=tag_comment("again"))
    other = BlockKey("phoneNumber", "+19075550999", "inbound")
    stale = world.zoom.add_entry(other.phone_number, comment=tag_comment("old"))
    world.store.put(BlockRecord(key=other, state=BlockState.REMOVED, zoom_id=stale, updated_at=START,
                                cooldown_until=START + timedelta(days=30), version=2))
    report = reconcile(world.zoom, world.store, world.limiter, world.clock)
    assert (report.duplicates_deleted, report.stale_deleted) == (1, 1)
    assert {e["id"] for e in world.zoom.entries()} == {world.store[KEY].zoom_id}
    assert duplicate not in {e["id"] for e in world.zoom.entries()} and world.limiter.granted["Light"] == 2


def test_an_expired_row_whose_entry_is_still_in_zoom_is_readopted(world):
    entry = world.zoom.add_entry(NUMBER, comment=tag_comment("ours"))
    world.store.put(BlockRecord(key=KEY, state=BlockState.EXPIRED, zoom_id="old", updated_at=START, version=4))
    report = reconcile(world.zoom, world.store, None, world.clock)
    row = world.store[KEY]
    assert report.readopted == 1 and row.state is BlockState.ACTIVE and row.zoom_id == entry and row.version == 6


def test_an_incomplete_listing_concludes_no_absence(world):
    world.block()
    for n in range(3):
        world.zoom.add_entry(f"+1415555010{n}", comment="a person")
    gone = world.block(BlockKey("phoneNumber", "+19075550999", "inbound"))
    world.zoom.delete_blocked(gone.zoom_id)
    world.clock.advance(60)
    world.limiter.deny_next("Medium", RateGrant(True), 1)
    world.limiter.deny_next("Medium", RateGrant(False, world.clock.now() + timedelta(minutes=5), "penalty"))
    report = reconcile(world.zoom, world.store, world.limiter, world.clock, page_size=2)
    assert not report.complete and "no Medium permit" in report.stopped
    assert report.removed == 0 and report.unverified >= 1
    assert world.store[gone.key].state is BlockState.ACTIVE


def test_a_429_while_listing_penalizes_and_leaves_the_listing_incomplete(world):
    world.block()
    world.zoom.fail("list", rate_limited(world.clock, retry_after="10", category="Medium"))
    report = reconcile(world.zoom, world.store, world.limiter, world.clock)
    assert not report.complete and report.removed == 0 and world.limiter.penalties[0][0] == "Medium"


def test_a_dry_run_plans_and_changes_nothing(world):
    world.zoom.add_entry(NUMBER, comment=tag_comment("ours"))
    report = reconcile(world.zoom, world.store, None, world.clock, dry_run=True)
    assert report.adopted == 1 and report.details[0]["action"] == "would adopt" and len(world.store) == 0


def test_a_row_that_moves_while_being_repaired_is_left_for_the_next_run(world):
    world.zoom.add_entry(NUMBER, comment=tag_comment("ours"))
    from spam_blocker.ports import StoreConflict

    world.store.fail_next("transition", StoreConflict("moved"))
    report = reconcile(world.zoom, world.store, None, world.clock)
    assert report.conflicts == 1 and report.adopted == 0 and len(world.store) == 0


def test_callable_as_the_local_runner_does_with_a_keyword_clock_and_no_limiter(world):
    world.zoom.add_entry(NUMBER, comment=tag_comment("ours"))
    assert reconcile(world.zoom, world.store, clock=world.clock).adopted == 1
    with pytest.raises(TypeError, match="clock"):
        reconcile(world.zoom, world.store)


def _tokens_asked(world, fail_at: int | None = None, error=None) -> list:
    """Record the next_page_token of every page request; the `fail_at`-th request (1-based) raises `error`."""
    asked: list = []
    real = world.zoom.list_blocked_page

    def page(page_size=100, next_page_token=None):
        asked.append(next_page_token)
        if len(asked) == fail_at:
            raise error
        return real(page_size, next_page_token)

    world.zoom.list_blocked_page = page
    return asked


def test_short_pages_take_one_permit_per_request(world):
    for n in range(25):
        world.zoom.add_entry(f"+1415555{n:04d}", comment="a person")
    world.zoom.page_cap = 10  # a Zoom may answer page_size=100 with 10 entries and a next token
    asked = _tokens_asked(world)
    report = reconcile(world.zoom, world.store, world.limiter, world.clock, page_size=100)
    assert report.complete and report.listed == 25 and report.theirs == 25
    assert asked == [None, "10", "20"] and world.limiter.granted == {"Medium": 3}


def test_a_429_mid_listing_is_waited_out_and_the_listing_resumed_at_its_page(world):
    for n in range(25):
        world.zoom.add_entry(f"+1415555{n:04d}", comment="a person")
    world.zoom.page_cap = 10
    asked = _tokens_asked(world, fail_at=2, error=rate_limited(world.clock, retry_after="3", category="Medium"))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        world.clock.advance(seconds)

    report = reconcile(world.zoom, world.store, world.limiter, world.clock, page_size=100, sleep=sleep)
    assert report.complete and report.listed == 25 and report.theirs == 25
    assert asked == [None, "10", "10", "20"]  # the same page again, not the listing from the start
    assert slept == [3.0] and world.limiter.penalties[0][0] == "Medium"
