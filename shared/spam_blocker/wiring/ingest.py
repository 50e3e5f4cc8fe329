"""Composition of the ingest function: IngestSettings -> clients -> adapters -> IngestWebhook.

Everything is built on first use and cached per container (`spam_blocker.wiring.cache_clear()` resets
it). The webhook secret is read once per container, from ZOOM_WEBHOOK_SECRET_TOKEN or from Secrets
Manager (ZOOM_WEBHOOK_SECRET_ARN: a plain string, or a JSON object with a `secret_token` field), and is
only ever held as a WebhookSecret, whose repr hides it.

`build_deps` is the uncached composition: the local webhook server calls it with its own clients.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from spam_blocker.clock import Clock, SystemClock
from spam_blocker.config.ingest import IngestSettings
from spam_blocker.domain.webhook import WebhookSecret
from spam_blocker.services.ingest_webhook import EventQueue, IngestWebhook
from spam_blocker.wiring import aws_client, cached

# Zoom wants an answer within 3 s: fail fast and let Zoom's retry (deduplicated) do the rest.
_CONNECT_TIMEOUT_S = 1
_READ_TIMEOUT_S = 2
_MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class IngestDeps:
    service: IngestWebhook


@cached
def get_settings() -> IngestSettings:
    return IngestSettings.from_env(os.environ)


@cached
def fast_client(service: str) -> Any:
    """A boto3 client with timeouts that fit inside Zoom's 3-second deadline."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": _MAX_ATTEMPTS},
                    connect_timeout=_CONNECT_TIMEOUT_S, read_timeout=_READ_TIMEOUT_S)
    return boto3.client(service, config=config)


def secret_from_string(value: str) -> WebhookSecret:
    """A Secrets Manager SecretString: the token itself, or JSON with a `secret_token` field."""
    text = value.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            token = data.get("secret_token")
            if not isinstance(token, str) or not token:
                raise ValueError("webhook secret JSON has no non-empty 'secret_token' field")
            return WebhookSecret.of(token)
    return WebhookSecret.of(text)


@cached
def get_secret() -> WebhookSecret:
    settings = get_settings()
    if settings.zoom_webhook_secret_token is not None:
        return WebhookSecret.of(settings.zoom_webhook_secret_token.get_secret_value())
    response = aws_client("secretsmanager").get_secret_value(SecretId=settings.zoom_webhook_secret_arn)
    return secret_from_string(response["SecretString"])


def build_deps(settings: IngestSettings, *, secret: WebhookSecret, sqs_client: Any, dynamodb_client: Any,
               clock: Clock | None = None, queue: EventQueue | None = None) -> IngestDeps:
    """Uncached composition; `queue` replaces the SQS queue adapter (the local server wraps it)."""
    from spam_blocker.adapters.dynamo_deliveries import DynamoDeliveries
    from spam_blocker.adapters.sqs_queue import SqsQueue

    service = IngestWebhook(
        secret=secret,
        queue=queue or SqsQueue(sqs_client, settings.ingest_queue_url),
        deliveries=DynamoDeliveries(dynamodb_client, settings.deliveries_table),
        clock=clock or SystemClock(),
        max_body_bytes=settings.max_body_bytes,
        max_skew_s=settings.max_skew_s,
        delivery_ttl_s=settings.delivery_ttl_s,
    )
    return IngestDeps(service=service)


@cached
def get_deps() -> IngestDeps:
    settings = get_settings()
    return build_deps(settings, secret=get_secret(), sqs_client=fast_client("sqs"),
                      dynamodb_client=fast_client("dynamodb"))
