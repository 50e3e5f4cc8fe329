"""Hypothesis against every input parser: whatever arrives, each returns its typed value or raises our own
typed error, never a raw ValueError/OverflowError/RecursionError/KeyError from underneath.

Already fuzzed elsewhere (not repeated here): webhook bodies and the ingest endpoint
(tests/unit/ingest/test_webhook_fuzz.py), Zoom API answers through the client and the error mapper
(tests/unit/zoom/test_client.py, test_responses.py), Retry-After values (tests/unit/zoom/test_retry_after.py).
The gaps filled here: IngestQueue events (parse and classify, as the scorer and the runner do), phone
numbers, allowlist / own-numbers files, block requests (as the blocker reads them), backfill and other
invocation payloads, Zoom's OAuth token answer, and nesting deep enough to exhaust Python's recursion.
"""

from __future__ import annotations

import json
import string
import sys
from dataclasses import replace
from datetime import UTC, date, datetime

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from spam_blocker.clock import ManualClock
from spam_blocker.domain import phone
from spam_blocker.domain.allowlist import ListFileError, ProtectedLists, parse_list
from spam_blocker.domain.backfill_plan import BackfillInputError, BackfillRequest, parse_request, plan_windows
from spam_blocker.domain.block_request import BlockRequest
from spam_blocker.domain.events import InvalidEvent, parse_ingest_event
from spam_blocker.domain.evidence import (
    Contribution,
    Ignored,
    NumberEvidence,
    contribution_from,
    from_epoch,
    merge,
)
from spam_blocker.domain.invocation import (
    InvalidInvocation,
    as_payload,
    payload_flag,
    payload_now,
    payload_text,
)
from spam_blocker.domain.scoring import decide
from spam_blocker.zoom.auth import clear_token_cache
from spam_blocker.zoom.client import ZoomClient
from spam_blocker.zoom.errors import ZoomError

from local.pipeline import IGNORED, validate_line

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
REGIONS = st.sampled_from(["US", "CA", "GB", "DE", "IN", "ZZ", "", "us", "XX"])
DEEP = "[" * (sys.getrecursionlimit() + 200) + "]" * (sys.getrecursionlimit() + 200)  # past json.loads's depth limit
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# --- building blocks ------------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=16)

# Numbers in the forms people write them, plus text that only looks like one.
_digit_runs = st.text(alphabet="0123456789", min_size=0, max_size=18)
numbers = st.one_of(
    st.builds(lambda npa, rest: f"+1{npa}{rest}", st.sampled_from(["907", "415", "800", "212", "011"]),
              st.text(alphabet="0123456789", min_size=7, max_size=7)),
    st.builds(lambda d: f"({d[:3]}) {d[3:6]}-{d[6:]}", st.text(alphabet="0123456789", min_size=10, max_size=10)),
    _digit_runs, _digit_runs.map(lambda d: "+" + d),
    st.sampled_from(["911", "+1911", "988", "112", "*67", "#31#", "+", "++1907", "+1 907 555 0123 ext. 5",
                     "tel:+1-907-555-0123", "+١٩٠٧٥٥٥٠١٢٣", "+¹⁹⁰⁷⁵⁵⁵⁰¹²³", "0" * 60, "+1\x00907"]),
    st.text(alphabet=string.digits + "+-(). x*#;,", max_size=30),
    st.text(max_size=30),
)

# ISO-8601-ish times, including the edges of what datetime can hold once moved to UTC.
_zones = st.sampled_from(["Z", "z", "+00:00", "-01:00", "+14:00", "-23:59", "+05:30", ""])
times = st.one_of(
    st.builds(lambda d, z: d.isoformat() + z,
              st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)), _zones),
    st.sampled_from(["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "2026-11-20T14:03:11Z",
                     "2026-11-20", "2026-13-01T00:00:00Z", "T", "\ud800", "2026-11-20T14:03:11+25:00"]),
    st.text(max_size=30), st.integers(), st.none(), st.floats(),
)


def _maybe(value_strategy):
    return value_strategy | json_values


call_logs = st.fixed_dictionaries(
    {"caller_number": _maybe(numbers), "date_time": _maybe(times)},
    optional={"id": _maybe(st.text(max_size=8)), "caller_number_type": _maybe(st.sampled_from([1, 2, 3])),
              "callee_number": _maybe(numbers), "callee_number_type": _maybe(st.sampled_from([1, 2])),
              "direction": _maybe(st.sampled_from(["inbound", "outbound", "Inbound ", "internal", ""])),
              "duration": _maybe(st.integers() | st.floats() | st.sampled_from(["12", "1e9", "nan", "-inf", "9" * 400])),
              "result": _maybe(st.sampled_from(["No Answer", "Call connected", "Voicemail", ""])),
              "extra": json_values},
)
events = st.one_of(
    st.fixed_dictionaries({"type": st.just("call_log"), "call_log": call_logs | json_values}),
    st.fixed_dictionaries({"type": st.sampled_from(["spam_report", "not_spam"]), "phone_number": _maybe(numbers),
                           "reporter": _maybe(st.text(max_size=10)), "reported_at": _maybe(times)},
                          optional={"reason": _maybe(st.text(max_size=10)), "extra": json_values}),
    st.fixed_dictionaries({"type": json_values | st.sampled_from(["CALL_LOG", "spam", ""])}, optional={"x": json_values}),
)
bodies = st.one_of(
    events.map(json.dumps),
    events.map(lambda e: json.dumps(e).encode()),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
    events,  # the parser also takes an already decoded dict
)


# --- IngestQueue events ---------------------------------------------------------------------------------

@FUZZ
@given(body=bodies, region=REGIONS)
@example(body=DEEP, region="US")
@example(body='{"type": "spam_report", "phone_number": "+19075550123", "reporter": "a", '
              '"reported_at": "9999-12-31T23:59:59-01:00"}', region="US")
@example(body='{"type": "call_log", "call_log": {"caller_number": "+19075550123", '
              '"date_time": "0001-01-01T00:00:00+01:00"}}', region="US")
@example(body='{"type": "spam_report", "phone_number": "+19075550123", "reporter": "a", '
              '"reported_at": "9999-12-20T00:00:00Z"}', region="US")
@example(body='{"type": "spam_report", "phone_number": "+19075550123", "reporter": "a", '
              '"reported_at": "8999-12-31T23:59:59Z"}', region="US")
def test_an_event_parses_and_classifies_or_is_an_invalid_event(body, region):
    try:
        event = parse_ingest_event(body)
    except InvalidEvent as exc:
        assert exc.reason and "\n" not in exc.reason.strip()
        return
    assert event.occurred_at.tzinfo is not None and event.occurred_at.utcoffset().total_seconds() == 0
    try:
        result = contribution_from(event, region)
    except InvalidEvent as exc:
        assert exc.reason
        return
    assert isinstance(result, Contribution | Ignored)
    if isinstance(result, Contribution):
        assert result.number.startswith("+") and result.number[1:].isascii() and result.number[1:].isdigit()
        # ... and the scorer can always decide on it: twice the evidence (two reporters, two calls), so that
        # a block's expiry is computed from the event's time too.
        evidence = merge(NumberEvidence(result.number), [result, replace(result, key=f"{result.key}#2")])
        decision = decide(result.number, {result.number: evidence}, ProtectedLists(), from_epoch(result.at))
        assert decision.action


@FUZZ
@given(body=bodies.filter(lambda b: not isinstance(b, dict | bytes)), region=REGIONS)
@example(body=DEEP, region="US")
def test_the_runners_line_check_answers_for_every_line(body, region):
    """`spam-blocker run` checks each line with the scorer's own validation before it enqueues it: a reason,
    IGNORED or None, never an exception (one would stop the feeder and fail the whole run)."""
    verdict = validate_line(body, region)
    assert verdict is None or verdict == IGNORED or (isinstance(verdict, str) and verdict)


# --- phone numbers --------------------------------------------------------------------------------------

@FUZZ
@given(raw=numbers | st.text(max_size=40) | json_scalars, region=REGIONS)
@example(raw="+¹⁹⁰⁷⁵⁵⁵⁰¹²³", region="US")
@example(raw="9" * 300, region="US")
@example(raw="(000) 000-0000", region="DE")
def test_a_number_normalises_to_ascii_e164_or_is_an_invalid_number(raw, region):
    try:
        e164 = phone.normalize(raw, region)
    except phone.InvalidNumber:
        return
    assert e164.startswith("+") and e164[1:].isascii() and e164[1:].isdigit() and len(e164) <= 50  # Zoom's limit
    assert phone.normalize(e164, region) == e164  # idempotent: one identity per caller
    # What the scorer then asks of a normalised number never fails either.
    assert 2 <= phone.min_prefix_length(e164) < len(e164)
    assert isinstance(phone.is_toll_free(e164), bool)
    assert all(p.isdigit() for p in phone.prefixes_of(e164))


@FUZZ
@given(raw=numbers | st.text(max_size=40), region=REGIONS)
def test_the_emergency_check_answers_for_any_text(raw, region):
    assert isinstance(phone.is_emergency_or_short(raw, region), bool)


# --- allowlist / own-numbers files ----------------------------------------------------------------------

_list_lines = st.one_of(
    numbers, numbers.map(lambda n: n + "*"), numbers.map(lambda n: f"{n}  # a note"),
    st.sampled_from(["", "   ", "# comment", "*", "+*", "1*", "+1907212*", "907212*", "0207*", "+999*",
                     "+1907212* # range", "+1 (907) 212-*", "911", "+١٩٠٧*", "\ufeff+19072120000"]),
    st.text(max_size=20),
)


@FUZZ
@given(lines=st.lists(_list_lines, max_size=8), newline=st.sampled_from(["\n", "\r\n", "\r"]), region=REGIONS)
def test_a_list_file_parses_or_names_its_bad_line(lines, newline, region):
    text = newline.join(lines)
    try:
        entries = parse_list(text, source="allow.txt", region=region)
    except ListFileError as exc:
        assert 1 <= exc.line <= max(1, len(text.splitlines())) and exc.reason
        assert str(exc).startswith(f"allow.txt:{exc.line}: ")
        return
    for entry in entries:
        if entry.is_prefix:
            assert entry.value.isascii() and entry.value.isdigit() and entry.key == entry.value + "*"
        else:
            assert entry.value.startswith("+") and entry.value[1:].isascii() and entry.value[1:].isdigit()


# --- block requests, as the blocker reads them off BlockQueue -------------------------------------------

block_requests = st.fixed_dictionaries(
    {"match_type": _maybe(st.sampled_from(["phoneNumber", "prefix", "number", ""])),
     "phone_number": _maybe(numbers | st.sampled_from(["1907555", "+19075550123", "١٩٠٧٥٥٥", "+١٩٠٧٥٥٥٠١٢٣",
                                                       "¹⁹⁰⁷", "+", "1" * 51])),
     "expires_at": _maybe(times), "decided_at": _maybe(times)},
    optional={"block_type": _maybe(st.sampled_from(["inbound", "outbound", "threat"])),
              "action": _maybe(st.sampled_from(["block", "unblock", "delete"])),
              "cooldown_until": _maybe(times), "reason": _maybe(st.text(max_size=20)),
              "evidence": json_values, "extra": json_values},
)


@FUZZ
@given(body=st.one_of(block_requests.map(json.dumps), json_values.map(json.dumps), st.text(max_size=100),
                      st.binary(max_size=100)))
@example(body='{"match_type": "prefix", "phone_number": "١٩٠٧٥٥٥", "expires_at": "2026-12-20T00:00:00Z", '
              '"decided_at": "2026-11-20T00:00:00Z"}')
@example(body='{"match_type": "phoneNumber", "phone_number": "+19075550123", '
              '"expires_at": "9999-12-31T23:59:59-01:00", "decided_at": "2026-11-20T00:00:00Z"}')
@example(body='{"match_type": "phoneNumber", "phone_number": "+19075550123", "expires_at": "2000-01-01T00:00:00Z", '
              '"decided_at": "0999-01-01T00:00:00Z"}')
@example(body=DEEP)
def test_a_block_request_is_valid_in_zooms_forms_or_a_validation_error(body):
    try:
        request = BlockRequest.model_validate_json(body)
    except ValidationError:
        return  # the blocker dead-letters it with the reason
    number = request.phone_number
    if request.match_type == "phoneNumber":  # what Zoom is sent: E.164 with '+', ASCII digits only
        assert number.startswith("+") and number[1:].isascii() and number[1:].isdigit()
    else:
        assert number.isascii() and number.isdigit()
    assert request.expires_at.tzinfo is not None and request.decided_at.tzinfo is not None
    again = BlockRequest.model_validate_json(request.to_body())  # what the blocker re-sends reads back
    assert again.key == request.key and again.action == request.action


# --- backfill and other invocation payloads -------------------------------------------------------------

_days = st.one_of(st.dates(date(2025, 1, 1), date(2027, 12, 31)).map(date.isoformat),
                  st.dates().map(date.isoformat), st.sampled_from(["2026-02-30", "2026-11-1", " 2026-11-01 ", "", "x"]))
backfill_payloads = st.fixed_dictionaries({}, optional={
    "from": _maybe(_days), "to": _maybe(_days), "dry_run": _maybe(st.booleans()),
    "phone_numbers": _maybe(st.lists(numbers | json_scalars, max_size=4)), "reporter": _maybe(st.text(max_size=8)),
    "reason": _maybe(st.text(max_size=8)), "reported_at": _maybe(times), "unknown": json_values})


@FUZZ
@given(payload=backfill_payloads | json_values, region=REGIONS, window_days=st.integers(1, 40))
@example(payload={"phone_numbers": ["+19075550123"], "reported_at": "9999-12-31T23:59:59-01:00"}, region="US",
         window_days=7)
def test_a_backfill_payload_is_planned_or_refused_with_a_reason(payload, region, window_days):
    try:
        request = parse_request(payload, region)
    except BackfillInputError as exc:
        assert exc.reason
        return
    assert isinstance(request, BackfillRequest)
    assert all(n.startswith("+") and n[1:].isdigit() for n in request.phone_numbers)
    if request.has_range:
        try:
            plan = plan_windows(request.date_from, request.date_to, date(2026, 11, 20), window_days)
        except BackfillInputError as exc:
            assert exc.reason
            return
        for window in plan.windows:
            assert request.date_from <= window.start <= window.end <= request.date_to


@FUZZ
@given(payload=st.fixed_dictionaries({}, optional={"now": _maybe(times), "dry_run": json_values | st.booleans(),
                                                   "phone_number": json_values}) | json_values)
@example(payload={"now": "9999-12-31T23:59:59-01:00"})
def test_an_invocation_payload_is_read_or_an_invalid_invocation(payload):
    try:
        mapping = as_payload(payload)
        now = payload_now(mapping)
        assert now is None or now.tzinfo is not None
        assert isinstance(payload_flag(mapping, "dry_run"), bool)
        payload_text(mapping, "phone_number", required=False)
    except InvalidInvocation as exc:
        assert str(exc)


# --- Zoom's OAuth answer (the API answers are fuzzed in tests/unit/zoom) --------------------------------

token_bodies = st.one_of(
    st.binary(max_size=60),
    st.fixed_dictionaries({}, optional={"access_token": json_scalars | st.just("tok"),
                                        "expires_in": json_scalars | st.sampled_from([3600, 0, -1, 1e308, 10**12]),
                                        "token_type": json_scalars, "error": json_scalars,
                                        "reason": json_scalars}).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.just(DEEP.encode()),
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(status=st.sampled_from([200, 201, 204, 302, 400, 401, 403, 429, 500, 503]), body=token_bodies,
       api_body=st.sampled_from([b'{"blocked_list": [], "next_page_token": ""}', DEEP.encode(), b"[]"]),
       retry_after=st.none() | st.text(alphabet=string.printable.strip(), max_size=12))
def test_any_oauth_or_api_answer_gives_a_result_or_a_zoom_error(status, body, api_body, retry_after):
    headers = {"Retry-After": retry_after} if retry_after else {}

    def app(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(200, content=api_body)

    clear_token_cache()
    client = ZoomClient.create("https://api.zoom.us/v2", "https://zoom.test/oauth/token", "acct", "id", "secret",
                               transport=httpx.MockTransport(app), clock=ManualClock(NOW), sleep=lambda s: None)
    try:
        assert client.list_blocked() is not None and list(client.list_blocked()) == []
    except ZoomError as exc:
        assert exc.message
    finally:
        clear_token_cache()


@pytest.mark.parametrize("status", [200, 400, 500])
def test_an_api_answer_nested_too_deeply_is_a_zoom_error(status):
    def app(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        return httpx.Response(status, content=DEEP.encode())

    clear_token_cache()
    client = ZoomClient.create("https://api.zoom.us/v2", "https://zoom.test/oauth/token", "acct", "id", "secret",
                               transport=httpx.MockTransport(app), clock=ManualClock(NOW), sleep=lambda s: None)
    try:
        with pytest.raises(ZoomError):
            client.create_blocked(match_type="phoneNumber", phone_number="+19075550123", block_type="inbound",
                                  comment="spam")
    finally:
        clear_token_cache()
