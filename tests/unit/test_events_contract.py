"""The IngestQueue contract of DESIGN.md, from the consumer's side."""

import json

import pytest
from spam_blocker.domain.events import (
    CallLogEvent,
    InvalidEvent,
    NotSpamEvent,
    SpamReportEvent,
    parse_ingest_event,
)

CALL_LOG = {"type": "call_log", "call_log": {"id": "a1", "caller_number": "+19075550123", "caller_number_type": 2,
            "callee_number": "+14155550100", "callee_number_type": 1, "direction": "inbound", "duration": 3,
            "result": "No Answer", "date_time": "2026-11-20T14:03:11Z", "extra": "ignored"}}
REPORT = {"type": "spam_report", "phone_number": "+19075550123", "reporter": "ext-1042",
          "reported_at": "2026-11-20T14:05:00Z", "reason": "robocall"}
NOT_SPAM = {"type": "not_spam", "phone_number": "+18005550199", "reporter": "ext-1042", "reported_at": "2026-11-20T15:00:00Z"}


def test_the_three_documented_examples_parse():
    assert isinstance(parse_ingest_event(json.dumps(CALL_LOG)), CallLogEvent)
    assert isinstance(parse_ingest_event(json.dumps(REPORT)), SpamReportEvent)
    assert isinstance(parse_ingest_event(json.dumps(NOT_SPAM)), NotSpamEvent)


def test_event_time_is_aware_utc():
    event = parse_ingest_event(json.dumps(REPORT))
    assert event.occurred_at.isoformat() == "2026-11-20T14:05:00+00:00"


@pytest.mark.parametrize(
    "body, reason",
    [
        ("{not json", "bad JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"type": "mystery"}), "unknown type"),
        (json.dumps({**REPORT, "reported_at": None} | {"reported_at": "2026-11-20T14:05:00"}), "zone"),
        (json.dumps({k: v for k, v in REPORT.items() if k != "reporter"}), "missing field reporter"),
        (json.dumps({"type": "call_log", "call_log": {"caller_number": "+19075550123"}}), "missing field call_log.date_time"),
    ],
)
def test_invalid_bodies_raise_with_a_readable_reason(body, reason):
    with pytest.raises(InvalidEvent) as info:
        parse_ingest_event(body)
    assert reason in info.value.reason


@pytest.mark.parametrize("duration", [[1], {"s": 1}, 1e400, "abc", True, -5, "-1"])
def test_odd_durations_are_invalid_events_not_crashes(duration):
    body = {**CALL_LOG, "call_log": {**CALL_LOG["call_log"], "duration": duration}}
    with pytest.raises(InvalidEvent) as info:
        parse_ingest_event(json.dumps(body) if duration != 1e400 else json.dumps(body).replace("Infinity", "1e400"))
    assert "duration" in info.value.reason


def test_numeric_strings_and_floats_are_durations():
    body = {**CALL_LOG, "call_log": {**CALL_LOG["call_log"], "duration": "42.7"}}
    assert parse_ingest_event(json.dumps(body)).call_log.duration == 42
    body["call_log"]["duration"] = 0.4
    assert parse_ingest_event(json.dumps(body)).call_log.duration == 0
