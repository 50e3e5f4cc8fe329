"""Zoom webhooks, the pure part: read a Function URL request, verify it, parse the envelope.

No I/O here. Time comes in as `now`; the secret comes in as a `WebhookSecret` (never printed).

Error tree (each carries the HTTP `status` the ingest endpoint answers with, and a `reason` for the
logs only; the answer itself never says which check failed):

    WebhookError                 400
    ├── MethodNotAllowed         405  anything but POST
    ├── BodyTooLarge             413  body over the configured limit
    ├── MalformedWebhook         400  undecodable body, bad JSON, missing or mistyped fields
    └── Unauthorized             401
        ├── MissingSignature          x-zm-signature or x-zm-request-timestamp absent
        ├── StaleTimestamp            timestamp unreadable or outside the allowed skew (either way)
        └── BadSignature              HMAC does not match

Signature (Zoom's v0 scheme):
    x-zm-signature = "v0=" + hex(HMAC_SHA256(secret_token, "v0:" + x-zm-request-timestamp + ":" + raw_body))
URL validation answer:
    {"plainToken": <same>, "encryptedToken": hex(HMAC_SHA256(secret_token, plainToken))}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

URL_VALIDATION = "endpoint.url_validation"
# The call-log events and the call-history events that replace them (same envelope; history records).
CALL_LOG_EVENTS = ("phone.callee_call_log_completed", "phone.caller_call_log_completed",
                   "phone.callee_call_history_completed", "phone.caller_call_history_completed")
SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"
SIGNATURE_VERSION = "v0"

_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # seconds since the epoch; ASCII digits only


# --- errors -----------------------------------------------------------------------------------


class WebhookError(ValueError):
    """A request the endpoint refuses. `status` is the HTTP answer; `reason` is for logs only."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MethodNotAllowed(WebhookError):
    status = 405


class BodyTooLarge(WebhookError):
    status = 413


class MalformedWebhook(WebhookError):
    status = 400


class Unauthorized(WebhookError):
    status = 401


class MissingSignature(Unauthorized):
    pass


class StaleTimestamp(Unauthorized):
    pass


class BadSignature(Unauthorized):
    pass


# --- the request --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookSecret:
    """Zoom's webhook secret token. Its repr hides the value, so it cannot leak into a log line."""

    value: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.value:
            raise ValueError("the webhook secret token is empty")

    @classmethod
    def of(cls, token: str) -> WebhookSecret:
        return cls(token.encode("utf-8"))


@dataclass(frozen=True)
class WebhookRequest:
    """What the endpoint needs from one HTTP request: headers with lower-case names, and the RAW body."""

    method: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def read_function_url_event(event: Any, *, max_body_bytes: int) -> WebhookRequest:
    """A Lambda Function URL event (payload format 2.0) -> WebhookRequest.

    Raises MethodNotAllowed (not POST), BodyTooLarge (over `max_body_bytes` once decoded) or
    MalformedWebhook (base64 that does not decode). The size is checked before anything is decoded.
    """
    if not isinstance(event, Mapping):
        raise MalformedWebhook("event is not an object")
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    method = http.get("method") if isinstance(http, Mapping) else None
    if not isinstance(method, str) or method.upper() != "POST":
        raise MethodNotAllowed(f"method {method!r}")

    raw_headers = event.get("headers")
    headers: dict[str, str] = {}
    if isinstance(raw_headers, Mapping):
        for name, value in raw_headers.items():
            if isinstance(name, str) and isinstance(value, str):
                headers[name.lower()] = value

    body = event.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise MalformedWebhook("body is not a string")
    elif event.get("isBase64Encoded") is True:
        if len(body) > (max_body_bytes + 2) // 3 * 4 + 4:  # cheaper than decoding a huge string first
            raise BodyTooLarge(f"base64 body of {len(body)} characters")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedWebhook("body is not valid base64") from None
    else:
        if len(body) > max_body_bytes:  # every character is at least one byte
            raise BodyTooLarge(f"body of {len(body)} characters")
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > max_body_bytes:
        raise BodyTooLarge(f"body of {len(raw)} bytes")
    return WebhookRequest(method="POST", headers=headers, body=raw)


# --- signature maths ----------------------------------------------------------------------------


def _hmac_hex(secret: WebhookSecret, message: bytes) -> str:
    return hmac.new(secret.value, message, hashlib.sha256).hexdigest()


def sign(secret: WebhookSecret, timestamp: str, raw_body: bytes) -> str:
    """The x-zm-signature value Zoom sends for this timestamp and body."""
    message = f"{SIGNATURE_VERSION}:{timestamp}:".encode() + raw_body
    return f"{SIGNATURE_VERSION}={_hmac_hex(secret, message)}"


def encrypt_plain_token(secret: WebhookSecret, plain_token: str) -> str:
    """encryptedToken for Zoom's URL validation challenge."""
    return _hmac_hex(secret, plain_token.encode("utf-8", "surrogatepass"))


def verify(request: WebhookRequest, secret: WebhookSecret, *, now: datetime, max_skew_s: int) -> None:
    """Raise an Unauthorized error unless the request is signed with `secret` within `max_skew_s` of now.

    The timestamp is checked both ways (a request from the future is as suspect as a replay), and the
    signature is compared in constant time over the raw body.
    """
    signature = request.header(SIGNATURE_HEADER)
    timestamp = request.header(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise MissingSignature("signature or timestamp header missing")
    timestamp = timestamp.strip()
    if not _TIMESTAMP.fullmatch(timestamp):
        raise StaleTimestamp("timestamp is not whole seconds")
    skew = abs(now.timestamp() - int(timestamp))
    if skew > max_skew_s:
        raise StaleTimestamp(f"timestamp {skew:.0f} s away from now")
    signature = signature.strip()
    if not signature.isascii():
        raise BadSignature("signature is not ASCII")
    expected = sign(secret, timestamp, request.body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        raise BadSignature("signature mismatch")


# --- the envelope -------------------------------------------------------------------------------


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WebhookEnvelope(_Envelope):
    """Any Zoom webhook: `{"event": "...", "event_ts": <ms>, "payload": {...}}`."""

    event: str = Field(min_length=1)
    event_ts: int | None = None


class UrlValidationPayload(_Envelope):
    plainToken: str = Field(min_length=1)  # noqa: N815 - Zoom's field name


class UrlValidation(WebhookEnvelope):
    event: Literal["endpoint.url_validation"]
    payload: UrlValidationPayload


class CallLogObject(_Envelope):
    user_id: str | None = None
    call_logs: list[Any]  # a record that is not even an object is passed on too: the scorer dead-letters it

    @model_validator(mode="before")
    @classmethod
    def _history_array(cls, data: Any) -> Any:
        """Records under `call_history` (Zoom's newer name for the array) are read as `call_logs`."""
        if isinstance(data, dict) and data.get("call_logs") is None and "call_history" in data:
            return {**data, "call_logs": data["call_history"]}
        return data


class CallLogPayload(_Envelope):
    account_id: str | None = None
    object: CallLogObject


class CallLogCompleted(WebhookEnvelope):
    event: Literal["phone.callee_call_log_completed", "phone.caller_call_log_completed",
                   "phone.callee_call_history_completed", "phone.caller_call_history_completed"]
    event_ts: int = Field(ge=0)
    payload: CallLogPayload

    def ingest_events(self) -> list[dict[str, Any]]:
        """One IngestQueue contract event per call-log record, the record passed on as Zoom sent it."""
        return [{"type": "call_log", "call_log": record} for record in self.payload.object.call_logs]


@dataclass(frozen=True)
class ParsedWebhook:
    """A parsed body: the typed envelope and the delivery key that identifies the event."""

    envelope: UrlValidation | CallLogCompleted | WebhookEnvelope
    delivery_key: str


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    if err.get("type") == "missing":
        return f"missing field {where}"
    return f"invalid {where}: {err.get('msg', 'invalid')}"


def delivery_key(data: Mapping[str, Any]) -> str:
    """The identity of one Zoom event, the same for every redelivery of it.

    A retry carries a new request timestamp and signature, and may be serialised differently, so the
    key hashes the parsed body in a canonical form (sorted keys, no whitespace), which includes the
    event name and Zoom's `event_ts`.
    """
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "zoom#" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def parse_webhook(raw_body: bytes) -> ParsedWebhook:
    """Parse a (verified) body. Raises MalformedWebhook with a one-line reason, nothing else."""
    try:
        data = json.loads(raw_body)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedWebhook("body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedWebhook("body is not a JSON object")
    event = data.get("event")
    if not isinstance(event, str) or not event:
        raise MalformedWebhook("missing field event")
    model: type[WebhookEnvelope]
    if event == URL_VALIDATION:
        model = UrlValidation
    elif event in CALL_LOG_EVENTS:
        model = CallLogCompleted
    else:
        model = WebhookEnvelope
    try:
        envelope = model.model_validate(data)
        key = delivery_key(data)
    except ValidationError as exc:
        raise MalformedWebhook(_first_error(exc)) from None
    except (ValueError, RecursionError):  # a structure too deep or odd to canonicalise
        raise MalformedWebhook("body cannot be canonicalised") from None
    return ParsedWebhook(envelope=envelope, delivery_key=key)


# --- delivery dedupe ----------------------------------------------------------------------------


class Claim(Enum):
    """What claiming a delivery key found."""

    NEW = "new"  # ours now: enqueue, then mark it done
    DONE = "done"  # an earlier delivery of this event was enqueued: acknowledge, enqueue nothing
    IN_PROGRESS = "in_progress"  # another delivery of it is being enqueued right now (lease not expired)
