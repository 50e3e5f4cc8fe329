"""Signed Zoom webhook requests as Lambda Function URL events, and the samples in events/.

The samples are signed with SAMPLE_SECRET and meant to be evaluated at SAMPLE_NOW (the timestamp of
events/ingest_valid.json); events/ingest_stale.json is signed one hour earlier.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[3] / "events"
SAMPLE_SECRET = "zsb-sample-webhook-secret"
SAMPLE_TS = 1795183500
SAMPLE_NOW = datetime(2026, 11, 20, 14, 5, 0, tzinfo=UTC)
assert int(SAMPLE_NOW.timestamp()) == SAMPLE_TS


def load_sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"ingest_{name}.json").read_text())


def zoom_signature(secret: str, timestamp: str | int, body: bytes) -> str:
    """Written out independently of spam_blocker.domain.webhook.sign, as Zoom documents it."""
    message = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def call_log(n: int = 1, **fields: Any) -> dict[str, Any]:
    record = {"id": f"log-{n}", "caller_number": f"+1907555{n:04d}", "caller_number_type": 2,
              "callee_number": "+14155550100", "callee_number_type": 1, "direction": "inbound",
              "duration": 3, "result": "No Answer", "date_time": "2026-11-20T14:03:11Z"}
    record.update(fields)
    return record


def call_log_payload(records: list[dict[str, Any]], *, event: str = "phone.callee_call_log_completed",
                     event_ts: int = SAMPLE_TS * 1000) -> dict[str, Any]:
    return {"event": event, "event_ts": event_ts,
            "payload": {"account_id": "acct-1", "object": {"user_id": "user-1", "call_logs": records}}}


def function_url_event(body: bytes | str, *, headers: dict[str, str] | None = None, method: str = "POST",
                       base64_body: bool = False) -> dict[str, Any]:
    raw = body.encode() if isinstance(body, str) else body
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {"http": {"method": method, "path": "/", "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "test"},
                           "requestId": "req-1", "routeKey": "$default", "stage": "$default"},
        "body": base64.b64encode(raw).decode() if base64_body else raw.decode("utf-8", "surrogatepass"),
        "isBase64Encoded": base64_body,
    }


def signed_event(payload: dict[str, Any] | bytes | str, *, secret: str = SAMPLE_SECRET, ts: int = SAMPLE_TS,
                 method: str = "POST", base64_body: bool = False, **dumps: Any) -> dict[str, Any]:
    if isinstance(payload, dict):
        body = json.dumps(payload, **dumps).encode()
    else:
        body = payload.encode() if isinstance(payload, str) else payload
    headers = {"x-zm-request-timestamp": str(ts), "x-zm-signature": zoom_signature(secret, ts, body)}
    return function_url_event(body, headers=headers, method=method, base64_body=base64_body)


def resigned(event: dict[str, Any], *, secret: str = SAMPLE_SECRET, ts: int, body: str | None = None) -> dict[str, Any]:
    """A copy of a sample with a new timestamp (and optionally body), signed again."""
    out = copy.deepcopy(event)
    if body is not None:
        out["body"] = body
    out["headers"]["x-zm-request-timestamp"] = str(ts)
    out["headers"]["x-zm-signature"] = zoom_signature(secret, ts, out["body"].encode())
    return out
