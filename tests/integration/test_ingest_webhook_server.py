"""local/webhook_server.build_webhook_server: the ingest handler behind a real socket on 127.0.0.1, in
process with moto, the way the local runner starts it beside its pipeline."""

import json

import boto3
import httpx
import pytest
from moto import mock_aws
from spam_blocker import wiring
from spam_blocker.clock import ManualClock
from spam_blocker.domain.events import parse_ingest_event
from spam_blocker.observability import metrics

from local.esm_loop import EventSourceMapping
from local.webhook_server import WebhookSecretMissing, build_webhook_server, function_url_event, start, stop
from tests.unit.ingest.builders import (
    SAMPLE_NOW,
    SAMPLE_SECRET,
    call_log,
    call_log_payload,
    load_sample,
    signed_event,
)


@pytest.fixture
def moto_sqs():
    with mock_aws():
        wiring.cache_clear()
        metrics.clear_metrics()
        sqs = boto3.client("sqs", region_name="us-east-1")
        yield sqs, sqs.create_queue(QueueName="IngestQueue")["QueueUrl"]
        metrics.clear_metrics()


@pytest.fixture
def served(moto_sqs):
    sqs, queue_url = moto_sqs
    seen = []
    server = build_webhook_server("127.0.0.1", 0, sqs_client=sqs, ingest_queue_url=queue_url,
                                  secret_token=SAMPLE_SECRET, clock=ManualClock(SAMPLE_NOW),
                                  on_enqueued=seen.extend, max_body_bytes=8192)
    thread = start(server)
    try:
        with httpx.Client(base_url=server.base_url, timeout=5) as client:
            yield client, sqs, queue_url, seen
    finally:
        stop(server, thread)


def _post_sample(client, name):
    sample = load_sample(name)
    headers = {k: v for k, v in sample["headers"].items() if k in {"content-type", "x-zm-signature", "x-zm-request-timestamp"}}
    return client.post("/", content=sample["body"].encode(), headers=headers)


def test_the_samples_over_http(served):
    client, sqs, queue_url, seen = served
    assert _post_sample(client, "valid").status_code == 200
    assert _post_sample(client, "valid").json() == {"status": "duplicate"}
    assert _post_sample(client, "bad_signature").status_code == 401
    assert _post_sample(client, "stale").status_code == 401
    challenge = _post_sample(client, "url_validation")
    assert challenge.status_code == 200 and challenge.json()["plainToken"] == "qgg8vlvZRS6UYooatFL8Aw"
    records = json.loads(load_sample("valid")["body"])["payload"]["object"]["call_logs"]
    assert seen == [{"type": "call_log", "call_log": r} for r in records]
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["call_log"]["id"] for m in messages) == sorted(r["id"] for r in records)


def test_the_events_feed_a_local_event_source_mapping(served):
    client, sqs, queue_url, _ = served
    event = signed_event(call_log_payload([call_log(n) for n in range(12)]))
    assert client.post("/", content=event["body"].encode(), headers=event["headers"]).status_code == 200
    consumed = []

    def scorer(sqs_event, context):
        consumed.extend(parse_ingest_event(r["body"]).call_log.id for r in sqs_event["Records"])
        return {"batchItemFailures": []}

    EventSourceMapping(sqs=sqs, queue_url=queue_url, handler=scorer, function_name="scorer", idle_sleep_s=0).run_until_drained()
    assert sorted(consumed) == sorted(f"log-{n}" for n in range(12))


def test_a_binary_body_reaches_the_handler_base64_encoded_and_still_verifies(served):
    client, _, _, seen = served
    event = signed_event(call_log_payload([call_log(1)]))
    headers = {**event["headers"], "content-type": "application/octet-stream"}
    assert client.post("/", content=event["body"].encode(), headers=headers).status_code == 200
    assert [e["call_log"]["id"] for e in seen] == ["log-1"]


def test_http_level_refusals(served):
    client, _, _, seen = served
    assert client.get("/").status_code == 405 and client.get("/").headers["allow"] == "POST"
    big = signed_event(call_log_payload([call_log(n) for n in range(60)]))
    assert client.post("/", content=big["body"].encode(), headers=big["headers"]).status_code == 413
    assert client.post("/", content=b"{}", headers={"content-type": "application/json"}).status_code == 401
    assert seen == []


def test_the_function_url_event_shape():
    event = function_url_event(method="POST", target="/hook?a=1", headers=[("X-Zm-Signature", "v0=1"), ("Via", "a"),
                               ("Via", "b"), ("Content-Type", "application/json")], body=b'{"x": 1}',
                               source_ip="127.0.0.1", request_id="r-1")
    assert event["headers"] == {"x-zm-signature": "v0=1", "via": "a,b", "content-type": "application/json"}
    assert (event["rawPath"], event["rawQueryString"], event["requestContext"]["http"]["method"]) == ("/hook", "a=1", "POST")
    assert event["body"] == '{"x": 1}' and event["isBase64Encoded"] is False


def test_no_secret_no_server(moto_sqs, monkeypatch):
    sqs, queue_url = moto_sqs
    monkeypatch.delenv("ZOOM_WEBHOOK_SECRET_TOKEN", raising=False)
    with pytest.raises(WebhookSecretMissing):
        build_webhook_server("127.0.0.1", 0, sqs_client=sqs, ingest_queue_url=queue_url)
