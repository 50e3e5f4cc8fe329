"""One suite, two stores: the in-memory fake and DynamoBlockStore on moto must behave alike."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
from spam_blocker.adapters.tables import BLOCKS_TABLE, TTL_ATTRIBUTE, create_table
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord, BlockState
from spam_blocker.ports import StoreConflict, StoreUnavailable

from tests.fakes.blocks import InMemoryBlockStore

NOW = datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=UTC)
NUMBER = BlockKey("phoneNumber", "+19075550123", "inbound")
PREFIX = BlockKey("prefix", "1907555", "inbound")


@pytest.fixture(params=["memory", "dynamo"])
def store(request):
    if request.param == "memory":
        yield InMemoryBlockStore()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "blocks", BLOCKS_TABLE)
        yield DynamoBlockStore(client, "blocks")


def pending(key=NUMBER, **changes) -> BlockRecord:
    values = dict(key=key, state=BlockState.PENDING, reason="14 reports", evidence={"reports": 14, "score": 0.93},
                  expires_at=NOW + timedelta(days=30), decided_at=NOW, updated_at=NOW, attempts=1,
                  owner="attempt-1", post_started_at=NOW)
    return BlockRecord(**{**values, **changes})


def active(record: BlockRecord, zoom_id="zid-1", **changes) -> BlockRecord:
    return replace(record, state=BlockState.ACTIVE, zoom_id=zoom_id, owner=None, post_started_at=None, **changes)


def test_missing_blocks_read_as_none(store):
    assert store.get(NUMBER) is None
    assert store.get_many([NUMBER, PREFIX]) == {}
    assert store.get_many([]) == {}


def test_a_new_block_is_written_once_with_version_one_and_every_field_round_trips(store):
    written = store.transition(None, pending(cooldown_until=NOW + timedelta(days=1), last_error="boom"))
    assert written.version == 1
    read = store.get(NUMBER)
    assert read == written
    assert read.evidence == {"reports": 14, "score": 0.93}
    assert read.post_started_at == NOW and read.decided_at == NOW  # microseconds kept
    assert read.expires_at == (NOW + timedelta(days=30)).replace(microsecond=0)  # the index key: whole seconds
    assert read.owner == "attempt-1" and read.last_error == "boom" and read.attempts == 1
    with pytest.raises(StoreConflict):
        store.transition(None, pending(owner="attempt-2"))


def test_moves_are_conditional_on_the_state_and_version_read(store):
    first = store.transition(None, pending())
    second = store.transition(first, active(first))
    assert (second.state, second.version, second.zoom_id) == (BlockState.ACTIVE, 2, "zid-1")
    with pytest.raises(StoreConflict):  # stale version
        store.transition(first, replace(first, owner="attempt-2"))
    with pytest.raises(StoreConflict):  # right version number, wrong state
        store.transition(replace(second, state=BlockState.EXTERNAL), replace(second, state=BlockState.REMOVED))
    assert store.get(NUMBER) == second


def _seed(store, state: BlockState | None) -> BlockRecord | None:
    if state is None:
        return None
    if state is BlockState.EXTERNAL:
        return store.transition(None, replace(pending(), state=state, zoom_id="theirs", owner=None))
    first = store.transition(None, pending())
    return first if state is BlockState.PENDING else store.transition(first, active(first))


@pytest.mark.parametrize(("before", "after"), [
    (None, BlockState.EXPIRED), (BlockState.ACTIVE, BlockState.PENDING), (BlockState.PENDING, BlockState.REMOVED),
    (BlockState.EXTERNAL, BlockState.ACTIVE),
])
def test_moves_outside_the_state_machine_are_refused_before_writing(store, before, after):
    expected = _seed(store, before)
    with pytest.raises(ValueError):
        store.transition(expected, pending(state=after))
    assert store.get(NUMBER) == expected


def test_two_instances_claiming_the_same_version_exactly_one_wins(store):
    base = store.transition(None, replace(pending(), owner=None, post_started_at=None))
    wins, conflicts = [], []
    barrier = threading.Barrier(8)

    def claim(n: int) -> None:
        barrier.wait()
        try:
            wins.append(store.transition(base, replace(base, owner=f"attempt-{n}", updated_at=NOW)))
        except StoreConflict:
            conflicts.append(n)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(conflicts) == 7
    assert store.get(NUMBER).owner == wins[0].owner and store.get(NUMBER).version == 2


def test_get_many_reads_more_than_one_batch_and_skips_missing_keys(store):
    keys = [BlockKey("phoneNumber", f"+1907555{n:04d}", "inbound") for n in range(130)]
    for key in keys[::2]:
        store.transition(None, pending(key=key))
    found = store.get_many([*keys, *keys[:5]])
    assert set(found) == set(keys[::2])
    assert all(found[k].key == k for k in found)


def test_only_our_active_blocks_are_in_the_expiry_index_soonest_first(store):
    soon, later = NOW + timedelta(days=1), NOW + timedelta(days=2)
    a = store.transition(None, pending(key=BlockKey("phoneNumber", "+19075550001", "inbound"), expires_at=later))
    a = store.transition(a, active(a, zoom_id="z-a"))
    b = store.transition(None, pending(key=BlockKey("phoneNumber", "+19075550002", "inbound"), expires_at=soon))
    b = store.transition(b, active(b, zoom_id="z-b"))
    store.transition(None, pending(key=BlockKey("phoneNumber", "+19075550003", "inbound"), expires_at=soon))
    store.transition(None, replace(pending(key=BlockKey("phoneNumber", "+19075550004", "inbound")),
                                   state=BlockState.EXTERNAL, zoom_id="theirs", owner=None))
    assert [r.zoom_id for r in store.due_for_expiry(NOW + timedelta(days=3))] == ["z-b", "z-a"]
    assert [r.zoom_id for r in store.due_for_expiry(NOW + timedelta(days=3), limit=1)] == ["z-b"]
    assert [r.zoom_id for r in store.due_for_expiry(soon)] == ["z-b"]
    store.transition(b, replace(b, state=BlockState.REMOVED, updated_at=NOW))
    assert [r.zoom_id for r in store.due_for_expiry(NOW + timedelta(days=3))] == ["z-a"]


def test_active_blocks_within_a_prefix(store):
    def make_active(key, zoom_id):
        first = store.transition(None, pending(key=key))
        return store.transition(first, active(first, zoom_id=zoom_id))

    make_active(BlockKey("phoneNumber", "+19075551234", "inbound"), "in-1")
    make_active(BlockKey("phoneNumber", "+19075559999", "inbound"), "in-2")
    make_active(BlockKey("phoneNumber", "+19075561234", "inbound"), "outside")
    make_active(BlockKey("phoneNumber", "+19075551235", "outbound"), "other-type")
    make_active(BlockKey("prefix", "19075551", "inbound"), "a-prefix")
    store.transition(None, pending(key=BlockKey("phoneNumber", "+19075551000", "inbound")))
    store.transition(None, replace(pending(key=BlockKey("phoneNumber", "+19075551001", "inbound")),
                                   state=BlockState.EXTERNAL, zoom_id="theirs", owner=None))
    make_active(BlockKey("prefix", "1907555", "inbound"), "the-prefix")
    make_active(BlockKey("prefix", "190755", "inbound"), "wider")
    assert [r.zoom_id for r in store.active_within("1907555", "inbound")] == ["in-1", "in-2"]
    assert store.active_within("1907557", "inbound") == []
    assert [r.zoom_id for r in store.active_within("1907555", "inbound", "prefix")] == ["the-prefix", "a-prefix"]


def test_a_cooldown_is_conditional_on_the_version_and_keeps_the_state(store):
    first = store.transition(None, pending())
    removed = store.transition(first, replace(active(first), state=BlockState.PENDING))
    removed = store.transition(removed, replace(removed, state=BlockState.FAILED, failure_reason="cancelled"))
    until = NOW + timedelta(days=7)
    cooled = store.set_cooldown(removed, until, NOW + timedelta(seconds=1))
    assert (cooled.state, cooled.cooldown_until, cooled.version) == (BlockState.FAILED, until, removed.version + 1)
    assert store.get(NUMBER) == cooled
    with pytest.raises(StoreConflict):
        store.set_cooldown(removed, until, NOW)


# --- DynamoDB-only: the item layout other tools read, and error translation ----------------------------

@pytest.fixture
def dynamo():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "blocks", BLOCKS_TABLE)
        yield client, DynamoBlockStore(client, "blocks")


def test_item_layout_with_sparse_expiry_index_and_ttl_only_when_ended(dynamo):
    client, store = dynamo
    first = store.transition(None, pending())
    item = client.get_item(TableName="blocks", Key={"block_id": {"S": NUMBER.as_id()}})["Item"]
    assert item["block_id"]["S"] == "phoneNumber#+19075550123#inbound"
    assert item["state"]["S"] == "pending" and item["version"]["N"] == "1"
    assert "expiry_bucket" not in item and TTL_ATTRIBUTE not in item
    assert item["expires_at"]["S"] == "2026-12-20T12:00:00Z"
    assert item["post_started_at"]["S"] == "2026-11-20T12:00:00.123456Z"
    on = store.transition(first, active(first))
    item = client.get_item(TableName="blocks", Key={"block_id": {"S": NUMBER.as_id()}})["Item"]
    assert item["expiry_bucket"]["S"] == "due" and item["zoom_id"]["S"] == "zid-1"
    assert "owner" not in item and "post_started_at" not in item
    store.transition(on, replace(on, state=BlockState.REMOVED, updated_at=NOW, cooldown_until=NOW + timedelta(days=400),
                                 ended_reason="unblocked: not spam"))
    item = client.get_item(TableName="blocks", Key={"block_id": {"S": NUMBER.as_id()}})["Item"]
    assert "expiry_bucket" not in item and item["ended_reason"]["S"] == "unblocked: not spam"
    assert store.get(NUMBER).ended_reason == "unblocked: not spam"
    assert int(item[TTL_ATTRIBUTE]["N"]) == int((NOW + timedelta(days=400 + 365)).timestamp())


class _Throttling:
    def __init__(self, code: str) -> None:
        self.code = code

    def __getattr__(self, name):
        def fail(**kwargs):
            raise ClientError({"Error": {"Code": self.code, "Message": "slow down"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, name)
        return fail


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException",
                                  "RequestLimitExceeded"])
def test_throttling_becomes_a_retryable_store_error(code):
    store = DynamoBlockStore(_Throttling(code), "blocks")
    with pytest.raises(StoreUnavailable):
        store.get(NUMBER)
    with pytest.raises(StoreUnavailable):
        store.transition(None, pending())


def test_other_client_errors_are_not_disguised():
    store = DynamoBlockStore(_Throttling("ResourceNotFoundException"), "blocks")
    with pytest.raises(ClientError):
        store.get_many([NUMBER])
