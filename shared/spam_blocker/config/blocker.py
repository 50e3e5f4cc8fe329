"""Settings of the blocker function (BlockQueue -> Zoom), validated once per container by wiring.

BLOCKS_TABLE, RATE_LIMIT_TABLE      DynamoDB tables (required)
BLOCK_QUEUE_URL                     this function's queue: visibility changes and fresh copies (required)
BLOCK_DLQ_URL                       its dead-letter queue: poison bodies go there with a reason (required)
ZOOM_API_URL, ZOOM_OAUTH_URL        where Zoom is (defaults: Zoom's production URLs)
ZOOM_SECRET_ARN                     Secrets Manager JSON {account_id, client_id, client_secret} (AWS), or
ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET   the credentials themselves (local use)
ZOOM_PLAN                           pro | business: the rate limits the shared limiter enforces
RATE_LIMIT_MARGIN_S                 added to Zoom's 1 s window (clock skew, request jitter); default 0.05.
                                    Also the most a permit may age between its grant and its POST: one
                                    whose limiter write took longer is left unused (PermitsUnusedLate)
RATE_LIMIT_RESERVE                  fraction of each per-second allowance left to other apps; default 0
RATE_LIMIT_BOOST_MAX_S              each per-second 429 after the first within 5 min widens the shared
                                    window by 50 ms (fading over 5 min), up to this much; default 0.25,
                                    0 = never
PACING_MAX_WAIT_MS                  wait up to this long in the handler for a permit of a full window
                                    (never on a 429, a penalty or the daily limit); default 250. The
                                    limiter reserves the permit for the time it frees, so waiting
                                    instances take successive times instead of racing for one. SQS
                                    visibility is whole seconds, so a record refused for a permit that
                                    frees in 50 ms would otherwise leave for a second or more: 16
                                    instances then reach ~0.85 of the allowance instead of >= 0.9
                                    (benchmarks/bench_blocker.py). 0 = never wait.
RETIRE_COVERED_NUMBERS              remove our number blocks a new prefix block covers; default false
PENDING_STALE_AFTER_S               a pending claim older than this is abandoned and taken over; must exceed
                                    the function timeout plus LOOKUP_SETTLE_S; default 900
LOOKUP_SETTLE_S                     a blocked-list listing sees writes older than this; default 1
MAX_ATTEMPTS                        Zoom attempts per pending block before it is failed; default 10: with
                                    the capped exponential back-off (2 s doubling to 300 s) that rides out
                                    about 13 minutes of Zoom 5xx; must stay below BlockQueue's maxReceiveCount
RESEND_AFTER_RECEIVES               a message deferred this many receives is re-sent fresh; default 4
DRY_RUN                             read Zoom and the table, never write either; default false
EVIDENCE_TABLE                      the scorer's evidence table (also the allowlist and own numbers): read
                                    just before a range block is created, which is refused if a protected
                                    or recently legitimate number is now inside it (services/range_guard.py).
                                    The template sets it; unset, ranges are created as the scorer decided
DEFAULT_REGION                      region of list entries written without a country code (default US)

Also the Policy overrides of config/policy.py: RangeGuard judges legitimacy with them, as the scorer does.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, field_validator, model_validator

from spam_blocker.config import BaseSettings, ZoomSettings
from spam_blocker.config.expirer import known_region
from spam_blocker.config.policy import PolicyOverrides
from spam_blocker.domain.rate_plan import PLANS


class BlockerSettings(BaseSettings, ZoomSettings, PolicyOverrides):
    blocks_table: str = Field(min_length=1)
    rate_limit_table: str = Field(min_length=1)
    block_queue_url: str = Field(min_length=1)
    block_dlq_url: str = Field(min_length=1)
    rate_limit_margin_s: float = Field(default=0.05, ge=0.0, le=1.0)
    rate_limit_reserve: float = Field(default=0.0, ge=0.0, lt=1.0)
    rate_limit_boost_max_s: float = Field(default=0.25, ge=0.0, le=2.0)
    pacing_max_wait_ms: int = Field(default=250, ge=0, le=2000)
    retire_covered_numbers: bool = False
    pending_stale_after_s: int = Field(default=900, ge=60)
    lookup_settle_s: float = Field(default=1.0, ge=0.0, le=60.0)
    max_attempts: int = Field(default=10, ge=1, le=100)
    resend_after_receives: int = Field(default=4, ge=2)
    dry_run: bool = False
    evidence_table: str | None = Field(default=None, min_length=1)
    default_region: str = "US"

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return known_region(value)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.zoom_plan.lower() not in PLANS:
            raise ValueError(f"ZOOM_PLAN must be one of {', '.join(PLANS)}")
        direct = (self.zoom_account_id, self.zoom_client_id, self.zoom_client_secret)
        if not self.zoom_secret_arn and not all(direct):
            raise ValueError("set ZOOM_SECRET_ARN, or all of ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET")
        if self.pending_stale_after_s <= self.lookup_settle_s:
            raise ValueError("PENDING_STALE_AFTER_S must exceed LOOKUP_SETTLE_S")
        return self
