"""One suite for the CheckpointStore port, run against the in-memory fake and the DynamoDB adapter on moto,
so the fake the service tests use stays honest."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import boto3
import pytest
from moto import mock_aws
from spam_blocker.adapters.dynamo_checkpoints import DynamoCheckpointStore
from spam_blocker.adapters.tables import CHECKPOINTS_TABLE, create_table
from spam_blocker.domain.backfill_plan import BackfillCheckpoint, Window
from spam_blocker.ports import StoreConflict

from tests.unit.lifecycle.fakes import InMemoryCheckpoints

NOW = datetime(2026, 11, 20, 12, 0, 5, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb"])
def store(request):
    if request.param == "memory":
        yield InMemoryCheckpoints()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "checkpoints", CHECKPOINTS_TABLE)
        yield DynamoCheckpointStore(client, "checkpoints")


def checkpoint(**changes) -> BackfillCheckpoint:
    base = BackfillCheckpoint(
        key="k1", request={"from": "2026-09-01", "to": "2026-11-19", "phone_numbers": []},
        windows=(Window(date(2026, 9, 1), date(2026, 9, 30)), Window(date(2026, 10, 1), date(2026, 10, 31))),
        window_index=1, page_token="tok", token_at=NOW, pages=4, call_logs_seen=99, call_logs_enqueued=98,
        duplicates_skipped=1, reported_at=NOW, notes=("clipped 'from'",), paused_reason="daily_limit",
        resume_at=datetime(2026, 11, 21, tzinfo=UTC), owner="run-1", lease_until=NOW, created_at=NOW, updated_at=NOW)
    return replace(base, **changes)


def test_a_checkpoint_round_trips_every_field(store):
    written = store.save(checkpoint())
    assert written.version == 1 and store.get("k1") == written
    assert store.get("other") is None


def test_writes_are_conditional_on_the_version(store):
    first = store.save(checkpoint())
    with pytest.raises(StoreConflict):
        store.save(checkpoint())  # version 0: must not exist yet
    second = store.save(replace(first, pages=5))
    with pytest.raises(StoreConflict):
        store.save(replace(first, pages=6))  # stale version
    assert store.get("k1") == second and second.version == 2


def test_page_ids_are_kept_per_window(store):
    store.add_page_ids("k1", 0, 1, ["id:a", "id:b"], NOW)
    store.add_page_ids("k1", 0, 2, ["id:c"], NOW)
    store.add_page_ids("k1", 1, 3, ["id:d"], NOW)
    store.add_page_ids("k2", 0, 1, ["id:e"], NOW)
    store.add_page_ids("k1", 0, 4, [], NOW)
    assert store.window_ids("k1", 0) == {"id:a", "id:b", "id:c"}
    assert store.window_ids("k1", 1) == {"id:d"} and store.window_ids("k1", 2) == set()
