"""Settings of the backfill function (invoked by ops; services/backfill.py).

INGEST_QUEUE_URL                    where call-log events and spam reports go (required)
CHECKPOINTS_TABLE                   DynamoDB table of backfill checkpoints (required; adapters/tables.py)
RATE_LIMIT_TABLE                    the shared rate limiter (required): call logs are Heavy, with a daily limit
ZOOM_API_URL, ZOOM_OAUTH_URL, ZOOM_SECRET_ARN | ZOOM_ACCOUNT_ID + ZOOM_CLIENT_ID + ZOOM_CLIENT_SECRET,
ZOOM_PLAN, RATE_LIMIT_MARGIN_S, RATE_LIMIT_RESERVE   as for the expirer
ZOOM_CALL_LOG_API                   auto | call_logs | call_history: auto reads GET /phone/call_logs and moves
                                    to GET /phone/call_history, its replacement, where Zoom answers 404/410
                                    for the old one (default auto)
DEFAULT_REGION                      region for numbers written without a country code (default US)
BACKFILL_WINDOW_DAYS                call-log windows of at most this many days (1-31; never more than Zoom's
                                    one month); smaller windows cost a request each but re-fetch less after a
                                    page token expired (default 7)
BACKFILL_PAGE_SIZE                  call logs per page (default 300, Zoom's maximum)
BACKFILL_MAX_WAIT_S                 a full per-second window (or a per-second 429) freeing within this is
                                    waited out; anything longer pauses the backfill (default 5)
BACKFILL_MIN_TIME_LEFT_S            stop cleanly, checkpoint saved, when the invocation has less left (default 30)
"""

from __future__ import annotations

from pydantic import Field, field_validator

from spam_blocker.config import BaseSettings
from spam_blocker.config.expirer import LimitedZoomSettings, known_region
from spam_blocker.services.backfill import BackfillOptions


class BackfillSettings(BaseSettings, LimitedZoomSettings):
    ingest_queue_url: str = Field(min_length=1)
    checkpoints_table: str = Field(min_length=1)
    default_region: str = "US"
    backfill_window_days: int = Field(default=7, ge=1, le=31)
    backfill_page_size: int = Field(default=300, ge=1, le=300)
    backfill_max_wait_s: float = Field(default=5.0, ge=0.0, le=60.0)
    backfill_min_time_left_s: float = Field(default=30.0, ge=0.0, le=300.0)

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return known_region(value)

    def options(self) -> BackfillOptions:
        return BackfillOptions(window_days=self.backfill_window_days, page_size=self.backfill_page_size,
                               max_wait_s=self.backfill_max_wait_s, min_time_left_s=self.backfill_min_time_left_s)
