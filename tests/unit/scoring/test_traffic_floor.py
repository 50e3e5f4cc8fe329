"""The oracle bound of local/traffic/floor.py: what a range policy that knew the spam to come would block."""

from __future__ import annotations

import math

from local.traffic.floor import CampaignDays, days_to_block, oracle_legit_blocked


def test_the_busiest_days_are_blocked_first_and_the_last_in_part():
    assert days_to_block([10, 40, 0, 20], 50) == 1.5  # 40, then half of 20
    assert days_to_block([10, 40], 0) == 0
    assert math.isinf(days_to_block([10, 40], 51))


def test_the_oracle_pays_the_steady_rate_of_first_calls_for_each_day_it_blocks():
    # 100 future spam calls, 40 of them from own-exchange campaigns over 4 range-days; 8 first calls from
    # neighbours over 10 range-days (0.8 a day); 1,000 legitimate calls
    seed = CampaignDays(future_spam=100, campaign_spam_by_day=(25, 10, 5, 0), range_days=10, first_calls=8,
                        legit_calls=1000, blocked_elsewhere=55)
    # everything else caught: 90 % needs 30 of the 40 -> the 25-day and half of the 10-day -> 1.5 days
    assert math.isclose(oracle_legit_blocked([seed], 0.9), 1.5 * 0.8)
    # catching elsewhere only the product's 55 of 60: 35 of the 40 are needed -> 25 + 10 -> 2 days
    assert math.isclose(oracle_legit_blocked([seed], 0.9, as_product_elsewhere=True), 2 * 0.8)
    assert oracle_legit_blocked([seed], 0.5) == 0  # met without a single range
