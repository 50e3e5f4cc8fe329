"""The ingest Lambda end to end in process: the real lambda_handler, real HMAC signatures, moto SQS and
DynamoDB (mock_aws started before wiring builds a client). Each test asserts the answer and exactly
what reached IngestQueue."""

import json
import time

import boto3
import pytest
from moto import mock_aws
from spam_blocker import wiring
from spam_blocker.adapters.tables import DELIVERIES_TABLE, create_table
from spam_blocker.clock import ManualClock
from spam_blocker.domain.events import parse_ingest_event
from spam_blocker.observability import metrics
from spam_blocker.wiring.ingest import build_deps, fast_client, get_secret, get_settings

from functions.ingest.handler import lambda_handler
from local.esm_loop import LambdaContext
from tests.unit.ingest.builders import (
    SAMPLE_NOW,
    SAMPLE_SECRET,
    SAMPLE_TS,
    call_log,
    call_log_payload,
    function_url_event,
    load_sample,
    resigned,
    signed_event,
    zoom_signature,
)

TABLE = "Deliveries"


class Aws:
    def __init__(self, monkeypatch):
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.queue_url = self.sqs.create_queue(QueueName="IngestQueue")["QueueUrl"]
        self.ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(self.ddb, TABLE, DELIVERIES_TABLE)
        monkeypatch.setenv("INGEST_QUEUE_URL", self.queue_url)
        monkeypatch.setenv("DELIVERIES_TABLE", TABLE)
        monkeypatch.setenv("ZOOM_WEBHOOK_SECRET_TOKEN", SAMPLE_SECRET)
        monkeypatch.delenv("ZOOM_WEBHOOK_SECRET_ARN", raising=False)
        self.clock = ManualClock(SAMPLE_NOW)

    def deps(self):
        """The real wiring (settings, secret, clients), with the clock set to the samples' time."""
        return build_deps(get_settings(), secret=get_secret(), sqs_client=fast_client("sqs"),
                          dynamodb_client=fast_client("dynamodb"), clock=self.clock)

    def invoke(self, event, deps=None):
        return lambda_handler(event, LambdaContext(function_name="ingest"), deps=deps or self.deps())

    def queued(self):
        bodies = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return bodies
            bodies.extend(json.loads(m["Body"]) for m in messages)

    def deliveries(self):
        return self.ddb.scan(TableName=TABLE)["Items"]


@pytest.fixture
def aws(monkeypatch):
    with mock_aws():
        wiring.cache_clear()
        metrics.clear_metrics()
        yield Aws(monkeypatch)
        wiring.cache_clear()
        metrics.clear_metrics()


def _records(event):
    return json.loads(event["body"])["payload"]["object"]["call_logs"]


def test_a_valid_delivery_puts_its_call_logs_on_the_queue(aws):
    sample = load_sample("valid")
    response = aws.invoke(sample)
    assert response["statusCode"] == 200
    queued = aws.queued()
    assert queued == [{"type": "call_log", "call_log": r} for r in _records(sample)]
    assert {parse_ingest_event(e).call_log.id for e in queued} == {r["id"] for r in _records(sample)}
    [item] = aws.deliveries()
    assert item["state"] == {"S": "done"} and item["ttl"] == {"N": str(SAMPLE_TS + 86_400)}


def test_a_base64_encoded_delivery_is_verified_over_the_decoded_bytes(aws):
    event = signed_event(call_log_payload([call_log(1)]), base64_body=True)
    assert aws.invoke(event)["statusCode"] == 200
    assert [e["call_log"]["id"] for e in aws.queued()] == ["log-1"]


def test_any_text_zoom_can_send_reaches_the_queue(aws):
    # a lone surrogate and a control character are valid JSON escapes but not sendable as raw SQS text
    body = '{"event": "phone.callee_call_log_completed", "event_ts": 1, "payload": {"object": {"call_logs": ' \
           '[{"id": "u-1", "caller_name": "Zo\\u00eb \\ud83d\\ude00 \\ud800 \\u0001", "caller_number": "+19075550123"}]}}}'
    assert aws.invoke(signed_event(body))["statusCode"] == 200
    [queued] = aws.queued()
    assert queued["call_log"]["caller_name"] == "Zo\u00eb \U0001f600 \ud800 \u0001"


def test_the_wrong_secret_is_refused(aws):
    assert aws.invoke(load_sample("bad_signature"))["statusCode"] == 401
    assert aws.queued() == [] and aws.deliveries() == []


def test_a_tampered_body_is_refused(aws):
    event = load_sample("valid")
    event["body"] = event["body"].replace('"duration": 3', '"duration": 300')
    assert aws.invoke(event)["statusCode"] == 401
    assert aws.queued() == []


@pytest.mark.parametrize("event", [
    load_sample("stale"),
    resigned(load_sample("valid"), ts=SAMPLE_TS + 3600),  # from the future
])
def test_a_stale_or_future_timestamp_is_refused(aws, event):
    assert aws.invoke(event)["statusCode"] == 401
    assert aws.queued() == []


@pytest.mark.parametrize("drop", [("x-zm-signature",), ("x-zm-request-timestamp",),
                                  ("x-zm-signature", "x-zm-request-timestamp")])
def test_missing_headers_are_refused(aws, drop):
    event = load_sample("valid")
    for header in drop:
        del event["headers"][header]
    response = aws.invoke(event)
    assert response["statusCode"] == 401 and json.loads(response["body"]) == {"message": "Unauthorized"}
    assert aws.queued() == []


def test_the_validation_challenge_is_answered(aws):
    response = aws.invoke(load_sample("url_validation"))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": "bd90b5a1c3a0cfb066d73934c0edefb2e9d914a3941497e11acbb97ed7b0a9c8",
    }
    assert aws.queued() == []


def test_a_redelivery_answers_200_and_enqueues_nothing(aws):
    sample = load_sample("valid")
    assert aws.invoke(sample)["statusCode"] == 200
    # Zoom's retry five minutes later: new timestamp and signature, body re-serialised
    aws.clock.advance(minutes=5)
    body = json.dumps(json.loads(sample["body"]), separators=(",", ":"))
    retry = resigned(sample, ts=SAMPLE_TS + 300, body=body)
    response = aws.invoke(retry)
    assert response["statusCode"] == 200 and json.loads(response["body"]) == {"status": "duplicate"}
    assert len(aws.queued()) == 2 and len(aws.deliveries()) == 1


def test_the_same_call_log_in_a_distinct_event_is_a_distinct_delivery(aws):
    first = call_log_payload([call_log(1)], event_ts=SAMPLE_TS * 1000)
    second = call_log_payload([call_log(1)], event_ts=SAMPLE_TS * 1000 + 1)
    assert aws.invoke(signed_event(first))["statusCode"] == 200
    assert aws.invoke(signed_event(second))["statusCode"] == 200
    assert len(aws.queued()) == 2 and len(aws.deliveries()) == 2


def test_an_oversized_body_is_refused_even_when_signed(aws, monkeypatch):
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    wiring.cache_clear()
    big = call_log_payload([call_log(n) for n in range(20)])
    assert len(json.dumps(big)) > 2048
    assert aws.invoke(signed_event(big))["statusCode"] == 413
    assert aws.invoke(signed_event(call_log_payload([call_log(1)])))["statusCode"] == 200
    assert len(aws.queued()) == 1


def test_the_default_limit_is_256_kib(aws):
    huge = call_log_payload([call_log(n, note="x" * 300) for n in range(1000)])
    assert aws.invoke(signed_event(huge))["statusCode"] == 413
    assert aws.queued() == []


@pytest.mark.parametrize("body", [
    b"{not json",
    b'["a list"]',
    json.dumps({"event": "phone.callee_call_log_completed", "event_ts": 1, "payload": {"object": {}}}).encode(),
    json.dumps({"event_ts": 1, "payload": {}}).encode(),
])
def test_malformed_signed_bodies_are_400(aws, body):
    response = aws.invoke(signed_event(body))
    assert response["statusCode"] == 400 and json.loads(response["body"]) == {"message": "Bad Request"}
    assert aws.queued() == []


def test_a_wrong_method_is_405(aws):
    response = aws.invoke(signed_event(call_log_payload([call_log(1)]), method="GET"))
    assert response["statusCode"] == 405 and response["headers"]["allow"] == "POST"
    assert aws.queued() == []


def test_other_event_types_are_acknowledged_and_ignored(aws):
    event = signed_event({"event": "phone.recording_completed", "event_ts": 1, "payload": {"object": {}}})
    assert aws.invoke(event)["statusCode"] == 200
    assert aws.queued() == []


def test_many_call_logs_go_out_in_batches_of_ten(aws):
    records = [call_log(n) for n in range(23)]
    assert aws.invoke(signed_event(call_log_payload(records)))["statusCode"] == 200
    assert sorted(e["call_log"]["id"] for e in aws.queued()) == sorted(r["id"] for r in records)


def test_an_enqueue_failure_answers_5xx_releases_the_key_and_the_retry_succeeds(aws, monkeypatch):
    monkeypatch.setenv("INGEST_QUEUE_URL", aws.queue_url + "-missing")
    wiring.cache_clear()
    sample = load_sample("valid")
    response = aws.invoke(sample)
    assert response["statusCode"] == 503 and aws.deliveries() == []
    monkeypatch.setenv("INGEST_QUEUE_URL", aws.queue_url)
    wiring.cache_clear()
    aws.clock.advance(minutes=5)
    assert aws.invoke(resigned(sample, ts=SAMPLE_TS + 300))["statusCode"] == 200
    assert len(aws.queued()) == 2


def test_the_cached_wiring_and_system_clock_work_without_injection(aws):
    now = int(time.time())
    body = json.dumps(call_log_payload([call_log(7)], event_ts=now * 1000)).encode()
    event = function_url_event(body, headers={"x-zm-request-timestamp": str(now),
                                              "x-zm-signature": zoom_signature(SAMPLE_SECRET, now, body)})
    response = lambda_handler(event, LambdaContext(function_name="ingest"))
    assert response["statusCode"] == 200
    assert [e["call_log"]["id"] for e in aws.queued()] == ["log-7"]
    # the samples are signed for 2026-11-20T14:05Z: by the wall clock they are stale
    assert lambda_handler(load_sample("valid"), LambdaContext(function_name="ingest"))["statusCode"] == 401


def test_the_secret_comes_from_secrets_manager_once_per_container(aws, monkeypatch):
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    arn = sm.create_secret(Name="zoom-webhook", SecretString=json.dumps({"secret_token": SAMPLE_SECRET}))["ARN"]
    monkeypatch.delenv("ZOOM_WEBHOOK_SECRET_TOKEN")
    monkeypatch.setenv("ZOOM_WEBHOOK_SECRET_ARN", arn)
    wiring.cache_clear()
    assert aws.invoke(load_sample("valid"))["statusCode"] == 200
    sm.put_secret_value(SecretId=arn, SecretString="rotated")
    aws.clock.advance(seconds=1)
    other = signed_event(call_log_payload([call_log(9)]))
    assert aws.invoke(other)["statusCode"] == 200  # still the secret read at cold start
    wiring.cache_clear()  # a new container reads the rotated one
    assert aws.invoke(signed_event(call_log_payload([call_log(10)])))["statusCode"] == 401
    assert aws.invoke(signed_event(call_log_payload([call_log(10)]), secret="rotated"))["statusCode"] == 200


def test_logs_and_metrics_never_carry_the_secret_or_the_body(aws, capsys):
    for name in ("valid", "bad_signature", "stale", "url_validation"):
        aws.invoke(load_sample(name))
    out = capsys.readouterr().out
    assert SAMPLE_SECRET not in out and "+19075550123" not in out and "qgg8vlvZRS6UYooatFL8Aw" not in out
    emitted = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    assert [sorted(k for k in m if k[0].isupper()) for m in emitted] == [
        ["CallLogsEnqueued", "WebhookAccepted"], ["WebhookUnauthorized"], ["WebhookUnauthorized"],
        ["WebhookUrlValidations"],
    ]


def test_every_sample_is_a_function_url_event():
    for name in ("valid", "bad_signature", "stale", "url_validation"):
        sample = load_sample(name)
        assert sample["version"] == "2.0" and sample["requestContext"]["http"]["method"] == "POST"
        assert sample["isBase64Encoded"] is False and set(sample["headers"]) >= {"x-zm-signature", "x-zm-request-timestamp"}
