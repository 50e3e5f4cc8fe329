"""The grant-or-wait maths, as properties: never more than the allowance in any span, and `retry_at` exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spam_blocker.domain.rate_plan import PLANS
from spam_blocker.domain.rate_window import (
    WindowLimits,
    WindowState,
    decide,
    limits_for_plan,
    micros,
    next_reset,
    penalize,
)

START = datetime(2026, 11, 20, 23, 59, 50, tzinfo=UTC)


def run(limits: WindowLimits, gaps_us: list[int]):
    state, granted, now = WindowState(), [], START
    for gap in gaps_us:
        now = now + timedelta(microseconds=gap)
        grant, new_state = decide(state, now, limits)
        if grant.granted:
            state = new_state
            granted.append(now)
        else:
            assert grant.retry_at > now
            retry_grant, _ = decide(state, grant.retry_at, limits)
            assert retry_grant.granted or grant.reason != "qps"  # the promised time really frees a permit
    return granted


@settings(max_examples=150, deadline=None)
@given(per_second=st.integers(1, 40), margin_ms=st.integers(0, 200), reserve=st.integers(0, 5),
       gaps=st.lists(st.integers(0, 400_000), min_size=1, max_size=300))
def test_no_span_ever_holds_more_than_the_capacity(per_second, margin_ms, reserve, gaps):
    limits = WindowLimits(per_second=per_second, margin_s=margin_ms / 1000, reserve=reserve)
    granted = run(limits, gaps)
    span = timedelta(microseconds=limits.span_us)
    for i, t in enumerate(granted):
        assert sum(1 for u in granted[i:] if u < t + span) <= limits.capacity


def test_the_exact_retry_time_is_granted_and_a_microsecond_earlier_is_not():
    limits = WindowLimits(per_second=2, margin_s=0.05)
    state = WindowState()
    for offset in (0, 300_000):
        _, state = decide(state, START + timedelta(microseconds=offset), limits)
    refused, _ = decide(state, START + timedelta(milliseconds=500), limits)
    assert refused.retry_at == START + timedelta(seconds=1.05)
    assert not decide(state, refused.retry_at - timedelta(microseconds=1), limits)[0].granted
    assert decide(state, refused.retry_at, limits)[0].granted


def test_daily_counts_reset_at_midnight_gmt_and_penalties_only_grow():
    limits = WindowLimits(per_second=100, daily=2)
    state = WindowState()
    for _ in range(2):
        _, state = decide(state, START, limits)
    refused, _ = decide(state, START, limits)
    assert (refused.reason, refused.retry_at) == ("daily", next_reset(START))
    assert decide(state, next_reset(START), limits)[0].granted
    penalized = penalize(state, START + timedelta(seconds=5), "QPS")
    assert penalize(penalized, START + timedelta(seconds=2), "QPS") is None
    assert penalized.blocked_until == micros(START + timedelta(seconds=5))


def test_plan_limits_carry_the_daily_limit_only_where_zoom_has_one():
    limits = limits_for_plan(PLANS["business"], margin_s=0.05, reserve_fraction=0.1)
    assert (limits["Light"].capacity, limits["Light"].daily) == (36, None)
    assert (limits["Heavy"].capacity, limits["Heavy"].daily) == (9, 30_000)
    with pytest.raises(ValueError):
        limits_for_plan(PLANS["pro"], reserve_fraction=1.0)


def test_widening_grows_per_burst_of_429s_up_to_its_cap_and_fades_linearly():
    limits = WindowLimits(per_second=10, boost_step_s=0.1, boost_max_s=0.25, boost_decay_s=10)
    state = penalize(WindowState(), START + timedelta(seconds=1), "QPS", limits)
    assert state.boost_us == 0 and state.boost_at == micros(START + timedelta(seconds=1))  # a lone 429 only arms
    for second in range(1, 4):  # three more bursts, a second apart
        state = penalize(state, START + timedelta(seconds=second + 1), "QPS", limits)
    assert state.boost_us == 250_000 and state.boost_at == micros(START + timedelta(seconds=4))
    from spam_blocker.domain.rate_window import boost_at_time

    assert boost_at_time(state, micros(START + timedelta(seconds=9)), limits) == 125_000
    assert boost_at_time(state, micros(START + timedelta(seconds=14)), limits) == 0
    assert penalize(WindowState(), START, "QPS", WindowLimits(per_second=10)).boost_us == 0  # off by default


def test_a_caller_with_an_older_clock_is_judged_at_the_newest_grant():
    """A later writer pruned grants the older caller's window still needs (0.5 s and 0.9 s, capacity 2):
    judged at its own 1.0 s it would add a third grant to (0.0, 1.0]; judged at 2.0 s it adds none there.
    So it is recorded at 2.0 s and must not send before: granted only if it may wait that long."""
    limits = WindowLimits(per_second=2)
    state = WindowState()
    for at in (0.5, 0.9, 2.0):
        _, state = decide(state, START + timedelta(seconds=at), limits)
    assert state.grants == (micros(START + timedelta(seconds=2.0)),)  # 0.5 and 0.9 pruned at 2.0
    refused, _ = decide(state, START + timedelta(seconds=1.0), limits)
    assert not refused.granted and refused.retry_at == START + timedelta(seconds=2.0)
    grant, later = decide(state, START + timedelta(seconds=1.0), limits, wait_up_to_s=1.0)
    assert grant.granted and grant.send_at == START + timedelta(seconds=2.0)
    assert later.grants == (micros(START + timedelta(seconds=2.0)),) * 2
    refused, _ = decide(later, START + timedelta(seconds=1.0), limits, wait_up_to_s=1.0)
    assert not refused.granted and refused.retry_at == START + timedelta(seconds=3.0)


def test_a_caller_that_may_wait_reserves_the_time_a_permit_frees_and_the_next_one_the_time_after():
    limits = WindowLimits(per_second=2, margin_s=0.05)
    state = WindowState()
    for at in (0.0, 0.3):
        _, state = decide(state, START + timedelta(seconds=at), limits)
    now = START + timedelta(seconds=0.9)
    assert not decide(state, now, limits, wait_up_to_s=0.1)[0].granted  # frees at 1.05: 0.15 s away
    first, state = decide(state, now, limits, wait_up_to_s=0.2)
    assert first.granted and first.send_at == START + timedelta(seconds=1.05)
    assert first.send_by == START + timedelta(seconds=1.10)
    second, state = decide(state, now, limits, wait_up_to_s=0.5)  # 0.3 + 1.05
    assert second.granted and second.send_at == START + timedelta(seconds=1.35)
    third, _ = decide(state, now, limits, wait_up_to_s=0.5)  # the window after 1.05 is full until 2.10
    assert not third.granted and third.retry_at == START + timedelta(seconds=2.10)
    penalized = penalize(state, START + timedelta(seconds=3.0), "QPS")
    refused, _ = decide(penalized, now, limits, wait_up_to_s=5.0)  # never reserved through a penalty
    assert (refused.granted, refused.reason) == (False, "penalty")


@settings(max_examples=150, deadline=None)
@given(per_second=st.integers(1, 30), margin_ms=st.integers(0, 200), wait_ms=st.integers(0, 600),
       gaps=st.lists(st.integers(0, 300_000), min_size=1, max_size=200))
def test_reservations_never_put_more_than_the_capacity_in_any_span_of_send_times(per_second, margin_ms,
                                                                               wait_ms, gaps):
    limits = WindowLimits(per_second=per_second, margin_s=margin_ms / 1000)
    state, sent, now = WindowState(), [], START
    for gap in gaps:
        now += timedelta(microseconds=gap)
        grant, new_state = decide(state, now, limits, wait_up_to_s=wait_ms / 1000)
        if grant.granted:
            assert now <= grant.send_at <= now + timedelta(milliseconds=wait_ms)
            state = new_state
            sent.append(grant.send_at)
        else:
            assert grant.retry_at > now
    sent.sort()
    span = timedelta(microseconds=limits.span_us)
    for i, t in enumerate(sent):
        assert sum(1 for u in sent[i:] if u < t + span) <= limits.capacity


def test_a_grant_must_be_sent_within_the_margin_and_boost():
    limits = WindowLimits(per_second=20, margin_s=0.05, boost_max_s=0.25)
    grant, state = decide(WindowState(), START, limits)
    assert grant.granted
    assert not START + timedelta(milliseconds=50) > grant.send_by
    assert START + timedelta(milliseconds=51) > grant.send_by
    armed = penalize(state, START + timedelta(seconds=1), "QPS", limits)
    boosted = penalize(armed, START + timedelta(seconds=2), "QPS", limits)  # a second 429 widens it by 50 ms
    grant, _ = decide(boosted, START + timedelta(seconds=2), limits)
    assert not START + timedelta(seconds=2, milliseconds=95) > grant.send_by
    assert START + timedelta(seconds=2, milliseconds=101) > grant.send_by
    refused, _ = decide(boosted, START + timedelta(seconds=1, milliseconds=500), limits)
    assert not refused.granted and refused.send_by is None  # only a permit has a deadline
