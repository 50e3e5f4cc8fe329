"""Permits: remembered refusals within an invocation; pacing only for a full window, within its budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from spam_blocker.clock import ManualClock
from spam_blocker.domain.rate_window import RateGrant
from spam_blocker.services.permits import Permits

from tests.fakes.rate_limiter import InMemoryRateLimiter

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def full_window(limiter, clock):
    for _ in range(20):
        assert limiter.acquire("Light", clock.now()).granted


def test_a_refusal_is_remembered_until_its_retry_time():
    clock, limiter = ManualClock(START), InMemoryRateLimiter()
    full_window(limiter, clock)
    permits = Permits(limiter, clock)
    assert not permits.take("Light").granted
    assert not permits.take("Light").granted
    assert limiter.denied == {"Light": 1}
    assert permits.take("Medium").granted
    clock.advance(1)
    assert permits.take("Light").granted


@pytest.mark.parametrize("reason", ["penalty", "daily"])
def test_no_pacing_for_a_penalty_or_the_daily_allowance(reason):
    clock, limiter = ManualClock(START), InMemoryRateLimiter()
    limiter.deny_next("Light", RateGrant(False, START + timedelta(milliseconds=100), reason))
    slept = []
    permits = Permits(limiter, clock, max_wait_s=1.0, sleep=slept.append)
    assert not permits.take("Light").granted and slept == []


def test_pacing_stays_within_its_budget():
    clock, limiter = ManualClock(START), InMemoryRateLimiter()
    full_window(limiter, clock)
    slept = []
    permits = Permits(limiter, clock, max_wait_s=0.5, sleep=lambda s: (slept.append(s), clock.advance(s)))
    refused = permits.take("Light")
    assert not refused.granted and refused.retry_at == START + timedelta(seconds=1) and slept == []
    clock.advance(0.6)
    assert permits.take("Light").granted and slept == [pytest.approx(0.4)]


def test_pacing_needs_an_injected_sleep():
    with pytest.raises(ValueError):
        Permits(InMemoryRateLimiter(), ManualClock(START), max_wait_s=0.2)


def test_foreseen_refusals_come_from_the_limiter_without_a_grant_and_are_remembered():
    clock, limiter = ManualClock(START), InMemoryRateLimiter()
    permits = Permits(limiter, clock)
    assert permits.foreseen("Light") is None
    full_window(limiter, clock)
    refusal = permits.foreseen("Light")
    assert refusal is not None and refusal.retry_at == START + timedelta(seconds=1)
    assert limiter.denied == {} and permits.refused("Light") == refusal  # no acquire; the batch remembers it
    clock.advance(1)
    assert permits.foreseen("Light") is None


def test_a_foreseen_wait_within_the_pacing_budget_is_left_to_take():
    clock, limiter = ManualClock(START), InMemoryRateLimiter()
    full_window(limiter, clock)
    clock.advance(0.8)
    permits = Permits(limiter, clock, max_wait_s=0.25, sleep=clock.advance)
    assert permits.foreseen("Light") is None  # frees in 0.2 s: take() waits for it
    assert permits.take("Light").granted and clock.now() == START + timedelta(seconds=1)


def test_a_reserved_permit_is_waited_for_until_the_time_it_frees():
    clock, limiter = ManualClock(START), InMemoryRateLimiter()
    full_window(limiter, clock)
    clock.advance(0.9)
    slept = []
    permits = Permits(limiter, clock, max_wait_s=0.25, sleep=lambda s: (slept.append(s), clock.advance(s)))
    grant = permits.take("Light")
    assert grant.granted and grant.send_at == START + timedelta(seconds=1)
    assert slept == [pytest.approx(0.1)] and clock.now() == START + timedelta(seconds=1)
    assert permits.waits == 1 and permits.waited_s == pytest.approx(0.1)


def test_without_pacing_nothing_is_reserved():
    clock, limiter = ManualClock(START), InMemoryRateLimiter()
    full_window(limiter, clock)
    clock.advance(0.9)
    refused = Permits(limiter, clock).take("Light")
    assert not refused.granted and refused.retry_at == START + timedelta(seconds=1)
