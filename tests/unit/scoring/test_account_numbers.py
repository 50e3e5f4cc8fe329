"""The account's own numbers a call-log record shows (domain.evidence.account_numbers)."""

from __future__ import annotations

import pytest
from spam_blocker.domain.events import parse_ingest_event
from spam_blocker.domain.evidence import account_numbers


def call(**fields) -> str:
    import json

    log = {"id": "c1", "caller_number": "+19075550123", "caller_number_type": 2, "callee_number": "+14155550100",
           "callee_number_type": 1, "direction": "inbound", "duration": 3, "result": "No Answer",
           "date_time": "2026-11-20T14:03:11Z", **fields}
    return json.dumps({"type": "call_log", "call_log": {k: v for k, v in log.items() if v is not None}})


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, ("+14155550100",)),  # the callee of an inbound call
    ({"callee_number": "(415) 555-0100"}, ("+14155550100",)),  # any written form
    ({"callee_number_type": None}, ("+14155550100",)),  # type missing: the callee is still ours
    ({"callee_number": "1042"}, ()),  # an extension is no number to protect
    ({"callee_number": None}, ()),
    ({"callee_number_type": 2}, ()),  # forwarded to an outside number: not ours
    ({"callee_number": "911"}, ()),
    ({"direction": "outbound", "caller_number": "+14155550101", "caller_number_type": 1,
      "callee_number": "+19075550123", "callee_number_type": 2}, ("+14155550101",)),  # the caller of an outbound call
    ({"direction": "outbound", "caller_number": "+14155550101", "caller_number_type": 2,
      "callee_number": "+19075550123", "callee_number_type": 2}, ()),
    ({"caller_number": "+14155550102", "caller_number_type": 1}, ("+14155550100", "+14155550102")),  # internal
    ({"callee_number": "+1 415 555 01"}, ()),  # not a number
])
def test_the_account_s_side_of_a_call(fields, expected):
    assert account_numbers(parse_ingest_event(call(**fields))) == expected


def test_reports_show_no_account_number():
    body = '{"type": "spam_report", "phone_number": "+19075550123", "reporter": "ext-1", "reported_at": "2026-11-20T14:05:00Z"}'
    assert account_numbers(parse_ingest_event(body)) == ()
