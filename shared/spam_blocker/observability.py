"""Logger and Metrics at module level (one namespace, one service); Tracer only from a getter."""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics

NAMESPACE = "ZoomSpamBlocker"
SERVICE = "zoom-spam-blocker"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


@lru_cache(maxsize=1)
def get_tracer():  # pragma: no cover - X-Ray is optional; imported lazily to keep cold starts short
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE, patch_modules=["boto3", "httpx"])
