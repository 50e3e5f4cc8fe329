"""One suite, two limiters: the in-memory fake and DynamoRateLimiter on moto (the `all_storage` idea from
`limits`). A factory makes more instances over the same storage: separate Lambda containers."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws
from spam_blocker.adapters.dynamo_rate_limiter import DynamoRateLimiter
from spam_blocker.adapters.tables import RATE_LIMIT_TABLE, create_table
from spam_blocker.clock import ManualClock
from spam_blocker.domain.rate_plan import PLANS
from spam_blocker.domain.rate_window import WindowLimits, limits_for_plan

from tests.fakes.rate_limiter import InMemoryRateLimiter, LimiterBackend

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PRO = limits_for_plan(PLANS["pro"])


@pytest.fixture(params=["memory", "dynamo"])
def make(request):
    """make(account=..., limits=...) -> a new limiter instance over the shared storage."""
    if request.param == "memory":
        backend = LimiterBackend()

        def memory(account: str = "acct-1", limits=None):
            return InMemoryRateLimiter(account=account, limits=limits or PRO, backend=backend)

        yield memory
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "rate", RATE_LIMIT_TABLE)

        def dynamo(account: str = "acct-1", limits=None):
            return DynamoRateLimiter(client, "rate", account=account, limits=limits or PRO)

        yield dynamo


def test_grants_exactly_the_allowance_in_a_frozen_second_then_says_when_a_permit_frees(make):
    limiter = make()
    grants = [limiter.acquire("Light", START) for _ in range(25)]
    assert [g.granted for g in grants] == [True] * 20 + [False] * 5
    assert {(g.reason, g.retry_at) for g in grants[20:]} == {("qps", START + timedelta(seconds=1))}
    assert limiter.acquire("Light", START + timedelta(milliseconds=999)).granted is False
    assert limiter.acquire("Light", START + timedelta(seconds=1)).granted is True


def test_the_window_slides_one_permit_per_expired_grant(make):
    limiter = make()
    for i in range(10):  # 10 grants in the first 100 ms, 10 more at 500 ms
        assert limiter.acquire("Medium", START + timedelta(milliseconds=10 * i)).granted
    denied = limiter.acquire("Medium", START + timedelta(milliseconds=500))
    assert (denied.granted, denied.retry_at) == (False, START + timedelta(seconds=1))
    assert limiter.acquire("Medium", START + timedelta(seconds=1)).granted
    assert not limiter.acquire("Medium", START + timedelta(milliseconds=1005)).granted
    assert limiter.acquire("Medium", START + timedelta(milliseconds=1010)).granted


def test_instances_share_the_allowance_and_categories_and_accounts_are_separate(make):
    a, b, other_account = make(), make(), make(account="acct-2")
    assert sum(x.acquire("Light", START).granted for x in (a, b) * 15) == 20
    assert not a.acquire("Light", START).granted and not b.acquire("Light", START).granted
    assert sum(a.acquire("Medium", START).granted for _ in range(12)) == 10
    assert sum(other_account.acquire("Light", START).granted for _ in range(22)) == 20


def test_random_traffic_never_exceeds_the_limit_in_any_second_and_uses_most_of_it(make):
    instances = [make(), make(), make()]
    rng = random.Random(7)
    clock = ManualClock(START)
    granted_at: list[datetime] = []
    while clock.now() < START + timedelta(seconds=10):
        clock.advance(rng.uniform(0.0, 0.03))
        grant = rng.choice(instances).acquire("Light", clock.now())
        if grant.granted:
            granted_at.append(clock.now())
    for i, t in enumerate(granted_at):  # any 1-second span holds at most 20 grants
        assert sum(1 for u in granted_at[i:] if u < t + timedelta(seconds=1)) <= 20
    assert len(granted_at) >= 0.95 * 20 * 10


def test_margin_and_reserve_narrow_the_allowance(make):
    limits = {"Light": WindowLimits(per_second=20, margin_s=0.1, reserve=2)}
    limiter = make(limits=limits)
    assert sum(limiter.acquire("Light", START).granted for _ in range(20)) == 18
    denied = limiter.acquire("Light", START + timedelta(seconds=1))
    assert (denied.granted, denied.retry_at) == (False, START + timedelta(seconds=1.1))
    assert limiter.acquire("Light", START + timedelta(seconds=1.1)).granted


def test_the_daily_allowance_resets_at_midnight_gmt(make):
    limits = {"Heavy": WindowLimits(per_second=5, daily=3)}
    limiter = make(limits=limits)
    late = datetime(2026, 11, 20, 23, 59, 58, tzinfo=UTC)
    assert limiter.acquire("Heavy", late).granted
    assert limiter.acquire("Heavy", late + timedelta(milliseconds=300)).granted
    assert limiter.acquire("Heavy", late + timedelta(milliseconds=600)).granted
    denied = limiter.acquire("Heavy", late + timedelta(seconds=1))
    assert (denied.granted, denied.reason, denied.retry_at) == (False, "daily", datetime(2026, 11, 21, tzinfo=UTC))
    assert limiter.acquire("Heavy", datetime(2026, 11, 21, tzinfo=UTC)).granted


def test_a_penalty_stops_every_instance_until_it_ends_and_is_never_shortened(make):
    a, b = make(), make()
    assert b.acquire("Light", START).granted  # b's view of the item is now current
    until = START + timedelta(seconds=3)
    a.penalize("Light", until, "QPS")
    a.penalize("Light", START + timedelta(seconds=1), "QPS")  # shorter: ignored
    for limiter in (a, b):
        grant = limiter.acquire("Light", START + timedelta(seconds=2))
        assert (grant.granted, grant.reason, grant.retry_at) == (False, "penalty", until)
    assert b.acquire("Medium", START + timedelta(seconds=2)).granted  # other categories unaffected
    assert a.acquire("Light", until).granted and b.acquire("Light", until).granted


def test_a_daily_penalty_says_daily(make):
    limiter = make()
    reset = datetime(2026, 11, 21, tzinfo=UTC)
    limiter.penalize("Light", reset, "Daily-limit")
    grant = limiter.acquire("Light", START)
    assert (grant.granted, grant.reason, grant.retry_at) == (False, "daily", reset)


def test_an_unknown_category_is_an_error(make):
    with pytest.raises(ValueError):
        make().acquire("Ultra", START)


@pytest.mark.parametrize("shared_instance", [True, False], ids=["one-instance", "instance-per-thread"])
def test_threads_on_one_key_get_exactly_the_allowance(make, shared_instance):
    """The limits-style concurrency test, on a frozen clock: 60 threads, 20 permits."""
    clock = ManualClock(START)
    one = make()
    barrier = threading.Barrier(60)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        limiter = one if shared_instance else make()
        barrier.wait()
        grant = limiter.acquire("Light", clock.now())
        with lock:
            results.append(grant.granted)

    threads = [threading.Thread(target=worker) for _ in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 20 and len(results) == 60


def test_instances_that_may_wait_reserve_distinct_times_within_their_wait(make):
    """60 threads on a frozen clock, each may wait 0.5 s: 20 permits now, and reservations for the
    next window at distinct times no later than the wait, none beyond the allowance of any span."""
    clock = ManualClock(START)
    barrier = threading.Barrier(60)
    grants = []
    lock = threading.Lock()

    def worker() -> None:
        limiter = make()
        barrier.wait()
        grant = limiter.acquire("Light", clock.now(), wait_up_to_s=0.5)
        with lock:
            grants.append(grant)

    threads = [threading.Thread(target=worker) for _ in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    granted = sorted(g.send_at for g in grants if g.granted)
    assert len(granted) == 20 and all(START <= t <= START + timedelta(seconds=0.5) for t in granted)
    refused = [g for g in grants if not g.granted]
    assert all(g.reason == "qps" and g.retry_at > START for g in refused)


def test_a_reservation_is_counted_by_the_next_caller(make):
    a, b = make(), make()
    for _ in range(20):
        assert a.acquire("Light", START).granted
    reserved = a.acquire("Light", START + timedelta(seconds=0.9), wait_up_to_s=0.2)
    assert reserved.granted and reserved.send_at == START + timedelta(seconds=1)
    # b at 1.0 s sees the 19 permits left of START's... none: all 20 left the window at 1.0 s, so b
    # has 19 places beside the reservation, and the 20th is refused until the reservation leaves.
    got = [b.acquire("Light", START + timedelta(seconds=1)) for _ in range(20)]
    assert [g.granted for g in got] == [True] * 19 + [False]
    assert got[-1].retry_at == START + timedelta(seconds=2)


# --- DynamoDB-only --------------------------------------------------------------------------------------

class _Counting:
    def __init__(self, client) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name):
        method = getattr(self._client, name)

        def call(**kwargs):
            self.calls.append(name)
            return method(**kwargs)
        return call


def test_a_grant_is_one_conditional_write_and_a_denial_in_a_full_window_costs_nothing():
    with mock_aws():
        client = _Counting(boto3.client("dynamodb", region_name="us-east-1"))
        create_table(client, "rate", RATE_LIMIT_TABLE)
        limiter = DynamoRateLimiter(client, "rate", account="acct-1", limits=PRO)
        client.calls.clear()
        for _ in range(20):
            assert limiter.acquire("Light", START).granted
        assert client.calls == ["put_item"] * 20
        assert not limiter.acquire("Light", START).granted
        assert client.calls == ["put_item"] * 20
        item = client.get_item(TableName="rate", Key={"limit_key": {"S": "acct-1#Light"}})["Item"]
        assert item["version"]["N"] == "20" and len(item["grants"]["L"]) == 20
        assert item["day"]["S"] == "2026-11-20" and item["day_count"]["N"] == "20"


def test_a_stale_instance_learns_the_current_state_from_its_lost_race():
    with mock_aws():
        client = _Counting(boto3.client("dynamodb", region_name="us-east-1"))
        create_table(client, "rate", RATE_LIMIT_TABLE)
        a = DynamoRateLimiter(client, "rate", account="acct-1", limits=PRO)
        b = DynamoRateLimiter(client, "rate", account="acct-1", limits=PRO)
        for _ in range(19):
            assert a.acquire("Light", START).granted
        client.calls.clear()
        assert b.acquire("Light", START).granted  # lost once (stale), then won on the returned item
        assert not b.acquire("Light", START).granted
        assert client.calls == ["put_item", "put_item"]


def test_a_second_per_second_429_widens_the_window_for_every_instance_then_fades(make):
    limits = {"Light": WindowLimits(per_second=20, boost_step_s=0.05, boost_max_s=0.25, boost_decay_s=100)}
    a, b = make(limits=limits), make(limits=limits)
    a.penalize("Light", START - timedelta(seconds=10), "QPS")  # a lone 429 arms the widening, no more
    assert b.acquire("Light", START - timedelta(seconds=9)).granted
    for _ in range(20):
        assert a.acquire("Light", START).granted
    a.penalize("Light", START + timedelta(seconds=1), "QPS")
    a.penalize("Light", START + timedelta(seconds=1.02), "QPS")  # the same burst: widened once
    denied = b.acquire("Light", START + timedelta(seconds=1.03))
    assert denied.reason == "qps"  # widened by 50 ms (fading: 15 µs already gone), not twice
    assert START + timedelta(seconds=1.0499) < denied.retry_at <= START + timedelta(seconds=1.05)
    assert b.acquire("Light", START + timedelta(seconds=1.05)).granted
    for _ in range(19):
        assert b.acquire("Light", START + timedelta(seconds=101.2)).granted  # faded away after 100 s
    assert b.acquire("Light", START + timedelta(seconds=102.2)).granted


def test_a_daily_429_does_not_widen_the_window(make):
    limits = {"Light": WindowLimits(per_second=20, boost_max_s=0.25)}
    limiter = make(limits=limits)
    for _ in range(20):
        assert limiter.acquire("Light", START).granted
    limiter.penalize("Light", START + timedelta(seconds=1), "Daily-limit")
    assert limiter.acquire("Light", START + timedelta(seconds=1)).granted


class _SlowWrites(_Counting):
    """A put_item that takes `delay_s` of the limiter's clock (a slow store, a paused process)."""

    def __init__(self, client, clock: ManualClock) -> None:
        super().__init__(client)
        self.clock = clock
        self.delay_s = 0.0

    def __getattr__(self, name):
        call = super().__getattr__(name)
        if name != "put_item":
            return call

        def slow(**kwargs):
            result = call(**kwargs)
            self.clock.advance(self.delay_s)
            return result
        return slow


@pytest.fixture
def slow_store():
    """(limiter, client, clock): a DynamoDB limiter (50 ms margin) whose writes take `client.delay_s`."""
    with mock_aws():
        clock = ManualClock(START)
        client = _SlowWrites(boto3.client("dynamodb", region_name="us-east-1"), clock)
        create_table(client, "rate", RATE_LIMIT_TABLE)
        limits = limits_for_plan(PLANS["pro"], margin_s=0.05)
        yield DynamoRateLimiter(client, "rate", account="acct-1", limits=limits, clock=clock), client, clock


def test_a_permit_whose_write_outlasted_the_margin_is_left_unused_and_a_fresh_one_is_good(slow_store):
    limiter, client, clock = slow_store
    client.delay_s = 0.049  # within the margin: used
    assert limiter.acquire("Light", clock.now()).granted
    client.delay_s = 0.051  # beyond it: counted in the window, but refused, to be asked again at once
    late = limiter.acquire("Light", clock.now())
    assert not late.granted and late.reason == "qps" and late.retry_at == clock.now()
    assert len(limiter.state("Light").grants) == 2
    client.delay_s = 0.0
    assert limiter.acquire("Light", clock.now()).granted


def test_foresee_refuses_from_the_cached_window_without_a_call(make):
    a, b = make(), make()
    assert a.foresee("Light", START) is None
    for _ in range(20):
        assert a.acquire("Light", START).granted
    refusal = a.foresee("Light", START + timedelta(milliseconds=10))
    assert refusal is not None and not refusal.granted and refusal.reason == "qps"
    assert refusal.retry_at == START + timedelta(seconds=1)
    assert a.foresee("Light", START + timedelta(seconds=1)) is None  # the window has slid
    # an instance that has not seen the full window cannot foresee it (a DynamoDB one); acquire still refuses
    assert not b.acquire("Light", START + timedelta(milliseconds=10)).granted


def test_foreseeing_costs_no_dynamodb_call():
    with mock_aws():
        client = _Counting(boto3.client("dynamodb", region_name="us-east-1"))
        create_table(client, "rate", RATE_LIMIT_TABLE)
        limiter = DynamoRateLimiter(client, "rate", account="acct-1", limits=PRO)
        for _ in range(20):
            limiter.acquire("Light", START)
        client.calls.clear()
        assert limiter.foresee("Light", START) is not None and limiter.foresee("Light", START).reason == "qps"
        assert client.calls == []


def test_a_caller_that_may_wait_gets_its_permit_recorded_a_slow_write_ahead_and_uses_it(slow_store):
    limiter, client, clock = slow_store
    client.delay_s = 0.08  # every write outlasts the margin
    assert limiter.lead_s(0.25) == 0.0  # nothing measured yet
    assert not limiter.acquire("Light", clock.now()).granted  # unused: it came back too late
    assert limiter.lead_s(0.25) == pytest.approx(0.08) and limiter.lead_s(0.0) == 0.0
    assert limiter.lead_s(0.05) == pytest.approx(0.05)  # never beyond what the caller may wait
    asked = clock.now()
    grant = limiter.acquire("Light", asked, wait_up_to_s=0.25)
    assert grant.granted and grant.send_at == asked + timedelta(seconds=0.08)  # recorded ahead
    assert clock.now() <= grant.send_by  # the write came back in time: the permit is good
    assert not limiter.acquire("Light", clock.now()).granted  # a caller that cannot wait: no lead
