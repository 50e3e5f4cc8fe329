"""Settings of the scorer function (IngestQueue -> evidence -> decisions -> BlockQueue).

EVIDENCE_TABLE          DynamoDB table of evidence, allowlist and own numbers (required)
BLOCKS_TABLE            DynamoDB table of blocks, read to skip numbers already blocked (required)
BLOCK_QUEUE_URL         where block requests go (required)
INGEST_DLQ_URL          where malformed events go, with a `reason` attribute (required)
DEFAULT_REGION          region for numbers written without a country code (default US)
SHADOW_MODE             decide and log, never send block requests (default false)
LISTS_CACHE_SECONDS     how long the allowlist / own numbers are cached per container (default 60)
DEAD_LETTER_AFTER_RECEIVES  a record whose scoring still fails on this receive goes to the ingest DLQ itself,
                        with the reason (set it to IngestQueue's maxReceiveCount; default 5), instead of
                        being moved there by SQS's redrive without one
FUTURE_TOLERANCE_HOURS  if set, events dated later than the wall clock + this are rejected (default: unset,
                        as the pipeline's clock is event time: a replay is never judged by the wall clock)
SKIP_EXPIRED_BLOCKS     do not request a block that has already expired by the wall clock, as a backfill of
                        old call logs decides (default false, for the same reason; template.yaml sets true)

Policy overrides (unset = the documented default of spam_blocker.domain.scoring.Policy, docs/scoring.md):
REPORT_HALF_LIFE_DAYS, CALL_HALF_LIFE_DAYS, LEGIT_HALF_LIFE_DAYS, NUMBER_BLOCK_SCORE,
NOT_SPAM_COOLDOWN_DAYS, LEGIT_WINDOW_DAYS, RANGE_BLOCKING, RANGE_WINDOW_DAYS, RANGE_MIN_REPORTERS,
NUMBER_BLOCK_DAYS, SINGLE_REPORTER_BLOCK_DAYS, PREFIX_BLOCK_DAYS.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import phonenumbers
from pydantic import Field, field_validator

from spam_blocker.config import BaseSettings
from spam_blocker.domain.scoring import DEFAULT_POLICY, Policy
from spam_blocker.services.score_events import ScorerOptions

_POLICY_FIELDS = (
    "report_half_life_days", "call_half_life_days", "legit_half_life_days", "number_block_score",
    "not_spam_cooldown_days", "legit_window_days", "range_blocking", "range_window_days", "range_min_reporters",
    "number_block_days", "single_reporter_block_days", "prefix_block_days",
)


class ScorerSettings(BaseSettings):
    evidence_table: str = Field(min_length=1)
    blocks_table: str = Field(min_length=1)
    block_queue_url: str = Field(min_length=1)
    ingest_dlq_url: str = Field(min_length=1)
    default_region: str = "US"
    shadow_mode: bool = False
    lists_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    dead_letter_after_receives: int = Field(default=5, ge=1, le=1000)
    future_tolerance_hours: float | None = Field(default=None, gt=0)
    skip_expired_blocks: bool = False

    report_half_life_days: float | None = Field(default=None, gt=0)
    call_half_life_days: float | None = Field(default=None, gt=0)
    legit_half_life_days: float | None = Field(default=None, gt=0)
    number_block_score: float | None = Field(default=None, gt=0)
    not_spam_cooldown_days: float | None = Field(default=None, ge=0)
    legit_window_days: float | None = Field(default=None, ge=0)
    range_blocking: bool | None = None
    range_window_days: float | None = Field(default=None, gt=0)
    range_min_reporters: int | None = Field(default=None, ge=0)
    number_block_days: float | None = Field(default=None, gt=0)
    single_reporter_block_days: float | None = Field(default=None, gt=0)
    prefix_block_days: float | None = Field(default=None, gt=0)

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r} (ISO 3166 code such as US, CA, GB)")
        return region

    def policy(self) -> Policy:
        overrides = {name: getattr(self, name) for name in _POLICY_FIELDS if getattr(self, name) is not None}
        return replace(DEFAULT_POLICY, **overrides)

    def options(self) -> ScorerOptions:
        tolerance = None if self.future_tolerance_hours is None else timedelta(hours=self.future_tolerance_hours)
        return ScorerOptions(region=self.default_region, shadow_mode=self.shadow_mode, future_tolerance=tolerance,
                             skip_expired=self.skip_expired_blocks)
