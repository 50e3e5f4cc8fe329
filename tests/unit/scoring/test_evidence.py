"""Events -> contributions -> stored evidence -> decayed signals."""

from __future__ import annotations

from dataclasses import replace

import pytest
from spam_blocker.domain.events import InvalidEvent, parse_ingest_event
from spam_blocker.domain.evidence import (
    DAY_S,
    Contribution,
    Ignored,
    NumberEvidence,
    Retention,
    contribution_from,
    decay,
    exchange_of,
    member_weight,
    merge,
    recently_legitimate,
    summarise,
)
from spam_blocker.domain.scoring import DEFAULT_POLICY

from tests.unit.scoring.evidence_builders import (
    EMPLOYEES,
    at,
    call,
    conversation,
    not_spam,
    outbound,
    report,
    robocalls,
)

NUMBER = "+19075550123"


def call_log(**fields) -> dict:
    log = {"id": "c-1", "caller_number": NUMBER, "caller_number_type": 2, "callee_number": "+19072121000",
           "callee_number_type": 1, "direction": "inbound", "duration": 0, "result": "No Answer",
           "date_time": "2026-11-20T14:03:11Z"}
    return {"type": "call_log", "call_log": {**log, **fields}}


@pytest.mark.parametrize("event, expected", [
    (call_log(), ("inbound_call", NUMBER, False)),
    (call_log(caller_number="+1 (907) 555-0123", result="Call connected", duration=42), ("inbound_call", NUMBER, True)),
    (call_log(caller_number="907-555-0123 ext. 12"), ("inbound_call", NUMBER, False)),
    (call_log(result=None, duration=30), ("inbound_call", NUMBER, True)),
    (call_log(result="Voicemail", duration=25), ("inbound_call", NUMBER, False)),
    (call_log(direction="outbound", caller_number="+19072121000", caller_number_type=1, callee_number="19075550123",
              callee_number_type=2, result="Call connected", duration=120), ("outbound_call", NUMBER, False)),
    ({"type": "spam_report", "phone_number": "(907) 555-0123", "reporter": "ext-1042",
      "reported_at": "2026-11-20T14:05:00Z"}, ("report", NUMBER, False)),
    ({"type": "not_spam", "phone_number": "19075550123", "reporter": "ext-1042",
      "reported_at": "2026-11-20T15:00:00Z"}, ("not_spam", NUMBER, False)),
], ids=["unanswered", "written-form-answered", "extension-dropped", "no-result-duration", "voicemail",
        "outbound-from-employee", "report", "not-spam"])
def test_valid_events_become_contributions(event, expected):
    c = contribution_from(parse_ingest_event(event))
    assert isinstance(c, Contribution)
    assert (c.kind, c.number, c.answered) == expected


@pytest.mark.parametrize("event, reason", [
    (call_log(caller_number_type=1, caller_number="1042"), "internal caller"),
    (call_log(caller_number="911"), "emergency"),
    (call_log(caller_number="1042", caller_number_type=2), "emergency or short code"),
    (call_log(direction="outbound", caller_number="+19072121000", caller_number_type=1, callee_number="988",
              callee_number_type=2),
     "emergency"),
    (call_log(direction="outbound", caller_number="1001", caller_number_type=1, callee_number="1002",
              callee_number_type=1), "internal extension"),
    (call_log(direction="internal"), "not scored"),
    (call_log(direction="outbound", caller_number="+19072121000", caller_number_type=1, callee_number="+8613800138000",
              callee_number_type=2, result="No Answer", duration=0), "no conversation"),
    (call_log(direction="outbound", caller_number="+19072121000", caller_number_type=1, callee_number="+19075550123",
              callee_number_type=2, result="Call connected", duration=12), "no conversation"),
    ({"type": "spam_report", "phone_number": "911", "reporter": "ext-1", "reported_at": "2026-11-20T14:05:00Z"},
     "emergency"),
])
def test_events_that_are_not_evidence_are_ignored_not_rejected(event, reason):
    result = contribution_from(parse_ingest_event(event))
    assert isinstance(result, Ignored) and reason in result.reason


@pytest.mark.parametrize("event", [
    call_log(caller_number="not-a-number"),
    {"type": "spam_report", "phone_number": "+1 907 555 01", "reporter": "ext-1", "reported_at": "2026-11-20T14:05:00Z"},
])
def test_an_unparseable_external_number_is_an_invalid_event(event):
    with pytest.raises(InvalidEvent, match="invalid (caller_number|phone_number)"):
        contribution_from(parse_ingest_event(event))


def test_the_default_region_reads_national_forms():
    event = parse_ingest_event({"type": "spam_report", "phone_number": "020 7123 4567", "reporter": "r",
                                "reported_at": "2026-11-20T14:05:00Z"})
    assert contribution_from(event, region="GB").number == "+442071234567"


def test_a_call_log_without_an_id_gets_a_stable_one():
    body = call_log()
    del body["call_log"]["id"]
    first, second = (contribution_from(parse_ingest_event(body)) for _ in range(2))
    assert first.key == second.key and first.key.startswith("h:")


def test_exchange_is_the_number_without_its_last_four_digits():
    assert exchange_of("+19075550123") == "1907555"
    assert exchange_of("+442071234567") == "44207123"


def test_merge_keeps_one_vote_per_reporter_at_their_latest_time():
    ev = merge(NumberEvidence(NUMBER), [report(NUMBER, at(5), "ext-1"), report(NUMBER, at(1), "ext-1"),
                                        report(NUMBER, at(3), "ext-2")])
    assert ev.reports == (("ext-1", at(5)), ("ext-2", at(3)))


def test_merge_is_idempotent_and_a_no_op_keeps_the_same_record():
    contributions = robocalls(NUMBER, at(), 5) + [report(NUMBER, at(), "ext-1"), outbound(NUMBER, at(9))]
    once = merge(NumberEvidence(NUMBER, version=3), contributions)
    assert once.version == 3  # the concurrency token is not evidence
    assert merge(once, contributions) == once
    assert merge(once, contributions[:2]) == once


def test_merge_refuses_another_numbers_contribution():
    with pytest.raises(ValueError):
        merge(NumberEvidence(NUMBER), [report("+19075550999", at(), "ext-1")])


def test_retention_keeps_the_most_recent_entries_and_nothing_beyond_the_horizon():
    retention = Retention(max_calls=3, max_reports=2, horizon_days=30)
    old = [call(NUMBER, at(days=-60), EMPLOYEES[0]), report(NUMBER, at(days=-60), "ext-old")]
    recent = [call(NUMBER, at(i), EMPLOYEES[i]) for i in range(5)] + [report(NUMBER, at(i), f"ext-{i}") for i in range(4)]
    ev = merge(NumberEvidence(NUMBER), old + recent, retention)
    assert [c.at for c in ev.calls] == [at(2), at(3), at(4)]
    assert [r for r, _ in ev.reports] == ["ext-2", "ext-3"]
    # the same contributions in another order and in pieces give the same record
    pieces = NumberEvidence(NUMBER)
    for c in reversed(old + recent):
        pieces = merge(pieces, [c], retention)
    assert pieces == ev


def test_decay_halves_every_half_life():
    assert decay(0, 14) == 1.0
    assert decay(14 * DAY_S, 14) == pytest.approx(0.5)
    assert decay(28 * DAY_S, 14) == pytest.approx(0.25)


def test_signals_of_a_robocaller():
    ev = merge(NumberEvidence(NUMBER), robocalls(NUMBER, at(), 6, answered_every=3) + [report(NUMBER, at(9), "ext-1")])
    s = summarise(ev, at(10), DEFAULT_POLICY)
    assert (s.calls, s.short_calls, len(s.short_callees)) == (6, 6, 6)
    assert s.pattern and s.short_ratio == 1.0 and s.legit_score == 0
    assert s.report_weight == pytest.approx(1.0, abs=1e-3) and s.reporters == ("ext-1",)
    assert s.spam_score == pytest.approx(2.0, abs=1e-3)
    assert member_weight(s, at(10), DEFAULT_POLICY) == 1.0


def test_signals_of_a_customer():
    ev = merge(NumberEvidence(NUMBER), [conversation(NUMBER, at(days=-d)) for d in (1, 5, 9)] + [outbound(NUMBER, at())])
    s = summarise(ev, at(1), DEFAULT_POLICY)
    assert s.long_answered == 3 and s.outbound == 1 and not s.pattern
    assert s.legit_score > 2 and s.spam_score < 0
    assert recently_legitimate(s, at(1), DEFAULT_POLICY) == "an employee called it"
    assert member_weight(s, at(1), DEFAULT_POLICY) == 0


def test_a_persons_later_not_spam_retracts_their_own_report():
    ev = merge(NumberEvidence(NUMBER), [report(NUMBER, at(), "ext-1"), not_spam(NUMBER, at(5), "ext-1"),
                                        report(NUMBER, at(1), "ext-2")])
    s = summarise(ev, at(10), DEFAULT_POLICY)
    assert s.reporters == ("ext-2",)


def test_a_robocall_that_reached_a_live_agent_is_not_a_legitimate_caller():
    calls = robocalls(NUMBER, at(), 8) + [conversation(NUMBER, at(10), duration=240)]
    s = summarise(merge(NumberEvidence(NUMBER), calls), at(20), DEFAULT_POLICY)
    assert s.pattern and s.long_answered == 1
    assert recently_legitimate(s, at(20), DEFAULT_POLICY) is None
    single = summarise(merge(NumberEvidence(NUMBER), [conversation(NUMBER, at(10), duration=240)]), at(20), DEFAULT_POLICY)
    assert recently_legitimate(single, at(20), DEFAULT_POLICY) == "an answered long call"


def test_a_suspect_counts_half_a_member_and_fades_after_the_range_window():
    one_call = merge(NumberEvidence(NUMBER), [call(NUMBER, at(), EMPLOYEES[0])])
    assert member_weight(summarise(one_call, at(1), DEFAULT_POLICY), at(1), DEFAULT_POLICY) == 0.5
    later = at(days=DEFAULT_POLICY.range_window_days + 1)
    assert member_weight(summarise(one_call, later, DEFAULT_POLICY), later, DEFAULT_POLICY) == 0


def test_contributions_after_now_are_unseen():
    ev = merge(NumberEvidence(NUMBER), [report(NUMBER, at(10), "ext-1")])
    assert summarise(ev, at(5), DEFAULT_POLICY).report_weight == 0
    assert summarise(replace(ev), at(10), DEFAULT_POLICY).report_weight == 1.0
