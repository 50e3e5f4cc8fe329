"""services/ingest_webhook.py over in-memory fakes and a manual clock: every outcome, its answer, what
reached the queue, and its metric."""

import json
from datetime import timedelta

import pytest
from spam_blocker.clock import ManualClock
from spam_blocker.domain.events import parse_ingest_event
from spam_blocker.domain.webhook import WebhookSecret, parse_webhook
from spam_blocker.observability import metrics
from spam_blocker.services.ingest_webhook import DEFAULT_LEASE_S, IngestWebhook

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
)
from tests.unit.ingest.fakes import FakeDeliveries, FakeQueue


@pytest.fixture
def clock():
    return ManualClock(SAMPLE_NOW)


@pytest.fixture
def queue():
    return FakeQueue()


@pytest.fixture
def deliveries():
    return FakeDeliveries()


@pytest.fixture
def service(clock, queue, deliveries):
    return IngestWebhook(secret=WebhookSecret.of(SAMPLE_SECRET), queue=queue, deliveries=deliveries, clock=clock,
                         max_body_bytes=256 * 1024, max_skew_s=300, delivery_ttl_s=86_400)


def _metrics():
    return {name: sum(m["Value"]) for name, m in metrics.metric_set.items()}


def _body(response):
    return json.loads(response["body"])


def test_a_signed_call_log_event_enqueues_one_contract_event_per_record(service, queue):
    sample = load_sample("valid")
    response = service.handle(sample)
    assert response["statusCode"] == 200 and _body(response) == {"status": "accepted", "enqueued": 2}
    assert response["headers"]["content-type"] == "application/json"
    records = json.loads(sample["body"])["payload"]["object"]["call_logs"]
    assert [json.loads(b) for b in queue.bodies] == [{"type": "call_log", "call_log": r} for r in records]
    assert [parse_ingest_event(b).call_log.caller_number for b in queue.bodies] == ["+19075550123", "+19075550187"]
    assert _metrics() == {"WebhookAccepted": 1, "CallLogsEnqueued": 2}


def test_the_url_validation_challenge_is_answered(service, queue):
    response = service.handle(load_sample("url_validation"))
    assert response["statusCode"] == 200
    assert _body(response) == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw",
                               "encryptedToken": "bd90b5a1c3a0cfb066d73934c0edefb2e9d914a3941497e11acbb97ed7b0a9c8"}
    assert len(queue) == 0 and _metrics() == {"WebhookUrlValidations": 1}


def test_a_validation_challenge_with_a_bad_signature_gets_no_answer(service):
    event = resigned(load_sample("url_validation"), secret="guess", ts=SAMPLE_TS)
    response = service.handle(event)
    assert response["statusCode"] == 401 and "encryptedToken" not in response["body"]


@pytest.mark.parametrize("make", [
    lambda: load_sample("bad_signature"),
    lambda: load_sample("stale"),
    lambda: {**load_sample("valid"), "headers": {"content-type": "application/json"}},
    lambda: resigned(load_sample("valid"), ts=SAMPLE_TS + 301),
])
def test_unauthorized_requests_get_the_same_bare_401(service, queue, make):
    response = service.handle(make())
    assert response["statusCode"] == 401 and _body(response) == {"message": "Unauthorized"}
    assert len(queue) == 0 and _metrics() == {"WebhookUnauthorized": 1}


def test_a_redelivery_is_acknowledged_and_enqueues_nothing(service, queue, clock):
    sample = load_sample("valid")
    assert service.handle(sample)["statusCode"] == 200
    clock.advance(minutes=5)  # Zoom's first retry: new timestamp, new signature, same event
    pretty = json.dumps(json.loads(sample["body"]), indent=4)
    response = service.handle(resigned(sample, ts=SAMPLE_TS + 300, body=pretty))
    assert response["statusCode"] == 200 and _body(response) == {"status": "duplicate"}
    assert len(queue) == 2
    assert _metrics() == {"WebhookAccepted": 1, "CallLogsEnqueued": 2, "WebhookDuplicates": 1}


def test_a_failed_enqueue_answers_503_and_zooms_retry_gets_through(service, queue, deliveries, clock):
    queue.fail_next = 1
    sample = load_sample("valid")
    response = service.handle(sample)
    assert response["statusCode"] == 503 and response["headers"]["retry-after"] == "60"
    assert len(queue) == 0 and len(deliveries) == 0  # the key was released
    clock.advance(minutes=5)
    assert service.handle(resigned(sample, ts=SAMPLE_TS + 300))["statusCode"] == 200
    assert len(queue) == 2
    assert _metrics() == {"WebhookEnqueueFailed": 1, "WebhookAccepted": 1, "CallLogsEnqueued": 2}


def test_if_the_key_cannot_be_released_its_lease_still_lets_the_retry_through(service, queue, deliveries, clock):
    queue.fail_next = 1
    deliveries.fail_releases = True
    sample = load_sample("valid")
    assert service.handle(sample)["statusCode"] == 503
    clock.advance(seconds=DEFAULT_LEASE_S - 1)
    early = service.handle(resigned(sample, ts=SAMPLE_TS + DEFAULT_LEASE_S - 1))
    assert early["statusCode"] == 503 and len(queue) == 0  # still leased: maybe another delivery is at work
    clock.advance(seconds=2)
    assert service.handle(resigned(sample, ts=SAMPLE_TS + DEFAULT_LEASE_S + 1))["statusCode"] == 200
    assert len(queue) == 2


def test_a_dedupe_store_failure_answers_503_and_enqueues_nothing(service, queue, deliveries):
    deliveries.fail_claims = True
    response = service.handle(load_sample("valid"))
    assert response["statusCode"] == 503 and len(queue) == 0
    assert _metrics() == {"WebhookDedupeFailed": 1}


def test_other_event_types_are_acknowledged_and_ignored(service, queue):
    response = service.handle(signed_event({"event": "phone.callee_missed", "event_ts": 1, "payload": {}}))
    assert response["statusCode"] == 200 and _body(response) == {"status": "ignored"}
    assert len(queue) == 0 and _metrics() == {"WebhookIgnored": 1}


def test_an_event_without_call_logs_enqueues_nothing(service, queue, deliveries):
    response = service.handle(signed_event(call_log_payload([])))
    assert response["statusCode"] == 200 and _body(response)["enqueued"] == 0
    assert len(queue) == 0 and len(deliveries) == 0


def test_records_that_will_not_parse_are_still_enqueued_but_counted(service, queue):
    records = [call_log(1), call_log(2, caller_number=None), call_log(3, duration=[1]), call_log(4, date_time="soon")]
    response = service.handle(signed_event(call_log_payload(records)))
    assert response["statusCode"] == 200 and len(queue) == 4  # the scorer dead-letters them with reasons
    assert _metrics()["CallLogsUnparseable"] == 3


def test_a_record_that_is_not_an_object_does_not_lose_the_others(service, queue):
    records = [call_log(1), None, "x", call_log(2)]  # a 400 would be retried by Zoom, and refused, for ever
    response = service.handle(signed_event(call_log_payload(records)))
    assert response["statusCode"] == 200 and len(queue) == 4  # the scorer dead-letters the two with reasons
    assert _metrics()["CallLogsUnparseable"] == 2


def test_caller_side_events_are_taken_too(service, queue):
    payload = call_log_payload([call_log(1, direction="outbound")], event="phone.caller_call_log_completed")
    assert service.handle(signed_event(payload))["statusCode"] == 200 and len(queue) == 1


@pytest.mark.parametrize("event_name", ["phone.callee_call_history_completed", "phone.caller_call_history_completed"])
@pytest.mark.parametrize("array", ["call_logs", "call_history"])
def test_call_history_events_enqueue_their_records_as_call_log_events(service, queue, event_name, array):
    record = {"id": "h-1", "call_id": "c-1", "direction": "inbound", "caller_did_number": "+19075550142",
              "caller_number_type": "external", "callee_ext_number": "1001", "callee_number_type": "internal",
              "start_time": "2026-11-20T14:03:11Z", "duration": 2, "call_result": "no_answer"}
    payload = {"event": event_name, "event_ts": SAMPLE_TS * 1000,
               "payload": {"account_id": "acct-1", "object": {"user_id": "user-1", array: [record]}}}
    response = service.handle(signed_event(payload))
    assert response["statusCode"] == 200 and _body(response) == {"status": "accepted", "enqueued": 1}
    event = parse_ingest_event(queue.bodies[0])
    assert event.call_log.caller_number == "+19075550142" and event.call_log.result == "no_answer"
    assert "CallLogsUnparseable" not in _metrics()


@pytest.mark.parametrize("event, status, metric", [
    (signed_event(b"{not json"), 400, "WebhookMalformed"),
    (signed_event({"event": "phone.callee_call_log_completed", "event_ts": 1, "payload": {}}), 400, "WebhookMalformed"),
    (signed_event({"event": "endpoint.url_validation", "payload": {}}), 400, "WebhookMalformed"),
    (signed_event(call_log_payload([call_log()]), method="GET"), 405, "WebhookMethodNotAllowed"),
    (signed_event(call_log_payload([call_log(n) for n in range(2000)])), 413, "WebhookTooLarge"),
])
def test_rejections_answer_the_right_status_with_no_detail(service, queue, event, status, metric):
    response = service.handle(event)
    assert response["statusCode"] == status and len(queue) == 0 and _metrics() == {metric: 1}
    assert set(_body(response)) == {"message"}  # the reason is in the logs, not the answer
    if status == 405:
        assert response["headers"]["allow"] == "POST"


def test_an_unsigned_malformed_body_is_401_not_400(service):
    assert service.handle(function_url_event(b"{not json"))["statusCode"] == 401


def test_the_delivery_key_is_what_the_domain_computes(service, deliveries):
    sample = load_sample("valid")
    service.handle(sample)
    assert parse_webhook(sample["body"].encode()).delivery_key in deliveries


def test_the_clock_decides_staleness(service, clock):
    clock.set(SAMPLE_NOW + timedelta(seconds=301))
    assert service.handle(load_sample("valid"))["statusCode"] == 401
