"""Settings of the ingest function (Zoom webhook endpoint behind a Lambda Function URL).

INGEST_QUEUE_URL            where call-log events go (required)
DELIVERIES_TABLE            DynamoDB table of delivery keys, the redelivery dedupe (required)
ZOOM_WEBHOOK_SECRET_ARN     Secrets Manager secret holding Zoom's webhook secret token (AWS), or
ZOOM_WEBHOOK_SECRET_TOKEN   the token itself (local use); exactly one of the two
MAX_BODY_BYTES              larger bodies are refused with 413 (default 256 KiB)
MAX_SKEW_S                  x-zm-request-timestamp may be this far from now, either way (default 300)
DELIVERY_TTL_S              how long a delivery key is remembered (default 1 day; Zoom retries for ~85 min)
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator

from spam_blocker.config import BaseSettings

DEFAULT_MAX_BODY_BYTES = 256 * 1024
DEFAULT_MAX_SKEW_S = 300
DEFAULT_DELIVERY_TTL_S = 86_400


class IngestSettings(BaseSettings):
    ingest_queue_url: str = Field(min_length=1)
    deliveries_table: str = Field(min_length=1)
    zoom_webhook_secret_token: SecretStr | None = None
    zoom_webhook_secret_arn: str | None = None
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0, le=6 * 1024 * 1024)
    max_skew_s: int = Field(default=DEFAULT_MAX_SKEW_S, gt=0, le=3600)
    delivery_ttl_s: int = Field(default=DEFAULT_DELIVERY_TTL_S, ge=3 * 3600)

    @model_validator(mode="after")
    def _one_secret_source(self) -> Self:
        if (self.zoom_webhook_secret_token is None) == (self.zoom_webhook_secret_arn is None):
            raise ValueError("set exactly one of ZOOM_WEBHOOK_SECRET_TOKEN or ZOOM_WEBHOOK_SECRET_ARN")
        return self
