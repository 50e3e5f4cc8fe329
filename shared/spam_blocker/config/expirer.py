"""Settings of the expirer function (EventBridge Scheduler; also the ops `unblock` and `explain` actions).

BLOCKS_TABLE, EVIDENCE_TABLE, RATE_LIMIT_TABLE   DynamoDB tables (required; Evidence also holds the
                                    allowlist and own numbers)
ZOOM_API_URL, ZOOM_OAUTH_URL        where Zoom is (defaults: Zoom's production URLs)
ZOOM_SECRET_ARN                     Secrets Manager JSON {account_id, client_id, client_secret} (AWS), or
ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET   the credentials themselves (local use)
ZOOM_PLAN                           pro | business: the limits of the shared rate limiter
RATE_LIMIT_MARGIN_S, RATE_LIMIT_RESERVE   the shared limiter's margins (as the blocker's; defaults 0.05, 0)
PERMIT_MAX_WAIT_MS                  wait up to this long for a permit of a full per-second window (never for a
                                    429 or the daily limit); default 1000
EXPIRY_ACTION                       delete | deactivate: DELETE the Zoom entry, or PATCH it status=inactive
                                    (kept in Zoom, not blocking); also used by ops unblock. Default delete
MAX_PER_RUN                         due blocks handled per run, soonest first; the rest wait for the next
                                    run (default 100)
DEFAULT_REGION                      region for numbers written without a country code (default US)
UNBLOCK_COOLDOWN_DAYS               ops unblock keeps the number off the list this long (default: the
                                    not_spam cool-down, NOT_SPAM_COOLDOWN_DAYS or its Policy default)

Renewal (domain/renewal.py; a block is renewed when one signal since its last decision reaches its bar):
RENEW_REPORT_DAYS       new reports count within this many days (default 14)
RENEW_CALL_DAYS         suspicious calls from the number, and its neighbours' reports, within this many days (default 7)
RENEW_MIN_REPORTS       distinct new reports needed (default 1)
RENEW_MIN_CALLS         suspicious calls from the blocked number(s) needed (default 1)
RENEW_MIN_PREFIX_MATES  distinct neighbouring numbers (same exchange, outside the block) reported (default 2)
RENEW_NUMBER_DAYS       a renewed number block lasts this much longer (default: the scorer's number block
                        length, NUMBER_BLOCK_DAYS or its Policy default)
RENEW_PREFIX_DAYS       a renewed prefix block lasts this much longer (default: PREFIX_BLOCK_DAYS or its
                        Policy default)

Also the Policy overrides of config/policy.py: `explain` re-runs the scorer's decision with them, and they
give the defaults above.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, Self

import phonenumbers
from pydantic import Field, field_validator, model_validator

from spam_blocker.config import BaseSettings, ZoomSettings
from spam_blocker.config.policy import PolicyOverrides
from spam_blocker.domain.rate_plan import PLANS
from spam_blocker.domain.renewal import RenewalPolicy, renewal_beside


class LimitedZoomSettings(ZoomSettings):
    """Zoom access plus the shared rate limiter's table and knobs (expirer, reconciler, backfill)."""

    rate_limit_table: str = Field(min_length=1)
    rate_limit_margin_s: float = Field(default=0.05, ge=0.0, le=1.0)
    rate_limit_reserve: float = Field(default=0.0, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _zoom_access(self) -> Self:
        if self.zoom_plan.lower() not in PLANS:
            raise ValueError(f"ZOOM_PLAN must be one of {', '.join(PLANS)}")
        direct = (self.zoom_account_id, self.zoom_client_id, self.zoom_client_secret)
        if not self.zoom_secret_arn and not all(direct):
            raise ValueError("set ZOOM_SECRET_ARN, or all of ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET")
        return self


def known_region(value: str) -> str:
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {value!r} (ISO 3166 code such as US, CA, GB)")
    return region


class ExpirerSettings(BaseSettings, LimitedZoomSettings, PolicyOverrides):
    blocks_table: str = Field(min_length=1)
    evidence_table: str = Field(min_length=1)
    expiry_action: Literal["delete", "deactivate"] = "delete"
    max_per_run: int = Field(default=100, ge=1, le=1000)
    permit_max_wait_ms: int = Field(default=1000, ge=0, le=10_000)
    default_region: str = "US"
    unblock_cooldown_days: float | None = Field(default=None, gt=0)
    renew_report_days: float = Field(default=14.0, gt=0)
    renew_call_days: float = Field(default=7.0, gt=0)
    renew_min_reports: int = Field(default=1, ge=1)
    renew_min_calls: int = Field(default=1, ge=1)
    renew_min_prefix_mates: int = Field(default=2, ge=1)
    renew_number_days: float | None = Field(default=None, gt=0)
    renew_prefix_days: float | None = Field(default=None, gt=0)

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return known_region(value)

    def renewal(self) -> RenewalPolicy:
        durations = {name: value for name, value in (("number_days", self.renew_number_days),
                                                     ("prefix_days", self.renew_prefix_days)) if value is not None}
        return renewal_beside(
            self.policy(), report_days=self.renew_report_days, call_days=self.renew_call_days,
            min_reports=self.renew_min_reports, min_calls=self.renew_min_calls,
            min_prefix_mates=self.renew_min_prefix_mates, **durations)

    @property
    def unblock_cooldown(self) -> timedelta:
        days = self.unblock_cooldown_days
        return timedelta(days=days if days is not None else self.policy().not_spam_cooldown_days)
