"""Drift planning: every row/entry combination of domain/drift.py's table, and the guards on absences."""

from datetime import UTC, datetime, timedelta

from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord, BlockState, comment_until, tag_comment
from spam_blocker.domain.drift import ZoomEntry, entry_key, plan_repairs
from spam_blocker.domain.scoring import DEFAULT_POLICY

NOW = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)
LISTED_AT = NOW - timedelta(seconds=5)
KEY = BlockKey("phoneNumber", "+19075550123", "inbound")
PREFIX = BlockKey("prefix", "1907555", "inbound")


def ours(entry_id: str, key: BlockKey = KEY, active: bool = True) -> ZoomEntry:
    return ZoomEntry(entry_id, key, active, True, tag_comment("14 spam reports"))


def theirs(entry_id: str, key: BlockKey = KEY, active: bool = True) -> ZoomEntry:
    return ZoomEntry(entry_id, key, active, False, "front desk: telemarketer")


def row(state: BlockState, zoom_id: str | None = "z1", key: BlockKey = KEY, **kw) -> BlockRecord:
    return BlockRecord(key=key, state=state, zoom_id=zoom_id, updated_at=NOW - timedelta(days=1), version=3, **kw)


def plan(entries, rows, complete=True):
    return plan_repairs(entries, {r.key: r for r in rows}, now=NOW, listing_started_at=LISTED_AT, complete=complete)


def kinds(p):
    return [(r.kind, r.key.phone_number, r.zoom_id) for r in p.repairs]


def test_entry_keys_in_our_forms():
    assert entry_key("phoneNumber", "19075550123", "inbound") == KEY  # Zoom may drop the '+'
    assert entry_key("prefix", "1907555", "inbound") == PREFIX
    assert entry_key("prefix", "1907555", "threat") is None and entry_key("other", "1", "inbound") is None
    assert entry_key("phoneNumber", "", "inbound") is None


def test_our_tagged_entry_unknown_to_the_table_is_adopted_active_with_its_id():
    p = plan([ours("z9")], [])
    [repair] = p.repairs
    assert repair.kind == "adopt" and repair.expected is None
    assert repair.target.state is BlockState.ACTIVE and repair.target.zoom_id == "z9"
    assert repair.target.expires_at == NOW + timedelta(days=DEFAULT_POLICY.number_block_days)
    assert repair.target.reason == "adopted from Zoom: 14 spam reports"


def test_an_adopted_entry_ends_when_its_comment_says_as_it_was_decided():
    """A second run adopting the first run's entries keeps their ends (a 12-day block does not become 30)."""
    since, until = datetime(2026, 11, 5, 1, 34, 29, tzinfo=UTC), datetime(2026, 11, 17, 1, 34, 29, tzinfo=UTC)
    entry = ZoomEntry("z9", KEY, True, True, tag_comment("block +19075550123: reported by 1 person",
                                                         since=since, until=until))
    assert entry.comment.startswith("[spam-blocker] from 2026-11-05T01:34:29Z until 2026-11-17T01:34:29Z: block")
    [repair] = plan([entry], []).repairs
    # and its decision time: the expirer counts fresh evidence from it, not from the adoption
    assert (repair.target.decided_at, repair.target.expires_at) == (since, until)
    assert repair.target.reason == "adopted from Zoom: block +19075550123: reported by 1 person"
    [readopted] = plan([entry], [row(BlockState.EXPIRED, zoom_id=None)]).repairs
    assert readopted.kind == "readopt" and (readopted.target.decided_at, readopted.target.expires_at) == (since, until)
    older = ZoomEntry("z8", KEY, True, True, tag_comment("why", until=until))  # the end alone: decided = adopted
    assert (plan([older], []).repairs[0].target.decided_at, comment_until(older.comment)) == (NOW, until)


def test_a_persons_entry_is_recorded_external_and_an_inactive_one_ignored():
    p = plan([theirs("p1"), theirs("p2", PREFIX, active=False)], [])
    assert kinds(p) == [("external", KEY.phone_number, "p1")] and p.ignored == 1
    assert p.repairs[0].target.state is BlockState.EXTERNAL and "front desk" in p.repairs[0].target.reason


def test_an_active_row_whose_entry_is_gone_is_removed_only_when_the_listing_proves_it():
    gone = [row(BlockState.ACTIVE)]
    removed = plan([], gone)
    assert kinds(removed) == [("removed", KEY.phone_number, "z1")]
    assert removed.repairs[0].target.state is BlockState.REMOVED and "Zoom portal" in removed.repairs[0].target.ended_reason
    assert plan([], gone, complete=False).repairs == () and plan([], gone, complete=False).unverified == 1
    fresh = [BlockRecord(key=KEY, state=BlockState.ACTIVE, zoom_id="z1", updated_at=NOW, version=1)]
    assert plan([], fresh).repairs == () and plan([], fresh).unverified == 1


def test_a_deactivated_entry_counts_as_gone():
    assert kinds(plan([ours("z1", active=False)], [row(BlockState.ACTIVE)])) == [("removed", KEY.phone_number, "z1")]


def test_in_sync_rows_need_nothing_and_our_duplicates_are_deleted():
    p = plan([ours("z1"), ours("z2")], [row(BlockState.ACTIVE)])
    assert p.in_sync == 1 and kinds(p) == [("delete_duplicate", KEY.phone_number, "z2")]


def test_an_active_row_relinks_to_our_other_entry():
    p = plan([ours("z7")], [row(BlockState.ACTIVE)])
    [repair] = p.repairs
    assert repair.kind == "relink" and repair.target.zoom_id == "z7" and repair.target.state is BlockState.ACTIVE


def test_a_persons_entry_removed_in_the_portal_ends_the_external_row():
    assert kinds(plan([], [row(BlockState.EXTERNAL, "p1")])) == [("external_removed", KEY.phone_number, "p1")]
    assert plan([theirs("p1")], [row(BlockState.EXTERNAL, "p1")]).in_sync == 1


def test_an_ended_row_with_our_entry_still_in_zoom_is_readopted_or_deleted_in_its_cooldown():
    readopt = plan([ours("z3")], [row(BlockState.EXPIRED)])
    assert kinds(readopt) == [("readopt", KEY.phone_number, "z3")] and readopt.repairs[0].target.state is BlockState.ACTIVE
    cooling = plan([ours("z3")], [row(BlockState.REMOVED, cooldown_until=NOW + timedelta(days=3))])
    assert kinds(cooling) == [("delete_stale", KEY.phone_number, "z3")]


def test_an_ended_row_with_a_persons_entry_is_only_reported():
    assert kinds(plan([theirs("p1")], [row(BlockState.EXPIRED)])) == [("external_unrecorded", KEY.phone_number, "p1")]


def test_pending_rows_are_left_to_the_blocker():
    p = plan([ours("z1")], [row(BlockState.PENDING, None)])
    assert p.repairs == () and p.pending == 1
