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
LEARN_OWN_NUMBERS       the account's numbers that call logs show (the callee of an inbound call, the caller of an
                        outbound one) are added to the own numbers, source "call logs" (default true)
SKIP_EXPIRED_BLOCKS     do not request a block that has already expired by the wall clock, as a backfill of
                        old call logs decides (default false, for the same reason; template.yaml sets true)

Also the Policy overrides of config/policy.py: they are the scorer's thresholds.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from spam_blocker.config import BaseSettings
from spam_blocker.config.expirer import known_region
from spam_blocker.config.policy import PolicyOverrides
from spam_blocker.services.score_events import ScorerOptions


class ScorerSettings(BaseSettings, PolicyOverrides):
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
    learn_own_numbers: bool = True

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return known_region(value)

    def options(self) -> ScorerOptions:
        tolerance = None if self.future_tolerance_hours is None else timedelta(hours=self.future_tolerance_hours)
        return ScorerOptions(region=self.default_region, shadow_mode=self.shadow_mode, future_tolerance=tolerance,
                             skip_expired=self.skip_expired_blocks)
