"""The Deliveries port, one suite run on the DynamoDB adapter (moto) and on the in-memory fake the service
tests use, so the fake cannot drift. Plus the race: many concurrent claims, exactly one NEW."""

import threading
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws
from spam_blocker.adapters.dynamo_deliveries import DynamoDeliveries
from spam_blocker.adapters.tables import DELIVERIES_TABLE, create_table
from spam_blocker.domain.webhook import Claim

from tests.unit.ingest.builders import SAMPLE_NOW
from tests.unit.ingest.fakes import FakeDeliveries

LEASE, TTL = 60, 86_400
EVENT = "phone.callee_call_log_completed"


@pytest.fixture
def dynamo():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "Deliveries", DELIVERIES_TABLE)
        yield DynamoDeliveries(client, "Deliveries")


@pytest.fixture(params=["dynamo", "fake"])
def store(request):
    return request.getfixturevalue("dynamo") if request.param == "dynamo" else FakeDeliveries()


def _claim(store, key="zoom#k", *, at=SAMPLE_NOW):
    return store.claim(key, event=EVENT, now=at, lease_s=LEASE, ttl_s=TTL)


def test_a_new_key_is_claimed_once(store):
    assert _claim(store) is Claim.NEW
    assert _claim(store) is Claim.IN_PROGRESS
    assert _claim(store, "zoom#other") is Claim.NEW


def test_a_completed_key_is_done(store):
    _claim(store)
    store.complete("zoom#k", now=SAMPLE_NOW)
    assert _claim(store, at=SAMPLE_NOW + timedelta(hours=2)) is Claim.DONE


def test_a_released_key_can_be_claimed_again(store):
    _claim(store)
    store.release("zoom#k")
    assert _claim(store) is Claim.NEW


def test_release_leaves_a_done_key_alone(store):
    _claim(store)
    store.complete("zoom#k", now=SAMPLE_NOW)
    store.release("zoom#k")
    store.release("zoom#never-claimed")
    assert _claim(store) is Claim.DONE


def test_an_abandoned_claim_can_be_taken_over_after_its_lease(store):
    _claim(store)
    assert _claim(store, at=SAMPLE_NOW + timedelta(seconds=LEASE)) is Claim.IN_PROGRESS
    assert _claim(store, at=SAMPLE_NOW + timedelta(seconds=LEASE + 1)) is Claim.NEW


def test_a_key_past_its_ttl_is_forgotten_even_before_dynamodb_deletes_it(store):
    _claim(store)
    store.complete("zoom#k", now=SAMPLE_NOW)
    assert _claim(store, at=SAMPLE_NOW + timedelta(seconds=TTL)) is Claim.DONE
    assert _claim(store, at=SAMPLE_NOW + timedelta(seconds=TTL + 1)) is Claim.NEW


def test_completing_a_vanished_key_does_not_recreate_it_without_a_ttl(dynamo):
    dynamo.complete("zoom#gone", now=SAMPLE_NOW)
    assert dynamo._client.scan(TableName="Deliveries")["Items"] == []


def test_concurrent_deliveries_of_one_event_admit_exactly_one(dynamo):
    results = []
    barrier = threading.Barrier(8)

    def deliver():
        barrier.wait()
        results.append(_claim(dynamo))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.value for r in results) == ["in_progress"] * 7 + ["new"]
