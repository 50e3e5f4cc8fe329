"""Hypothesis: whatever arrives, the webhook parser raises only our typed errors, and the endpoint answers
a 4xx (or 200 for a well-formed signed body), never an exception or a 5xx."""

import base64
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spam_blocker.clock import ManualClock
from spam_blocker.domain.webhook import (
    CallLogCompleted,
    WebhookError,
    WebhookSecret,
    parse_webhook,
    read_function_url_event,
    verify,
)
from spam_blocker.services.ingest_webhook import IngestWebhook

from tests.unit.ingest.builders import SAMPLE_NOW, SAMPLE_SECRET, SAMPLE_TS, zoom_signature
from tests.unit.ingest.fakes import FakeDeliveries, FakeQueue

SECRET = WebhookSecret.of(SAMPLE_SECRET)
LIMIT = 4096
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
envelopes = st.fixed_dictionaries(
    {"event": st.sampled_from(["phone.callee_call_log_completed", "phone.caller_call_log_completed",
                               "endpoint.url_validation", "phone.callee_missed"]) | st.text(max_size=10) | json_values},
    optional={
        "event_ts": st.integers() | json_values,
        "payload": st.fixed_dictionaries({}, optional={
            "plainToken": st.text(max_size=30) | json_values,
            "object": st.fixed_dictionaries({}, optional={
                "call_logs": st.lists(st.dictionaries(st.text(max_size=12), json_values, max_size=5)
                                      | json_values, max_size=4) | json_values}) | json_values,
        }) | json_values,
    },
)
bodies = (st.binary(max_size=LIMIT + 64) | st.text(max_size=LIMIT + 64).map(lambda t: t.encode("utf-8", "surrogatepass"))
          | envelopes.map(lambda e: json.dumps(e).encode()) | json_values.map(lambda v: json.dumps(v).encode()))
header_values = st.text(max_size=80) | st.integers(min_value=-10**13, max_value=10**13).map(str)
headers = st.dictionaries(
    st.sampled_from(["x-zm-signature", "X-Zm-Signature", "x-zm-request-timestamp", "content-type"]) | st.text(max_size=20),
    header_values, max_size=5)


def _event(body: bytes, hdrs: dict, *, method: str = "POST", as_text: bool = True) -> dict:
    try:
        text = body.decode("utf-8") if as_text else None
    except UnicodeDecodeError:
        text = None
    return {"headers": hdrs, "requestContext": {"http": {"method": method}},
            "body": text if text is not None else base64.b64encode(body).decode(),
            "isBase64Encoded": text is None}


def _service() -> IngestWebhook:
    return IngestWebhook(secret=SECRET, queue=FakeQueue(), deliveries=FakeDeliveries(), clock=ManualClock(SAMPLE_NOW),
                         max_body_bytes=LIMIT, max_skew_s=300, delivery_ttl_s=86_400)


@FUZZ
@given(body=bodies, hdrs=headers, method=st.sampled_from(["POST", "GET", "post"]) | st.text(max_size=6),
       as_text=st.booleans())
def test_read_verify_and_parse_raise_only_typed_errors(body, hdrs, method, as_text):
    try:
        request = read_function_url_event(_event(body, hdrs, method=method, as_text=as_text), max_body_bytes=LIMIT)
        verify(request, SECRET, now=SAMPLE_NOW, max_skew_s=300)
        parse_webhook(request.body)
    except WebhookError as exc:
        assert 400 <= exc.status < 500


@FUZZ
@given(body=bodies)
def test_signed_arbitrary_bodies_parse_or_raise_a_400(body):
    try:
        parsed = parse_webhook(body)
    except WebhookError as exc:
        assert exc.status == 400
    else:
        if isinstance(parsed.envelope, CallLogCompleted):
            assert all(e["type"] == "call_log" for e in parsed.envelope.ingest_events())


@FUZZ
@given(body=bodies, hdrs=headers, sign=st.booleans(), as_text=st.booleans(),
       event=st.none() | st.integers() | st.dictionaries(st.text(max_size=8), json_values, max_size=3))
def test_the_endpoint_answers_every_request_with_200_or_a_4xx(body, hdrs, sign, as_text, event):
    if sign:
        hdrs = {**hdrs, "x-zm-request-timestamp": str(SAMPLE_TS),
                "x-zm-signature": zoom_signature(SAMPLE_SECRET, SAMPLE_TS, body)}
    response = _service().handle(_event(body, hdrs, as_text=as_text))
    assert response["statusCode"] in {200, 400, 401, 413}
    assert response["statusCode"] != 200 or sign
    # and a request that is not even a Function URL event is refused, not crashed on
    assert _service().handle(event)["statusCode"] in {400, 405}
