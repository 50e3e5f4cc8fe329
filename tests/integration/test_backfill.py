"""The backfill function on moto (IngestQueue, Checkpoints table) and the Zoom emulator in process, on a
ManualClock: a multi-month range with pagination, Zoom's daily limit hit mid-way, resumed from the
checkpoint day after day; every call log enqueued exactly once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from spam_blocker.domain.backfill_plan import BackfillInputError
from spam_blocker.domain.events import parse_ingest_event
from spam_blocker.domain.rate_window import next_reset

from functions.backfill.handler import lambda_handler
from local.esm_loop import LambdaContext
from tests.integration.test_lifecycle_stack import T0, load_event, open_stack


@pytest.fixture
def stack(monkeypatch):
    yield from open_stack(monkeypatch)


def call_logs(first, days, per_day):
    records = []
    for day in range(days):
        for n in range(per_day):
            when = first + timedelta(days=day, hours=9, minutes=5 * n)
            records.append({"id": f"cl-{day:03d}-{n}", "call_id": f"call-{day}-{n}",
                            "caller_number": f"+1907555{day:02d}{n:02d}", "caller_number_type": 2,
                            "callee_number": "+14155550100", "callee_number_type": 1, "direction": "inbound",
                            "duration": 4, "result": "No Answer", "date_time": when.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return records


def test_a_multi_month_range_survives_the_daily_limit_and_enqueues_every_call_log_once(stack):
    # Sep 1 .. Nov 19: 80 days x 2 records; windows of a month (Sep, Oct, Nov 1-19); pages of 25.
    records = call_logs(T0.replace(month=9, day=1, hour=0), 80, 2)
    stack.emulator.add_call_logs(records)
    stack.emulator.add_call_logs(call_logs(T0.replace(month=8, day=1, hour=0), 5, 1))  # outside the range
    stack.emulator.configure(limits={"Light": 20, "Medium": 10, "Heavy": 5, "daily": 4})
    stack.setenv(BACKFILL_WINDOW_DAYS="31", BACKFILL_PAGE_SIZE="25")
    event = load_event("backfill_range_run.json")  # {"from": "2026-09-01", "to": "2026-11-19"}
    progress = []

    days = []
    for _ in range(6):
        result = stack.backfill(event, progress.append)
        days.append((result["status"], result["paused_reason"], result["this_run"]["pages"]))
        if result["status"] == "done":
            break
        assert result["resume_at"] == next_reset(stack.clock.now()).strftime("%Y-%m-%dT%H:%M:%SZ")
        stack.clock.set(next_reset(stack.clock.now()) + timedelta(minutes=10))  # the next GMT day
    # Day 1: Sep's 3 pages and Oct's first; day 2: Oct again from its first page (its token expired
    # overnight), Oct's last pages, Nov's first; day 3: Nov again, to its end.
    assert days == [("paused", "daily_limit", 4), ("paused", "daily_limit", 4), ("done", None, 2)]
    assert result["windows"] == 3 and result["windows_done"] == 3 and result["duplicates_skipped"] == 50

    enqueued = stack.drain("ingest")
    ids = Counter(e["call_log"]["id"] for e in enqueued)
    assert set(ids) == {r["id"] for r in records} and set(ids.values()) == {1} and len(enqueued) == 160
    assert all(parse_ingest_event(json.dumps(e)).type == "call_log" for e in enqueued)
    assert result["call_logs_enqueued"] == 160
    assert progress[-1]["call_logs_enqueued"] == 160 and progress[-1]["windows_done"] == 3

    # The same input again: a no-op, not one Zoom request.
    requests = len(stack.emulator.requests)
    again = stack.backfill(event)
    assert again["status"] == "done" and again["already_done"] and stack.drain("ingest") == []
    assert len(stack.emulator.requests) == requests


def test_a_dry_run_counts_and_writes_nothing(stack):
    stack.emulator.add_call_logs(call_logs(T0.replace(day=1, hour=0), 7, 3))
    result = stack.backfill(load_event("backfill_range.json"))  # Nov 1-7, dry run
    assert result["status"] == "dry_run" and result["estimate"]["call_logs_in_range"] == 21
    assert result["estimate"]["windows_to_fetch"] == 1 and result["estimate"]["counts_complete"]
    assert stack.drain("ingest") == [] and stack.ddb.scan(TableName="checkpoints")["Items"] == []


def test_spam_reports_for_a_list_of_numbers_through_the_real_wiring(stack):
    result = lambda_handler(load_event("backfill_numbers.json"), LambdaContext(function_name="backfill", timeout_s=900))
    assert result["status"] == "done" and result["reports_enqueued"] == 3
    events = stack.drain("ingest")
    assert sorted(e["phone_number"] for e in events) == ["+19075550123", "+19075550124", "+19075550125"]
    assert {e["reporter"] for e in events} == {"ops-jane"} and all(e["type"] == "spam_report" for e in events)
    again = lambda_handler(load_event("backfill_numbers.json"), LambdaContext(function_name="backfill", timeout_s=900))
    assert again["already_done"] and stack.drain("ingest") == []


def test_older_ranges_are_clipped_with_a_note_or_refused(stack):
    stack.emulator.add_call_logs(call_logs(T0.replace(month=5, day=20, hour=0), 3, 1))
    result = stack.backfill({"from": "2026-04-01", "to": "2026-05-21"})
    assert result["status"] == "done" and result["call_logs_enqueued"] == 2
    assert result["notes"][0].startswith("clipped 'from' 2026-04-01 to 2026-05-20")
    with pytest.raises(BackfillInputError, match="only the last 6 months"):
        stack.backfill({"from": "2026-01-01", "to": "2026-02-01"})


def test_where_zoom_has_retired_call_logs_the_backfill_reads_call_history(stack):
    records = call_logs(T0.replace(day=1, hour=0), 7, 3)
    stack.emulator.add_call_logs(records)
    stack.emulator.configure(call_log_apis="call_history")
    stack.setenv(BACKFILL_PAGE_SIZE="10")

    result = stack.backfill({"from": "2026-11-01", "to": "2026-11-07"})

    assert result["status"] == "done" and result["call_logs_enqueued"] == 21
    enqueued = stack.drain("ingest")
    assert {e["call_log"]["id"] for e in enqueued} == {r["id"] for r in records}
    parsed = [parse_ingest_event(json.dumps(e)).call_log for e in enqueued]
    assert all(p.caller_number.startswith("+1907555") and p.result == "no_answer" for p in parsed)
    routes = Counter((r.route, r.status) for r in stack.emulator.requests if r.category is not None)
    assert routes == {("GET /phone/call_logs", 404): 1, ("GET /phone/call_history", 200): 3}
