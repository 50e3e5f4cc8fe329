"""Use case: take one Zoom webhook delivery (a Lambda Function URL request) and answer it.

    read      method (405), size (413) and body decoding (400), before anything else
    verify    signature and timestamp (401), over the raw body, constant time
    parse     JSON envelope (400)
    dispatch  endpoint.url_validation -> 200 challenge answer
              phone.callee/caller_call_log_completed (and the call_history_completed pair that replaces
                  them) -> claim the delivery key, enqueue one
                  contract `call_log` event per record, mark the key done -> 200
                  (a key already done -> 200, nothing enqueued; enqueue failed -> key released, 503)
              anything else -> 200, ignored, counted

Answers never say which check failed; the reason goes to the logs (never the secret, headers or body).
Every outcome adds one metric.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any, Protocol

from spam_blocker.clock import Clock
from spam_blocker.domain.events import InvalidEvent, parse_ingest_event
from spam_blocker.domain.webhook import (
    BodyTooLarge,
    CallLogCompleted,
    Claim,
    MalformedWebhook,
    MethodNotAllowed,
    Unauthorized,
    UrlValidation,
    WebhookError,
    WebhookSecret,
    encrypt_plain_token,
    parse_webhook,
    read_function_url_event,
    verify,
)
from spam_blocker.observability import logger, metrics

DEFAULT_LEASE_S = 60  # far longer than an invocation (Zoom waits 3 s), far shorter than Zoom's first retry (~5 min)
RETRY_AFTER_S = 60

_REJECTION_METRICS: tuple[tuple[type[WebhookError], str], ...] = (
    (Unauthorized, "WebhookUnauthorized"),
    (BodyTooLarge, "WebhookTooLarge"),
    (MethodNotAllowed, "WebhookMethodNotAllowed"),
    (MalformedWebhook, "WebhookMalformed"),
)


class EventQueue(Protocol):
    """IngestQueue (spam_blocker.adapters.sqs_queue.SqsQueue): raises when a body could not be sent."""

    def send_many(self, bodies: Iterable[str]) -> Any: ...


class DeliveryLog(Protocol):
    """Delivery keys already taken (spam_blocker.adapters.dynamo_deliveries.DynamoDeliveries)."""

    def claim(self, key: str, *, event: str, now: datetime, lease_s: int, ttl_s: int) -> Claim: ...
    def complete(self, key: str, *, now: datetime) -> None: ...
    def release(self, key: str) -> None: ...


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_function_url(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "headers": {"content-type": "application/json", **self.headers},
            "body": json.dumps(self.body),
            "isBase64Encoded": False,
        }


def _plain(status: int, headers: Mapping[str, str] | None = None) -> WebhookResponse:
    return WebhookResponse(status, {"message": HTTPStatus(status).phrase}, dict(headers or {}))


class IngestWebhook:
    def __init__(self, *, secret: WebhookSecret, queue: EventQueue, deliveries: DeliveryLog, clock: Clock,
                 max_body_bytes: int, max_skew_s: int, delivery_ttl_s: int,
                 lease_s: int = DEFAULT_LEASE_S) -> None:
        self._secret = secret
        self._queue = queue
        self._deliveries = deliveries
        self._clock = clock
        self._max_body_bytes = max_body_bytes
        self._max_skew_s = max_skew_s
        self._ttl_s = delivery_ttl_s
        self._lease_s = lease_s

    def handle(self, event: Any) -> dict[str, Any]:
        """A Function URL event (payload 2.0) -> a Function URL response."""
        return self.respond(event).to_function_url()

    def respond(self, event: Any) -> WebhookResponse:
        try:
            request = read_function_url_event(event, max_body_bytes=self._max_body_bytes)
            verify(request, self._secret, now=self._clock.now(), max_skew_s=self._max_skew_s)
            parsed = parse_webhook(request.body)
        except WebhookError as exc:
            return self._reject(exc)
        envelope = parsed.envelope
        logger.append_keys(zoom_event=envelope.event[:100])
        if isinstance(envelope, UrlValidation):
            metrics.add_metric(name="WebhookUrlValidations", unit="Count", value=1)
            logger.info("url validation answered")
            token = envelope.payload.plainToken
            return WebhookResponse(200, {"plainToken": token,
                                         "encryptedToken": encrypt_plain_token(self._secret, token)})
        if isinstance(envelope, CallLogCompleted):
            return self._take_call_logs(envelope, parsed.delivery_key)
        metrics.add_metric(name="WebhookIgnored", unit="Count", value=1)
        logger.info("webhook event ignored")
        return WebhookResponse(200, {"status": "ignored"})

    def _reject(self, exc: WebhookError) -> WebhookResponse:
        name = next((metric for kind, metric in _REJECTION_METRICS if isinstance(exc, kind)), "WebhookMalformed")
        metrics.add_metric(name=name, unit="Count", value=1)
        logger.warning("webhook rejected", extra={"status": exc.status, "reason": exc.reason})
        return _plain(exc.status, {"allow": "POST"} if isinstance(exc, MethodNotAllowed) else None)

    def _take_call_logs(self, envelope: CallLogCompleted, key: str) -> WebhookResponse:
        events = envelope.ingest_events()
        logger.append_keys(delivery_key=key, call_logs=len(events))
        if not events:
            metrics.add_metric(name="WebhookAccepted", unit="Count", value=1)
            logger.info("webhook had no call logs")
            return WebhookResponse(200, {"status": "accepted", "enqueued": 0})
        self._count_unparseable(events)
        # ASCII-escaped: a lone surrogate or a character SQS refuses (Zoom's JSON may carry either) stays sendable
        bodies = [json.dumps(e, separators=(",", ":")) for e in events]
        now = self._clock.now()
        try:
            claim = self._deliveries.claim(key, event=envelope.event, now=now, lease_s=self._lease_s, ttl_s=self._ttl_s)
        except Exception:
            metrics.add_metric(name="WebhookDedupeFailed", unit="Count", value=1)
            logger.exception("delivery key could not be claimed; Zoom will retry")
            return _plain(503, {"retry-after": str(RETRY_AFTER_S)})
        if claim is Claim.DONE:
            metrics.add_metric(name="WebhookDuplicates", unit="Count", value=1)
            logger.info("redelivery acknowledged, nothing enqueued")
            return WebhookResponse(200, {"status": "duplicate"})
        if claim is Claim.IN_PROGRESS:
            metrics.add_metric(name="WebhookInProgress", unit="Count", value=1)
            logger.warning("same event is being enqueued by another delivery; Zoom will retry")
            return _plain(503, {"retry-after": str(RETRY_AFTER_S)})
        try:
            self._queue.send_many(bodies)
        except Exception:
            metrics.add_metric(name="WebhookEnqueueFailed", unit="Count", value=1)
            logger.exception("call logs could not be enqueued; Zoom will retry")
            self._release(key)
            return _plain(503, {"retry-after": str(RETRY_AFTER_S)})
        try:
            self._deliveries.complete(key, now=now)
        except Exception:  # enqueued: answer 200; the lease lets a later (unexpected) retry take over
            logger.exception("delivery key could not be marked done")
        metrics.add_metric(name="WebhookAccepted", unit="Count", value=1)
        metrics.add_metric(name="CallLogsEnqueued", unit="Count", value=len(bodies))
        logger.info("call logs enqueued")
        return WebhookResponse(200, {"status": "accepted", "enqueued": len(bodies)})

    def _release(self, key: str) -> None:
        try:
            self._deliveries.release(key)
        except Exception:  # the lease expires before Zoom's first retry, so the retry still gets through
            logger.exception("delivery key could not be released")

    @staticmethod
    def _count_unparseable(events: list[dict[str, Any]]) -> None:
        """Enqueued anyway (the scorer dead-letters them with the reason); counted here to be seen early."""
        bad = 0
        for event in events:
            try:
                parse_ingest_event(event)
            except InvalidEvent:
                bad += 1
            except (TypeError, OverflowError):  # parse_ingest_event lets these through for e.g. duration [1] / 1e400
                bad += 1
        if bad:
            metrics.add_metric(name="CallLogsUnparseable", unit="Count", value=bad)
            logger.warning("call logs that do not parse as contract events", extra={"unparseable": bad})
