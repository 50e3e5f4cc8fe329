"""When an unsettled message comes back: visibility with spreading jitter, a fresh copy before the DLQ."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from spam_blocker.services.deferral import MAX_DELAY_S, MAX_VISIBILITY_S, DeferralPolicy, plan_deferral

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POLICY = DeferralPolicy()


def plan(retry_in_s: float | None, receives: int, *, transient: bool = False, seed: int = 1):
    retry_at = NOW + timedelta(seconds=retry_in_s) if retry_in_s is not None else None
    return plan_deferral(retry_at=retry_at, now=NOW, receive_count=receives, transient=transient, policy=POLICY,
                         rng=random.Random(seed))


def test_a_limited_message_returns_after_the_permit_frees_plus_jitter():
    seconds = {plan(0.3, 1, seed=s).seconds for s in range(50)}
    assert min(seconds) >= 1 and max(seconds) <= 2  # 0.3 s + up to 1 s of jitter, whole seconds
    assert not any(plan(0.3, 1, seed=s).resend for s in range(50))


def test_the_jitter_spreads_with_each_receive_up_to_a_cap():
    third = [plan(0.0, 3, seed=s).seconds for s in range(200)]
    assert max(third) <= 4 and len(set(third)) >= 3
    assert third == [plan(0.0, 3, seed=s).seconds for s in range(200)]  # deterministic for a seed
    capped = [plan_deferral(retry_at=NOW, now=NOW, receive_count=3, transient=False,
                            policy=DeferralPolicy(spread_max_s=2.0), rng=random.Random(s)).seconds for s in range(100)]
    assert max(capped) <= 2


def test_a_message_deferred_often_is_resent_fresh_instead_of_reaching_the_dlq():
    deferral = plan(5.0, POLICY.resend_after_receives)
    assert deferral.resend and 5 <= deferral.seconds <= MAX_DELAY_S


def test_a_daily_wait_uses_visibility_up_to_twelve_hours():
    assert plan(10 * 3600, 1).seconds in range(10 * 3600, 10 * 3600 + 2)
    assert plan(20 * 3600, 1).seconds == MAX_VISIBILITY_S and not plan(20 * 3600, 1).resend
    resent = plan(20 * 3600, 5)
    assert resent.resend and resent.seconds == MAX_DELAY_S


def test_a_transient_failure_backs_off_exponentially_and_is_never_resent():
    first = [plan(None, 1, transient=True, seed=s).seconds for s in range(50)]
    fifth = [plan(None, 5, transient=True, seed=s).seconds for s in range(50)]
    assert 1 <= min(first) and max(first) <= 2
    assert 16 <= min(fifth) and max(fifth) <= 32
    assert not any(plan(None, 9, transient=True, seed=s).resend for s in range(20))
    assert plan(None, 30, transient=True).seconds <= POLICY.retry_max_s
    assert plan(120, 1, transient=True).seconds >= 120  # Zoom's Retry-After on a 503 wins when later


@given(wait=st.floats(min_value=-100, max_value=3 * 86_400, allow_nan=False), receives=st.integers(0, 50),
       transient=st.booleans(), seed=st.integers(0, 2**32))
def test_every_plan_is_a_valid_sqs_call(wait, receives, transient, seed):
    deferral = plan(wait, receives, transient=transient, seed=seed)
    assert 1 <= deferral.seconds <= (MAX_DELAY_S if deferral.resend else MAX_VISIBILITY_S)
    assert not (transient and deferral.resend)
