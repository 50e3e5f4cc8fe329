"""A 429 from Zoom: the whole category is penalized for every instance until Zoom's retry time, read from
each Retry-After form; nothing is created, nothing waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockState
from spam_blocker.services.outcomes import Result
from spam_blocker.services.permits import Permits

from tests.fakes.rate_limiter import InMemoryRateLimiter
from tests.fakes.zoom import rate_limited
from tests.unit.blocker.conftest import NUMBER, START, request

KEY = BlockKey("phoneNumber", NUMBER, "inbound")
MIDNIGHT = datetime(2026, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize(("retry_after", "expected"), [
    ("2", START + timedelta(seconds=2)),
    (format_datetime(START + timedelta(seconds=5), usegmt=True), START + timedelta(seconds=5)),
    ("2026-11-20T12:00:03Z", START + timedelta(seconds=3)),
], ids=["seconds", "http-date", "iso"])
def test_a_qps_429_penalizes_the_category_until_zooms_retry_time(world, retry_after, expected):
    world.zoom.fail("create", rate_limited(world.clock, retry_after=retry_after))
    outcome = world.run(request())
    assert (outcome.result, outcome.retry_at, outcome.throttled, outcome.limit_reason) == (
        Result.LIMITED, expected, True, "penalty")
    assert world.zoom.entries() == []
    row = world.store[KEY]
    assert row.state is BlockState.PENDING and row.owner is None and row.post_started_at is None
    assert world.limiter.penalties == [("Light", expected, "QPS")]
    other_instance = InMemoryRateLimiter(backend=world.limiter.backend)
    refused = other_instance.acquire("Light", expected - timedelta(milliseconds=1))
    assert (refused.granted, refused.reason, refused.retry_at) == (False, "penalty", expected)
    world.clock.set(expected)
    assert world.run(request()).result is Result.CREATED
    assert len(world.zoom.entries()) == 1 and world.zoom.count("create") == 2


def test_a_qps_429_without_retry_after_waits_a_second_and_a_bit(world):
    world.zoom.fail("create", rate_limited(world.clock, retry_after=None))
    outcome = world.run(request())
    assert START + timedelta(seconds=1) <= outcome.retry_at < START + timedelta(seconds=1.5)


@pytest.mark.parametrize("retry_after", ["2026-11-21T00:00:00Z", format_datetime(MIDNIGHT, usegmt=True), None,
                                         str(int((MIDNIGHT - START).total_seconds()))],
                         ids=["iso", "http-date", "missing", "seconds"])
def test_a_daily_429_defers_to_the_reset(world, retry_after):
    world.zoom.fail("create", rate_limited(world.clock, retry_after=retry_after, limit_type="Daily-limit"))
    outcome = world.run(request())
    assert (outcome.result, outcome.retry_at, outcome.limit_reason) == (Result.LIMITED, MIDNIGHT, "daily")
    grant = world.limiter.acquire("Light", START + timedelta(hours=6))
    assert (grant.granted, grant.reason, grant.retry_at) == (False, "daily", MIDNIGHT)
    assert world.zoom.entries() == []


def test_after_a_429_the_rest_of_the_batch_is_not_sent(world):
    world.zoom.fail("create", rate_limited(world.clock, retry_after="1"))
    permits = world.permits()
    outcomes = [world.run(request(f"+1907555{n:04d}"), permits=permits) for n in range(4)]
    assert [o.result for o in outcomes] == [Result.LIMITED] * 4
    assert [o.throttled for o in outcomes] == [True, False, False, False]
    assert world.zoom.count("create") == 1


def test_a_429_while_listing_penalizes_medium_and_keeps_the_doubt(world):
    from tests.fakes.zoom import server_error

    world.zoom.fail("create", server_error(502), commit=True)
    world.run(request())
    world.clock.advance(2)
    world.zoom.fail("list", rate_limited(world.clock, retry_after="1", category="Medium"))
    outcome = world.run(request())
    assert (outcome.result, outcome.category) == (Result.LIMITED, "Medium")
    assert world.limiter.penalties[-1][0] == "Medium"
    assert world.store[KEY].post_started_at is not None
    world.clock.advance(1)
    assert world.run(request()).result is Result.ADOPTED
    assert len(world.zoom.entries()) == 1


def test_pacing_waits_briefly_for_a_permit_instead_of_deferring(world):
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        world.clock.advance(seconds)

    for _ in range(20):
        assert world.limiter.acquire("Light", START).granted
    world.clock.advance(0.8)
    permits = Permits(world.limiter, world.clock, max_wait_s=0.3, sleep=sleep)
    assert world.run(request(), permits=permits).result is Result.CREATED
    assert slept == [pytest.approx(0.2)] and permits.waits == 1 and permits.waited_s == pytest.approx(0.2)
