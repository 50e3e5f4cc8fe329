"""The backfill service against the Zoom emulator in process, with in-memory checkpoints and queue."""

from datetime import timedelta

import pytest
from spam_blocker.clock import iso
from spam_blocker.domain.backfill_plan import BackfillInputError, parse_request
from spam_blocker.domain.rate_window import RateGrant, next_reset
from spam_blocker.services.backfill import Backfill, BackfillOptions

from tests.fakes.rate_limiter import InMemoryRateLimiter
from tests.unit.lifecycle.conftest import START, call_logs
from tests.unit.lifecycle.fakes import InMemoryCheckpoints, ListQueue

RANGE = {"from": "2026-11-01", "to": "2026-11-14"}


class Rig:
    def __init__(self, clock, zoom_client, **options):
        self.clock = clock
        self.queue = ListQueue()
        self.checkpoints = InMemoryCheckpoints()
        self.limiter = InMemoryRateLimiter()
        self.progress: list[dict] = []
        opts = {"window_days": 7, "page_size": 10, "min_time_left_s": 5.0, **options}
        self.service = Backfill(zoom=zoom_client, queue=self.queue, checkpoints=self.checkpoints,
                                limiter=self.limiter, clock=clock, sleep=lambda s: clock.advance(s),
                                options=BackfillOptions(**opts))

    def run(self, payload, owner="run-1", time_left=None):
        return self.service.run(parse_request(payload), owner=owner, time_left=time_left,
                                on_progress=self.progress.append)

    def enqueued_ids(self):
        return [e["call_log"]["id"] for e in self.queue.events if e["type"] == "call_log"]


@pytest.fixture
def rig(clock, zoom_client):
    return Rig(clock, zoom_client)


def test_a_range_is_paged_through_into_contract_events_once(rig, emulator):
    emulator.add_call_logs(call_logs(START - timedelta(days=19), 14, 4))  # Nov 1..14, 4 a day
    result = rig.run(RANGE)
    assert (result.status, result.windows, result.windows_done) == ("done", 2, 2)
    ids = rig.enqueued_ids()
    assert len(ids) == 56 == len(set(ids)) == result.call_logs_enqueued and result.pages == 6
    first = rig.queue.events[0]
    assert first["type"] == "call_log" and first["call_log"]["caller_number_type"] == 2
    assert rig.limiter.granted == {"Heavy": 6}
    assert rig.progress[-1]["windows_done"] == 2 and rig.progress[-1]["call_logs_enqueued"] == 56


def test_a_completed_input_is_a_no_op(rig, emulator):
    emulator.add_call_logs(call_logs(START - timedelta(days=19), 3, 2))
    rig.run(RANGE)
    requests = len(emulator.requests)
    again = rig.run({**RANGE})
    assert again.status == "done" and again.already_done and again.this_run == {}
    assert len(rig.enqueued_ids()) == 6 and len(emulator.requests) == requests


def test_running_out_of_time_pauses_and_a_resume_after_the_token_expired_enqueues_nothing_twice(rig, emulator):
    emulator.add_call_logs(call_logs(START - timedelta(days=19), 7, 5))  # 35 in the first window: 4 pages
    budget = iter([100.0, 100.0, 1.0])
    paused = rig.run(RANGE, time_left=lambda: next(budget, 1.0))
    assert (paused.status, paused.paused_reason, paused.call_logs_enqueued) == ("paused", "time", 20)
    stored = rig.checkpoints.get(paused.input_key)
    assert stored.page_token and stored.owner is None and stored.window_index == 0
    rig.clock.advance(minutes=20)  # Zoom's page token is gone by now: the window starts again
    done = rig.run(RANGE, owner="run-2")
    ids = rig.enqueued_ids()
    assert done.status == "done" and len(ids) == 35 == len(set(ids))
    assert done.duplicates_skipped == 20 and done.this_run["duplicates_skipped"] == 20


def test_a_token_zoom_refuses_restarts_the_window(clock, zoom_client, emulator):
    rig = Rig(clock, zoom_client, token_ttl_s=3600)  # we would try the old token; Zoom says no
    emulator.add_call_logs(call_logs(START - timedelta(days=19), 7, 5))
    budget = iter([100.0, 1.0])
    rig.run(RANGE, time_left=lambda: next(budget, 1.0))
    clock.advance(minutes=16)
    done = rig.run(RANGE, owner="run-2")
    assert done.status == "done" and sorted(rig.enqueued_ids()) == sorted({*rig.enqueued_ids()})
    assert len(rig.enqueued_ids()) == 35
    assert any(r.status == 400 and r.route == "GET /phone/call_logs" for r in emulator.requests)


def test_the_daily_limit_pauses_until_the_reset_and_the_next_day_finishes(rig, emulator):
    emulator.add_call_logs(call_logs(START - timedelta(days=19), 14, 4))
    emulator.configure(limits={"Light": 20, "Medium": 10, "Heavy": 5, "daily": 3})
    paused = rig.run(RANGE)
    assert (paused.status, paused.paused_reason, paused.pages) == ("paused", "daily_limit", 3)
    assert paused.resume_at == "2026-11-21T00:00:00Z" and rig.limiter.penalties[0][2] == "Daily-limit"
    blocked = rig.run(RANGE, owner="run-2")  # still today: the penalty refuses at once, no Zoom call
    assert blocked.status == "paused" and blocked.this_run["pages"] == 0
    rig.clock.set(next_reset(START) + timedelta(minutes=1))
    done = rig.run(RANGE, owner="run-3")
    assert done.status == "done" and len(rig.enqueued_ids()) == 56 == len(set(rig.enqueued_ids()))


def test_our_limiter_refusing_the_days_allowance_pauses_without_asking_zoom(rig, emulator):
    emulator.add_call_logs(call_logs(START - timedelta(days=19), 2, 2))
    rig.limiter.deny_next("Heavy", RateGrant(False, next_reset(START), "daily"))
    result = rig.run(RANGE)
    assert (result.status, result.paused_reason) == ("paused", "daily_limit") and emulator.requests == []


def test_zoom_unavailable_pauses_with_a_note(rig, emulator):
    emulator.add_call_logs(call_logs(START - timedelta(days=19), 2, 2))
    emulator.faults.inject("5xx", "GET /phone/call_logs", count=5)
    result = rig.run(RANGE)
    assert (result.status, result.paused_reason) == ("paused", "zoom_unavailable")
    assert "Zoom unavailable during 2026-11-01..2026-11-07" in result.notes[-1]
    assert rig.run(RANGE, owner="run-2").status == "done"


def test_a_second_run_while_the_first_holds_the_lease_is_busy(rig, emulator):
    emulator.add_call_logs(call_logs(START - timedelta(days=19), 7, 5))
    seen = []

    def interleave(progress):
        if not seen:
            seen.append(rig.service.run(parse_request(RANGE), owner="intruder"))

    rig.service.run(parse_request(RANGE), owner="run-1", on_progress=interleave)
    assert seen[0].status == "busy" and len(rig.enqueued_ids()) == 35 == len(set(rig.enqueued_ids()))
    assert seen[0].resume_at == iso(START + timedelta(seconds=BackfillOptions().lease_s))  # when the lease lapses


def test_a_dry_run_counts_without_enqueuing_or_writing(rig, emulator):
    emulator.add_call_logs(call_logs(START - timedelta(days=19), 14, 4))
    result = rig.run({**RANGE, "dry_run": True})
    assert result.status == "dry_run" and rig.queue.bodies == [] and rig.checkpoints.saves == 0
    assert result.estimate == {"checkpoint": None, "reports_to_enqueue": 0, "windows_to_fetch": 2,
                               "windows_counted": 2, "call_logs_in_range": 56, "requests_estimate": 6,
                               "counts_complete": True}


def test_spam_reports_for_numbers_are_enqueued_once(rig):
    payload = {"phone_numbers": ["+19075550123", "907-555-0124"], "reporter": "ops-jane", "reason": "robocall"}
    result = rig.run(payload)
    assert result.status == "done" and result.reports_enqueued == 2
    assert rig.queue.events == [
        {"type": "spam_report", "phone_number": "+19075550123", "reporter": "ops-jane",
         "reported_at": "2026-11-20T12:00:00Z", "reason": "robocall"},
        {"type": "spam_report", "phone_number": "+19075550124", "reporter": "ops-jane",
         "reported_at": "2026-11-20T12:00:00Z", "reason": "robocall"}]
    rig.clock.advance(3600)
    assert rig.run(payload).already_done and len(rig.queue.bodies) == 2


def test_a_window_zoom_refuses_is_skipped_with_a_note(clock, zoom_client, emulator):
    rig = Rig(clock, zoom_client)
    emulator.clock = type(clock)(clock.now() + timedelta(days=10))  # Zoom's "today" is later than ours
    emulator.add_call_logs(call_logs(START - timedelta(days=182), 3, 2))
    result = rig.run({"from": "2026-05-20", "to": "2026-05-26"})
    assert result.status == "done" and result.call_logs_enqueued == 0
    assert "skipped: Zoom refused it" in result.notes[-1]


def test_a_range_zoom_no_longer_has_is_refused(rig):
    with pytest.raises(BackfillInputError, match="older than Zoom keeps call logs"):
        rig.run({"from": "2026-01-01", "to": "2026-01-31"})
