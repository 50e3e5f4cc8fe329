"""domain/webhook.py: reading a Function URL request, Zoom's v0 signature, the envelope, delivery keys."""

import json
from datetime import timedelta

import pytest
from spam_blocker.domain.webhook import (
    BadSignature,
    BodyTooLarge,
    CallLogCompleted,
    MalformedWebhook,
    MethodNotAllowed,
    MissingSignature,
    StaleTimestamp,
    Unauthorized,
    UrlValidation,
    WebhookEnvelope,
    WebhookRequest,
    WebhookSecret,
    encrypt_plain_token,
    parse_webhook,
    read_function_url_event,
    sign,
    verify,
)

from tests.unit.ingest.builders import (
    SAMPLE_NOW,
    SAMPLE_SECRET,
    SAMPLE_TS,
    call_log,
    call_log_payload,
    function_url_event,
    load_sample,
    signed_event,
    zoom_signature,
)

SECRET = WebhookSecret.of(SAMPLE_SECRET)
LIMIT = 256 * 1024


def _request(event):
    return read_function_url_event(event, max_body_bytes=LIMIT)


def _verify(event, *, now=SAMPLE_NOW, secret=SECRET, skew=300):
    verify(_request(event), secret, now=now, max_skew_s=skew)


# --- signature maths ---------------------------------------------------------------------------


def test_sign_matches_zooms_formula_and_a_fixed_vector():
    body = b'{"event":"x"}'
    assert sign(SECRET, "1700000000", body) == zoom_signature(SAMPLE_SECRET, 1700000000, body)
    # printf '%s' 'v0:1700000000:{"event":"x"}' | openssl dgst -sha256 -hmac zsb-sample-webhook-secret
    assert sign(SECRET, "1700000000", body) == "v0=344d498afb672bc81bc96cbd2b2f384721515cf7200a6bf2599ac2da84841d81"


def test_url_validation_token_is_hmac_of_the_plain_token():
    # printf '%s' qgg8vlvZRS6UYooatFL8Aw | openssl dgst -sha256 -hmac zsb-sample-webhook-secret
    expected = "bd90b5a1c3a0cfb066d73934c0edefb2e9d914a3941497e11acbb97ed7b0a9c8"
    assert encrypt_plain_token(SECRET, "qgg8vlvZRS6UYooatFL8Aw") == expected
    assert encrypt_plain_token(WebhookSecret.of("other"), "qgg8vlvZRS6UYooatFL8Aw") != expected


def test_the_valid_and_validation_samples_verify_with_the_documented_secret_at_the_sample_time():
    for name in ("valid", "url_validation"):
        _verify(load_sample(name))


def test_the_bad_signature_sample_fails_and_the_stale_sample_is_stale():
    with pytest.raises(BadSignature):
        _verify(load_sample("bad_signature"))
    with pytest.raises(StaleTimestamp):
        _verify(load_sample("stale"))
    # ...and the stale sample is otherwise genuine: at its own time it verifies
    _verify(load_sample("stale"), now=SAMPLE_NOW - timedelta(hours=1))


def test_wrong_secret_is_refused():
    with pytest.raises(BadSignature):
        _verify(signed_event(call_log_payload([call_log()]), secret="not-the-secret"))


def test_a_tampered_body_is_refused():
    event = load_sample("valid")
    event["body"] = event["body"].replace("+19075550123", "+19075550124")
    with pytest.raises(BadSignature):
        _verify(event)


def test_a_signature_for_another_timestamp_is_refused():
    event = load_sample("valid")
    event["headers"]["x-zm-request-timestamp"] = str(SAMPLE_TS + 1)
    with pytest.raises(BadSignature):
        _verify(event)


@pytest.mark.parametrize("header", ["x-zm-signature", "x-zm-request-timestamp"])
def test_missing_headers_are_refused(header):
    event = load_sample("valid")
    del event["headers"][header]
    with pytest.raises(MissingSignature):
        _verify(event)
    event["headers"][header] = ""
    with pytest.raises(MissingSignature):
        _verify(event)


@pytest.mark.parametrize("offset, ok", [(-300, True), (300, True), (-301, False), (301, False), (-86400, False)])
def test_timestamp_window_is_checked_both_ways(offset, ok):
    event = signed_event(call_log_payload([call_log()]), ts=SAMPLE_TS + offset)
    if ok:
        _verify(event)
    else:
        with pytest.raises(StaleTimestamp):
            _verify(event)


def test_the_window_is_configurable():
    event = signed_event(call_log_payload([call_log()]), ts=SAMPLE_TS - 60)
    _verify(event, skew=60)
    with pytest.raises(StaleTimestamp):
        _verify(event, skew=59)


@pytest.mark.parametrize("value", ["abc", "1795183500.5", "-1795183500", "١٧٩٥١٨٣٥٠٠", "1795183500000000"])
def test_an_unreadable_timestamp_is_refused_as_stale(value):
    event = load_sample("valid")
    event["headers"]["x-zm-request-timestamp"] = value
    with pytest.raises(StaleTimestamp):
        _verify(event)


@pytest.mark.parametrize("value", ["v0=é", "v0=" + "0" * 64, "v1=abc", "garbage"])
def test_odd_signatures_are_refused(value):
    event = load_sample("valid")
    event["headers"]["x-zm-signature"] = value
    with pytest.raises(BadSignature):
        _verify(event)


def test_every_unauthorized_error_answers_401():
    for kind in (MissingSignature, StaleTimestamp, BadSignature):
        assert issubclass(kind, Unauthorized) and kind("x").status == 401


def test_the_secret_never_shows_in_repr():
    assert SAMPLE_SECRET not in repr(SECRET) and SAMPLE_SECRET not in str(SECRET)
    with pytest.raises(ValueError):
        WebhookSecret.of("")


# --- reading the Function URL request ------------------------------------------------------------


def test_headers_are_read_case_insensitively_and_the_body_raw():
    event = function_url_event(b'{"a": 1}', headers={"X-Zm-Signature": "v0=1"})
    request = _request(event)
    assert request == WebhookRequest(method="POST", headers={"content-type": "application/json",
                                                             "x-zm-signature": "v0=1"}, body=b'{"a": 1}')


def test_a_base64_body_is_decoded_and_verified_over_the_raw_bytes():
    event = signed_event(call_log_payload([call_log()]), base64_body=True)
    assert event["isBase64Encoded"] is True
    _verify(event)
    assert json.loads(_request(event).body)["event"] == "phone.callee_call_log_completed"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD", "OPTIONS", ""])
def test_only_post_is_allowed(method):
    with pytest.raises(MethodNotAllowed) as info:
        _request(function_url_event(b"{}", method=method))
    assert info.value.status == 405


def test_a_missing_request_context_is_not_a_post():
    with pytest.raises(MethodNotAllowed):
        read_function_url_event({"body": "{}"}, max_body_bytes=LIMIT)


@pytest.mark.parametrize("base64_body", [False, True])
def test_a_body_over_the_limit_is_refused(base64_body):
    body = b"x" * 1001
    with pytest.raises(BodyTooLarge) as info:
        read_function_url_event(function_url_event(body, base64_body=base64_body), max_body_bytes=1000)
    assert info.value.status == 413
    read_function_url_event(function_url_event(body[:1000], base64_body=base64_body), max_body_bytes=1000)


def test_the_limit_counts_bytes_not_characters():
    with pytest.raises(BodyTooLarge):
        read_function_url_event(function_url_event("é" * 600), max_body_bytes=1000)  # 1200 bytes


def test_a_huge_base64_body_is_refused_before_decoding():
    event = function_url_event(b"", base64_body=True)
    event["body"] = "A" * 10_000_000
    with pytest.raises(BodyTooLarge):
        read_function_url_event(event, max_body_bytes=LIMIT)


def test_invalid_base64_is_malformed():
    event = function_url_event(b"{}", base64_body=True)
    event["body"] = "not base64!"
    with pytest.raises(MalformedWebhook):
        _request(event)


def test_no_body_is_an_empty_body():
    event = function_url_event(b"")
    del event["body"]
    assert _request(event).body == b""


# --- the envelope ------------------------------------------------------------------------------


def test_a_call_log_event_splits_into_contract_events():
    records = [call_log(1), call_log(2, extra_field={"kept": True})]
    parsed = parse_webhook(json.dumps(call_log_payload(records)).encode())
    assert isinstance(parsed.envelope, CallLogCompleted)
    assert parsed.envelope.ingest_events() == [{"type": "call_log", "call_log": r} for r in records]


def test_the_validation_challenge_parses():
    parsed = parse_webhook(load_sample("url_validation")["body"].encode())
    assert isinstance(parsed.envelope, UrlValidation)
    assert parsed.envelope.payload.plainToken == "qgg8vlvZRS6UYooatFL8Aw"


def test_other_events_parse_as_plain_envelopes():
    parsed = parse_webhook(b'{"event": "phone.callee_missed", "event_ts": 1, "payload": {}}')
    assert type(parsed.envelope) is WebhookEnvelope and parsed.envelope.event == "phone.callee_missed"


@pytest.mark.parametrize("body, reason", [
    (b"", "body is not JSON"),
    (b"{not json", "body is not JSON"),
    (b"\xff\xfe\x00", "body is not JSON"),
    (b"[1, 2]", "body is not a JSON object"),
    (b'{"payload": {}}', "missing field event"),
    (b'{"event": 5}', "missing field event"),
    (b'{"event": "endpoint.url_validation", "payload": {}}', "missing field payload.plainToken"),
    (b'{"event": "endpoint.url_validation", "payload": {"plainToken": 7}}', "invalid payload.plainToken"),
    (b'{"event": "phone.callee_call_log_completed", "event_ts": 1, "payload": {"object": {}}}',
     "missing field payload.object.call_logs"),
    (b'{"event": "phone.callee_call_log_completed", "payload": {"object": {"call_logs": []}}}',
     "missing field event_ts"),
    (b'{"event": "phone.caller_call_log_completed", "event_ts": 1, "payload": {"object": {"call_logs": 1}}}',
     "invalid payload.object.call_logs"),
    (b"[" * 100_000 + b"]" * 100_000, "body is not JSON"),
])
def test_malformed_bodies_say_why(body, reason):
    with pytest.raises(MalformedWebhook) as info:
        parse_webhook(body)
    assert info.value.reason.startswith(reason) and info.value.status == 400


def test_the_delivery_key_survives_reserialisation_but_not_a_different_event():
    payload = call_log_payload([call_log(1)])
    compact = parse_webhook(json.dumps(payload, separators=(",", ":")).encode()).delivery_key
    pretty = parse_webhook(json.dumps(dict(reversed(list(payload.items()))), indent=2).encode()).delivery_key
    assert compact == pretty and compact.startswith("zoom#")
    later = parse_webhook(json.dumps(call_log_payload([call_log(1)], event_ts=SAMPLE_TS * 1000 + 1)).encode())
    caller_side = parse_webhook(json.dumps(call_log_payload([call_log(1)], event="phone.caller_call_log_completed")).encode())
    assert len({compact, later.delivery_key, caller_side.delivery_key}) == 3
