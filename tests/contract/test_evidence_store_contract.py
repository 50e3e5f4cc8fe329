"""One suite, two stores: the in-memory fake and DynamoEvidenceStore on moto must behave alike."""

from __future__ import annotations

import threading

import boto3
import pytest
from moto import mock_aws
from spam_blocker.adapters.dynamo_allowlist import DynamoListStore
from spam_blocker.adapters.dynamo_evidence import DynamoEvidenceStore, translate_error
from spam_blocker.adapters.tables import EVIDENCE_TABLE, TTL_ATTRIBUTE, create_table
from spam_blocker.domain.allowlist import parse_list
from spam_blocker.domain.evidence import Contribution, NumberEvidence, merge
from spam_blocker.ports import StoreConflict, StoreUnavailable

from tests.fakes.evidence import InMemoryEvidenceStore

T = 1_795_183_500  # 2026-11-20T14:05:00Z
NUMBER = "+19075550123"


@pytest.fixture(params=["memory", "dynamo"])
def store(request):
    if request.param == "memory":
        yield InMemoryEvidenceStore()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "evidence", EVIDENCE_TABLE)
        yield DynamoEvidenceStore(client, "evidence")


def evidence(number: str = NUMBER, *, reporters=("ext-1",), calls: int = 2) -> NumberEvidence:
    contributions = [Contribution("report", number, T + i, r) for i, r in enumerate(reporters)]
    contributions += [Contribution("inbound_call", number, T + 60 * i, f"call-{i}", duration=i * 40,
                                   answered=bool(i % 2), callee=f"+1907212{1000 + i}") for i in range(calls)]
    contributions += [Contribution("not_spam", number, T + 500, "ext-9"), Contribution("outbound_call", number, T + 600, "out-1")]
    return merge(NumberEvidence(number), contributions)


def test_nothing_is_read_before_anything_is_written(store):
    assert store.query_exchange("1907555") == {}
    assert store.get_many([NUMBER]) == {}
    assert store.get_many([]) == {}


def test_a_new_record_round_trips_with_version_one(store):
    written = store.put(evidence())
    assert written.version == 1 and written == evidence()
    assert store.get_many([NUMBER]) == {NUMBER: written}
    assert store.get_many([NUMBER])[NUMBER].version == 1
    assert store.query_exchange("1907555") == {NUMBER: written}


def test_writes_are_conditional_on_the_version_read(store):
    first = store.put(evidence())
    with pytest.raises(StoreConflict):
        store.put(evidence(reporters=("ext-2",)))  # version 0: someone created it meanwhile
    second = store.put(merge(first, [Contribution("report", NUMBER, T + 900, "ext-3")]))
    assert second.version == 2
    with pytest.raises(StoreConflict):
        store.put(merge(first, [Contribution("report", NUMBER, T + 901, "ext-4")]))  # stale version 1
    assert {r for r, _ in store.get_many([NUMBER])[NUMBER].reports} == {"ext-1", "ext-3"}


def test_an_exchange_query_returns_its_numbers_only(store):
    for number in ("+19075550123", "+19075559999", "+19075560123", "+442071234567"):
        store.put(evidence(number))
    assert sorted(store.query_exchange("1907555")) == ["+19075550123", "+19075559999"]
    assert sorted(store.query_exchange("44207123")) == ["+442071234567"]


def test_get_many_reads_more_than_one_batch(store):
    numbers = [f"+1907555{i:04d}" for i in range(130)]
    for number in numbers:
        store.put(evidence(number, calls=1))
    found = store.get_many(numbers + ["+19998887777"])
    assert sorted(found) == sorted(numbers) and all(e.version == 1 for e in found.values())


def test_a_busy_exchange_is_read_across_query_pages(store):
    numbers = [f"+1907555{i:04d}" for i in range(60)]
    for number in numbers:
        store.put(evidence(number, reporters=[f"ext-{j}" for j in range(50)], calls=100))
    assert sorted(store.query_exchange("1907555")) == numbers


def test_concurrent_writers_from_one_version_exactly_one_wins(store):
    base = store.put(evidence())
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def writer(i: int) -> None:
        barrier.wait(5)
        try:
            store.put(merge(base, [Contribution("report", NUMBER, T + 1000 + i, f"ext-w{i}")]))
            outcomes.append("won")
        except StoreConflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]
    assert store.get_many([NUMBER])[NUMBER].version == 2


# -- DynamoDB specifics (item layout and error translation) ------------------------------------------------

@mock_aws
def test_the_item_layout_is_the_documented_one():
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_table(client, "evidence", EVIDENCE_TABLE)
    DynamoEvidenceStore(client, "evidence", ttl_days=120).put(evidence())
    item = client.get_item(TableName="evidence", Key={"pk": {"S": "x#1907555"}, "sk": {"S": NUMBER}})["Item"]
    assert set(item) == {"pk", "sk", "version", "reports", "not_spam", "calls", "outbound", "last_seen", TTL_ATTRIBUTE}
    assert item["reports"]["S"] == '{"ext-1":1795183500}'
    assert item["calls"]["S"] == '[["call-0",1795183500,0,0,"+19072121000"],["call-1",1795183560,40,1,"+19072121001"]]'
    assert item["last_seen"]["S"] == "2026-11-20T14:15:00Z"
    assert int(item[TTL_ATTRIBUTE]["N"]) == T + 600 + 120 * 86_400


def test_client_errors_are_translated_in_one_place():
    from botocore.exceptions import ClientError, EndpointConnectionError

    def error(code: str, status: int = 400) -> ClientError:
        return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutItem")

    assert isinstance(translate_error(error("ConditionalCheckFailedException")), StoreConflict)
    assert isinstance(translate_error(error("ProvisionedThroughputExceededException")), StoreUnavailable)
    assert isinstance(translate_error(error("Whatever", 503)), StoreUnavailable)
    assert isinstance(translate_error(EndpointConnectionError(endpoint_url="x")), StoreUnavailable)
    assert isinstance(translate_error(error("ResourceNotFoundException")), ClientError)


@mock_aws
def test_the_lists_live_in_the_evidence_table_apart_from_the_evidence():
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_table(client, "evidence", EVIDENCE_TABLE)
    lists = DynamoListStore(client, "evidence")
    from datetime import UTC, datetime

    now = datetime(2026, 11, 20, tzinfo=UTC)
    assert lists.add("allow", parse_list("+19072120000  # bank\n+1907212*\n", source="allow.txt"), now=now) == 2
    assert lists.add("own", parse_list("(907) 555-0100\n"), now=now) == 1
    DynamoEvidenceStore(client, "evidence").put(evidence("+19072120000"))
    current = lists.current()
    assert [e.key for e in current.allow] == ["+19072120000", "1907212*"]
    assert current.allow[0].source == "allow.txt:1" and current.allow[0].note == "bank"
    assert [e.key for e in current.own] == ["+19075550100"]
    assert lists.remove("allow", parse_list("+1907212*\n")) == 1
    assert [e.key for e in lists.entries("allow")] == ["+19072120000"]
    with pytest.raises(ValueError):
        lists.entries("deny")
