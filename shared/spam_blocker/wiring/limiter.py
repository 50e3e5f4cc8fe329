"""The shared rate limiter as the scheduled and ops functions build it: the same table, account key and plan
limits as the blocker's (wiring/blocker.py), so every function draws on one allowance per category."""

from __future__ import annotations

from typing import Any

from spam_blocker.config.expirer import LimitedZoomSettings


def shared_limiter(dynamodb: Any, settings: LimitedZoomSettings, account: str) -> Any:
    from spam_blocker.adapters.dynamo_rate_limiter import DynamoRateLimiter
    from spam_blocker.domain.rate_plan import plan_limits
    from spam_blocker.domain.rate_window import limits_for_plan

    limits = limits_for_plan(plan_limits(settings.zoom_plan), margin_s=settings.rate_limit_margin_s,
                             reserve_fraction=settings.rate_limit_reserve)
    return DynamoRateLimiter(dynamodb, settings.rate_limit_table, account=account, limits=limits)
