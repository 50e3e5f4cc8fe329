"""Settings of the reconciler function (EventBridge Scheduler, e.g. daily).

BLOCKS_TABLE, RATE_LIMIT_TABLE      DynamoDB tables (required)
ZOOM_API_URL, ZOOM_OAUTH_URL, ZOOM_SECRET_ARN | ZOOM_ACCOUNT_ID + ZOOM_CLIENT_ID + ZOOM_CLIENT_SECRET,
ZOOM_PLAN, RATE_LIMIT_MARGIN_S, RATE_LIMIT_RESERVE, PERMIT_MAX_WAIT_MS   as for the expirer
PAGE_SIZE                           entries per blocked-list page (Zoom's maximum, 100, by default)
ADOPT_NUMBER_DAYS                   an adopted number entry of ours is due for the expirer's review after this
                                    long (default: the scorer's Policy.number_block_days)
ADOPT_PREFIX_DAYS                   the same for an adopted prefix entry (default: Policy.prefix_block_days)
"""

from __future__ import annotations

from pydantic import Field

from spam_blocker.config import BaseSettings
from spam_blocker.config.expirer import LimitedZoomSettings
from spam_blocker.domain.drift import AdoptionPolicy
from spam_blocker.domain.scoring import DEFAULT_POLICY


class ReconcilerSettings(BaseSettings, LimitedZoomSettings):
    blocks_table: str = Field(min_length=1)
    page_size: int = Field(default=100, ge=1, le=100)
    permit_max_wait_ms: int = Field(default=1000, ge=0, le=10_000)
    adopt_number_days: float = Field(default=DEFAULT_POLICY.number_block_days, gt=0)
    adopt_prefix_days: float = Field(default=DEFAULT_POLICY.prefix_block_days, gt=0)

    def adoption(self) -> AdoptionPolicy:
        return AdoptionPolicy(number_days=self.adopt_number_days, prefix_days=self.adopt_prefix_days)
