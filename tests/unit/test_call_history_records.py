"""Call-history records (Zoom's replacement for call logs) read as call_log events, field by field."""

from __future__ import annotations

import pytest
from spam_blocker.domain.events import InvalidEvent, parse_ingest_event
from spam_blocker.domain.evidence import Contribution, Ignored, contribution_from

AT = "2026-11-20T14:03:11Z"


def history(**fields) -> dict:
    record = {"id": "h1", "call_id": "c1", "direction": "inbound", "connect_type": "external",
              "caller_did_number": "+19075550142", "caller_number_type": "external",
              "callee_did_number": "+19072120001", "callee_ext_number": "1001", "callee_number_type": "internal",
              "start_time": AT, "duration": 3, "call_result": "no_answer"}
    record.update(fields)
    return {"type": "call_log", "call_log": {k: v for k, v in record.items() if v is not None}}


def classify(event: dict) -> Contribution | Ignored:
    return contribution_from(parse_ingest_event(event))


def test_an_unanswered_external_call_is_an_inbound_call_from_the_did_number():
    c = classify(history())
    assert isinstance(c, Contribution)
    assert (c.kind, c.number, c.answered, c.duration, c.callee, c.key) == (
        "inbound_call", "+19075550142", False, 3, "+19072120001", "h1")
    assert parse_ingest_event(history()).occurred_at.isoformat() == "2026-11-20T14:03:11+00:00"


@pytest.mark.parametrize(("call_result", "answered"), [
    ("answered", True), ("connected", True), ("auto_recorded", True), ("Accepted", True),
    ("no_answer", False), ("voicemail", False), ("hang_up", False), ("system_blocked", False),
    ("blocked", False), ("call_cancel", False), ("busy", False),
])
def test_call_results_in_snake_case(call_result, answered):
    assert classify(history(call_result=call_result, duration=40)).answered is answered


def test_without_a_result_an_answer_time_means_answered():
    event = history(call_result=None, answer_time="2026-11-20T14:03:15Z", duration=300)
    assert classify(event).answered is True


@pytest.mark.parametrize("fields", [
    {"caller_number_type": "internal"},
    {"connect_type": "internal", "caller_number_type": None},
    {"caller_did_number": None, "caller_ext_number": "1002", "caller_number_type": None},
])
def test_internal_callers_are_ignored(fields):
    c = classify(history(**fields))
    assert isinstance(c, Ignored) and "internal" in c.reason


def test_an_outbound_call_to_an_external_did_is_legitimacy_for_it():
    event = history(direction="outbound", caller_did_number="+19072120001", caller_ext_number="1001",
                    caller_number_type="internal", callee_did_number="+14155550100", callee_ext_number=None,
                    callee_number_type="external", call_result="answered", duration=120)
    c = classify(event)
    assert (c.kind, c.number) == ("outbound_call", "+14155550100")


def test_call_log_fields_win_over_call_history_ones():
    event = history(caller_number="+13125550100", date_time="2026-11-21T09:00:00Z", result="Call connected")
    c = classify(event)
    assert (c.number, c.answered) == ("+13125550100", True)
    assert parse_ingest_event(event).occurred_at.isoformat() == "2026-11-21T09:00:00+00:00"


@pytest.mark.parametrize(("fields", "reason"), [
    ({"caller_did_number": None}, "missing field call_log.caller_number"),
    ({"start_time": None}, "missing field call_log.date_time"),
    ({"start_time": "2026-11-20T14:03:11"}, "invalid call_log.date_time"),
    ({"caller_number_type": ["internal"]}, "invalid call_log.caller_number_type"),
])
def test_broken_history_records_are_rejected_with_the_call_log_field_named(fields, reason):
    with pytest.raises(InvalidEvent) as info:
        parse_ingest_event(history(**fields))
    assert info.value.reason.startswith(reason)


@pytest.mark.parametrize(("value", "internal"), [
    (1, True), ("1", True), (1.0, True), ("Internal", True), (2, False), ("external", False),
    ("pstn", False), ("something_new", False),
])
def test_number_types_as_numbers_or_words(value, internal):
    c = classify(history(caller_number_type=value))
    assert isinstance(c, Ignored) is internal


@pytest.mark.parametrize("caller", ["Anonymous", "RESTRICTED", "Private Number", " unknown "])
def test_a_withheld_caller_is_ignored_not_rejected(caller):
    c = classify(history(caller_did_number=caller))
    assert isinstance(c, Ignored) and "withheld" in c.reason
