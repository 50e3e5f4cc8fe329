"""Retry-After in every form -> an exact, clamped, absolute UTC retry time."""

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spam_blocker.zoom.retry_after import (
    DAILY,
    QPS,
    category_of,
    header,
    limit_type_of,
    next_daily_reset,
    parse_retry_after,
    read_rate_limit,
    read_retry_after,
)

from .conftest import NOW, FixedRandom

MIDNIGHT = datetime(2026, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("2", NOW + timedelta(seconds=2)),
    (" 7 ", NOW + timedelta(seconds=7)),
    ("+3", NOW + timedelta(seconds=3)),
    ("1.5", NOW + timedelta(seconds=1.5)),
    (".25", NOW + timedelta(seconds=0.25)),
    ("0", NOW),
    ("-5", NOW),
    ("Fri, 20 Nov 2026 12:00:30 GMT", NOW + timedelta(seconds=30)),
    ("Friday, 20-Nov-26 12:00:30 GMT", NOW + timedelta(seconds=30)),
    ("Fri Nov 20 12:00:30 2026", NOW + timedelta(seconds=30)),
    ("2026-11-20T12:00:30Z", NOW + timedelta(seconds=30)),
    ("2026-11-20T12:00:30.500Z", NOW + timedelta(seconds=30.5)),
    ("2026-11-20T13:00:30+01:00", NOW + timedelta(seconds=30)),
    ("2026-11-20T07:00:30-05:00", NOW + timedelta(seconds=30)),
    ("2026-11-20T12:00:30", NOW + timedelta(seconds=30)),  # naive: UTC
    ("2026-11-20T11:00:00Z", NOW),  # in the past: now
    ("Thu, 01 Jan 1970 00:00:00 GMT", NOW),
])
def test_every_readable_form_gives_the_exact_time_for_qps(value, expected):
    assert parse_retry_after(value, now=NOW, limit_type=QPS) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-21T00:00:00Z", MIDNIGHT),
    ("2026-11-21T01:00:00+01:00", MIDNIGHT),
    ("2026-11-21", MIDNIGHT),
    ("Sat, 21 Nov 2026 00:00:00 GMT", MIDNIGHT),
    ("43200", MIDNIGHT),
    ("60", NOW + timedelta(seconds=60)),  # a short daily wait is honoured
])
def test_daily_forms_give_the_reset(value, expected):
    assert parse_retry_after(value, now=NOW, limit_type=DAILY) == expected


@pytest.mark.parametrize("value", ["600", "1e999", "2027-01-01T00:00:00Z", "Sat, 21 Nov 2026 12:00:00 GMT"])
def test_a_far_qps_wait_is_capped_at_a_minute(value):
    assert parse_retry_after(value, now=NOW, limit_type=QPS) == NOW + timedelta(seconds=60)


@pytest.mark.parametrize("value", ["999999999", "1e999", "2030-01-01T00:00:00Z"])
def test_a_far_daily_wait_is_capped_an_hour_after_the_next_reset(value):
    assert parse_retry_after(value, now=NOW, limit_type=DAILY) == MIDNIGHT + timedelta(hours=1)


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "nan", "inf", "1,5", "12 seconds", "0x10",
                                   "2026-13-45T99:00:00Z", "Fri, 99 Foo 2026 12:00:30 GMT",
                                   "0001-01-01T00:00:00+01:00"])
def test_missing_or_garbage_falls_back_to_one_second_plus_seeded_jitter_for_qps(value):
    assert parse_retry_after(value, now=NOW, limit_type=QPS, rng=FixedRandom(0.5)) == \
        NOW + timedelta(seconds=1.25)
    assert parse_retry_after(value, now=NOW, limit_type=QPS, rng=FixedRandom(0.0)) == NOW + timedelta(seconds=1)


def test_fallback_jitter_stays_under_half_a_second_and_follows_the_seed():
    seen = {parse_retry_after(None, now=NOW, rng=random.Random(seed)) for seed in range(50)}
    assert all(NOW + timedelta(seconds=1) <= at < NOW + timedelta(seconds=1.5) for at in seen)
    assert len(seen) > 40  # it is jitter, not a constant
    assert parse_retry_after("x", now=NOW, rng=random.Random(7)) == parse_retry_after("y", now=NOW, rng=random.Random(7))


@pytest.mark.parametrize("value", [None, "", "garbage"])
def test_missing_or_garbage_falls_back_to_the_next_midnight_gmt_for_daily(value):
    assert parse_retry_after(value, now=NOW, limit_type=DAILY) == MIDNIGHT


@pytest.mark.parametrize(("now", "reset"), [
    (datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC), MIDNIGHT),
    (datetime(2026, 11, 21, 0, 0, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)),
    (datetime(2026, 12, 31, 18, 0, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    # 20:00 in New York on the 20th is 01:00 GMT on the 21st: the reset is GMT midnight of the 22nd
    (datetime(2026, 11, 20, 20, 0, tzinfo=timezone(timedelta(hours=-5))), datetime(2026, 11, 22, tzinfo=UTC)),
])
def test_next_daily_reset_is_gmt_midnight(now, reset):
    assert next_daily_reset(now) == reset
    assert next_daily_reset(now).tzinfo is UTC


def test_results_are_utc_even_from_an_offset_now():
    now = NOW.astimezone(timezone(timedelta(hours=9)))
    at = parse_retry_after("2026-11-20T13:00:30+01:00", now=now)
    assert at == NOW + timedelta(seconds=30) and at.utcoffset() == timedelta(0)


def test_read_retry_after_says_none_for_garbage_instead_of_falling_back():
    assert read_retry_after("garbage", now=NOW, upper=NOW + timedelta(hours=1)) is None
    assert read_retry_after(None, now=NOW, upper=NOW + timedelta(hours=1)) is None
    assert read_retry_after("30", now=NOW, upper=NOW + timedelta(hours=1)) == NOW + timedelta(seconds=30)


@pytest.mark.parametrize(("type_header", "message", "expected"), [
    ("QPS", None, QPS),
    ("qps", "daily limit", QPS),  # the header wins over the body
    ("Daily-limit", None, DAILY),
    ("daily-limit", None, DAILY),
    (None, "You have reached the maximum daily rate limit for this API.", DAILY),
    (None, "You have reached the maximum per-second rate limit for this API. Try again later.", QPS),
    ("Something-new", "daily", DAILY),
    (None, None, QPS),
    ("", "Too many requests", QPS),
])
def test_limit_type_from_header_then_body_else_qps(type_header, message, expected):
    assert limit_type_of(type_header, message) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("Light", "Light"), ("MEDIUM", "Medium"), (" heavy ", "Heavy"), (None, "Medium"), ("Resource", "Medium"),
])
def test_category_from_header_else_route(value, expected):
    assert category_of(value, "Medium") == expected


def test_headers_are_matched_case_insensitively_in_plain_dicts():
    assert header({"retry-after": "3"}, "Retry-After") == "3"
    assert header({"X-Other": "3"}, "Retry-After") is None


def test_read_rate_limit_combines_all_three():
    limit = read_rate_limit({"X-RateLimit-Category": "Heavy", "X-RateLimit-Type": "Daily-limit",
                             "Retry-After": "2026-11-21T00:00:00Z"}, "daily", route_category="Light", now=NOW)
    assert (limit.category, limit.limit_type, limit.retry_at) == ("Heavy", DAILY, MIDNIGHT)


# --- fuzzing: whatever the header says, the answer is an aware UTC time within the bounds ---

_printable = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=40)
_numbers = st.one_of(st.integers(-10**12, 10**12).map(str),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr))
_dates = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                      timezones=st.one_of(st.none(), st.timezones()))
_stamps = st.one_of(_dates.map(lambda d: d.isoformat()),
                    _dates.map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")))
_nows = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(value=st.one_of(st.none(), _printable, _numbers, _stamps), now=_nows, daily=st.booleans(),
       seed=st.integers(0, 2**32))
def test_fuzz_retry_after_is_always_bounded(value, now, daily, seed):
    limit_type = DAILY if daily else QPS
    at = parse_retry_after(value, now=now, limit_type=limit_type, rng=random.Random(seed))
    assert at.utcoffset() == timedelta(0)
    upper = next_daily_reset(now) + timedelta(hours=1) if daily else now + timedelta(seconds=60)
    assert now <= at <= upper


@given(headers=st.dictionaries(st.sampled_from(["Retry-After", "retry-after", "X-RateLimit-Type",
                                                "X-RateLimit-Category", "X-Other"]), _printable),
       message=st.one_of(st.none(), _printable), now=_nows)
def test_fuzz_read_rate_limit_always_answers_one_of_ours(headers, message, now):
    limit = read_rate_limit(headers, message, route_category="Light", now=now, rng=random.Random(1))
    assert limit.category in {"Light", "Medium", "Heavy"}
    assert limit.limit_type in {QPS, DAILY}
    assert now <= limit.retry_at <= next_daily_reset(now) + timedelta(hours=1)
