"""Backfill input and window planning: Zoom's one-month and six-month rules, clipping, identity."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spam_blocker.domain.backfill_plan import (
    BackfillInputError,
    Window,
    add_months,
    input_key,
    oldest_available,
    parse_request,
    plan_windows,
    record_identity,
    still_available,
)

TODAY = date(2026, 11, 20)


def test_a_week_is_one_window():
    plan = plan_windows(date(2026, 11, 1), date(2026, 11, 7), TODAY, window_days=7)
    assert plan.windows == (Window(date(2026, 11, 1), date(2026, 11, 7)),) and plan.notes == ()


def test_windows_never_span_a_calendar_month_even_when_allowed_more_days():
    plan = plan_windows(date(2026, 6, 1), date(2026, 8, 15), TODAY, window_days=31)
    assert plan.windows == (Window(date(2026, 6, 1), date(2026, 6, 30)), Window(date(2026, 7, 1), date(2026, 7, 31)),
                            Window(date(2026, 8, 1), date(2026, 8, 15)))


def test_a_range_older_than_six_months_is_clipped_with_a_note():
    plan = plan_windows(date(2026, 3, 1), date(2026, 6, 1), TODAY, window_days=31)
    assert oldest_available(TODAY) == date(2026, 5, 20)
    assert plan.windows[0].start == date(2026, 5, 20) and plan.windows[-1].end == date(2026, 6, 1)
    assert "clipped 'from' 2026-03-01 to 2026-05-20" in plan.notes[0] and "last 6 months only" in plan.notes[0]


def test_a_range_entirely_too_old_is_refused_with_a_clear_message():
    with pytest.raises(BackfillInputError, match="only the last 6 months are available .from 2026-05-20."):
        plan_windows(date(2026, 1, 1), date(2026, 2, 1), TODAY, window_days=7)


def test_a_future_end_is_clipped_to_today_and_a_future_range_refused():
    assert plan_windows(date(2026, 11, 18), date(2026, 12, 30), TODAY, 7).windows == (Window(date(2026, 11, 18), TODAY),)
    with pytest.raises(BackfillInputError, match="future"):
        plan_windows(date(2026, 12, 1), date(2026, 12, 2), TODAY, 7)


@given(start=st.dates(date(2026, 5, 20), TODAY), span=st.integers(0, 200), window_days=st.integers(1, 31))
def test_windows_cover_the_range_exactly_and_obey_zooms_rules(start, span, window_days):
    end = min(TODAY, date.fromordinal(start.toordinal() + span))
    windows = plan_windows(start, end, TODAY, window_days).windows
    assert windows[0].start == start and windows[-1].end == end
    for one, two in zip(windows, windows[1:], strict=False):
        assert date.fromordinal(one.end.toordinal() + 1) == two.start
    for w in windows:
        assert w.days <= window_days and w.end < add_months(w.start, 1) and w.start >= oldest_available(TODAY)


def test_a_window_that_aged_out_before_it_was_reached_is_dropped_or_trimmed():
    window = Window(date(2026, 5, 10), date(2026, 5, 25))
    assert still_available(window, TODAY) == Window(date(2026, 5, 20), date(2026, 5, 25))
    assert still_available(window, date(2026, 12, 1)) is None


def test_the_payload_is_validated_and_numbers_normalised():
    request = parse_request({"phone_numbers": ["907-555-0124", "+1 (907) 555-0123", "19075550123"],
                             "reporter": " ops-jane ", "reason": "robocall"})
    assert request.phone_numbers == ("+19075550123", "+19075550124") and request.reporter == "ops-jane"
    assert not request.has_range


@pytest.mark.parametrize(("payload", "message"), [
    ({"from": "2026-11-01"}, "both 'from' and 'to'"),
    ({"from": "2026-11-07", "to": "2026-11-01"}, "before 'from'"),
    ({"from": "11/01/2026", "to": "2026-11-07"}, "not a date"),
    ({}, "nothing to do"),
    ({"form": "2026-11-01", "to": "2026-11-07"}, "form: unknown field"),
    ({"phone_numbers": ["+19075550123", "hello", "911"]}, "2 phone number.* 'hello', '911'"),
    (["2026-11-01"], "JSON object"),
])
def test_bad_payloads_are_refused_with_a_reason(payload, message):
    with pytest.raises(BackfillInputError, match=message):
        parse_request(payload)


def test_identity_ignores_dry_run_and_number_order_but_not_the_range():
    a = parse_request({"from": "2026-11-01", "to": "2026-11-07", "dry_run": True})
    b = parse_request({"from": "2026-11-01", "to": "2026-11-07"})
    c = parse_request({"from": "2026-11-01", "to": "2026-11-08"})
    d = parse_request({"phone_numbers": ["+19075550124", "+19075550123"]})
    e = parse_request({"phone_numbers": ["907 555 0123", "+19075550124"]})
    assert input_key(a) == input_key(b) != input_key(c)
    assert input_key(d) == input_key(e)
    assert input_key(parse_request({"phone_numbers": ["+19075550123"], "reporter": "x"})) != input_key(
        parse_request({"phone_numbers": ["+19075550123"], "reporter": "y"}))


def test_record_identity_prefers_zooms_id_then_call_id_then_a_content_hash():
    assert record_identity({"id": "abc", "call_id": "c1"}) == "id:abc"
    assert record_identity({"call_id": "c1"}) == "call_id:c1"
    one = {"caller_number": "+19075550123", "date_time": datetime(2026, 11, 1, tzinfo=UTC).isoformat()}
    assert record_identity(one) == record_identity(dict(one)) != record_identity({**one, "duration": 5})
