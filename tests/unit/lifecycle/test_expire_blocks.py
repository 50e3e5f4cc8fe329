"""The expirer's service over fakes: renew on fresh evidence, remove otherwise, bounded and rate-limited."""

from datetime import timedelta

from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockState
from spam_blocker.domain.evidence import Contribution, epoch
from spam_blocker.domain.rate_window import RateGrant
from spam_blocker.domain.scoring import DEFAULT_POLICY

from tests.fakes.zoom import rate_limited, server_error
from tests.unit.lifecycle.conftest import KEY, NUMBER, START


def later(days: float):
    return START + timedelta(days=days)


def test_a_block_without_fresh_evidence_is_removed_from_zoom_and_expired(world):
    record = world.block()
    report = world.expirer().run(later(31))
    assert (report.due, report.renewed, report.expired, report.deferred) == (1, 0, 1, 0)
    assert world.zoom.entries() == [] and world.zoom.count("delete") == 1
    row = world.store[KEY]
    assert row.state is BlockState.EXPIRED and row.zoom_id == record.zoom_id
    assert row.ended_reason.startswith("expired: no fresh evidence since 2026-11-20T12:00:00Z")
    assert world.limiter.granted == {"Light": 1}


def test_a_block_with_a_new_report_is_renewed_and_zoom_is_not_called(world):
    world.block()
    world.add_evidence(Contribution("report", NUMBER, epoch(later(25)), "ext-7"))
    report = world.expirer().run(later(31))
    assert (report.renewed, report.expired) == (1, 0) and world.zoom.requests == []
    row = world.store[KEY]
    assert row.state is BlockState.ACTIVE and row.expires_at == later(31 + DEFAULT_POLICY.number_block_days)
    assert row.decided_at == later(31) and row.reason.startswith("renewed until") and "1 new report" in row.reason
    assert row.evidence["first_reason"].startswith("block +19075550123") and row.evidence["renewals"] == 1


def test_a_block_not_yet_due_is_not_looked_at(world):
    world.block()
    report = world.expirer().run(later(29))
    assert report.due == 0 and world.store[KEY].state is BlockState.ACTIVE and "query_exchange" not in world.evidence.calls


def test_zoom_not_found_on_delete_counts_as_done(world):
    record = world.block()
    world.zoom.delete_blocked(record.zoom_id)  # a person deleted it in the portal meanwhile
    report = world.expirer().run(later(31))
    assert report.expired == 1 and world.store[KEY].state is BlockState.EXPIRED


def test_deactivate_patches_the_entry_inactive_instead_of_deleting_it(world):
    world.block()
    world.expirer(deactivate=True).run(later(31))
    [entry] = world.zoom.entries()
    assert entry["status"] == "inactive" and world.zoom.count("update") == 1 and world.zoom.count("delete") == 0
    assert world.store[KEY].state is BlockState.EXPIRED


def test_work_per_run_is_bounded_and_the_rest_waits_for_the_next_run(world):
    for n in range(3):
        world.block(BlockKey("phoneNumber", f"+1907555012{n}", "inbound"), days=30 + n)
    first = world.expirer(max_per_run=2).run(later(40))
    assert (first.due, first.expired, first.more_due) == (2, 2, True)
    second = world.expirer(max_per_run=2).run(later(40))
    assert (second.due, second.expired, second.more_due) == (1, 1, False)
    assert world.zoom.entries() == []


def test_a_refused_permit_ends_the_run_cleanly_and_defers_the_rest(world):
    for n in range(3):
        world.block(BlockKey("phoneNumber", f"+1907555012{n}", "inbound"))
    world.limiter.deny_next("Light", RateGrant(False, later(31) + timedelta(seconds=1), "qps"))
    report = world.expirer().run(later(31))
    assert (report.expired, report.deferred) == (0, 3) and report.stopped.startswith("rate limit")
    assert report.resume_at == "2026-12-21T12:00:01Z"
    assert world.zoom.requests == [] and all(r.state is BlockState.ACTIVE for r in world.store.records())


def test_a_429_penalizes_the_category_for_everyone_and_ends_the_run(world):
    world.block()
    world.block(BlockKey("phoneNumber", "+19075550999", "inbound"))
    world.zoom.fail("delete", rate_limited(world.clock, retry_after="30"))
    report = world.expirer().run(later(31))
    assert (report.expired, report.deferred) == (0, 2)
    assert [p[0] for p in world.limiter.penalties] == ["Light"]


def test_zoom_failing_repeatedly_stops_the_run(world):
    for n in range(5):
        world.block(BlockKey("phoneNumber", f"+1907555012{n}", "inbound"))
    world.zoom.fail("delete", server_error(), times=3)
    report = world.expirer().run(later(31))
    assert (report.failed, report.deferred, report.expired) == (3, 2, 0) and report.stopped.startswith("Zoom failing")


def test_external_rows_are_never_touched(world):
    world.external(BlockKey("prefix", "1907555", "inbound"))
    report = world.expirer().run(later(400))
    assert report.due == 0 and len(world.zoom.entries()) == 1 and world.zoom.requests == []


def test_a_dry_run_says_what_it_would_do_and_changes_nothing(world):
    world.block()
    world.block(BlockKey("phoneNumber", "+19075550999", "inbound"))
    world.add_evidence(Contribution("report", "+19075550999", epoch(later(30)), "ext-1"))
    before = world.store.records()
    report = world.expirer().run(later(31), dry_run=True)
    assert (report.renewed, report.expired, report.dry_run) == (1, 1, True)
    assert {d["action"] for d in report.details} == {"would renew", "would expire"}
    assert world.store.records() == before and world.zoom.requests == [] and world.limiter.granted == {}
