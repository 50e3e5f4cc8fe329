"""Backfill checkpoints (ports.CheckpointStore) in the Checkpoints table (adapters/tables.CHECKPOINTS_TABLE).

    pk        S  'backfill#' + input key (a hash of the normalised input, domain/backfill_plan.input_key)
    sk        S  'checkpoint'                       the checkpoint itself:
                   status   S  running | paused | done
                   version  N  bumped by every write; every write is conditional on the version read
                   state    S  JSON of the BackfillCheckpoint (windows, page token, counters, lease, notes)
                   updated_at S ISO-8601
              S  'ids#w<window:05>#p<page:07>'      the call-log ids one fetched page enqueued:
                   ids      SS
    ttl       N  epoch seconds: RETENTION after the last write (beyond it, Zoom no longer has the range)

DynamoDB errors become the store's errors in `adapters/dynamo_errors.py`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from spam_blocker.adapters.dynamo_errors import translated
from spam_blocker.adapters.tables import TTL_ATTRIBUTE
from spam_blocker.clock import iso, parse_iso
from spam_blocker.domain.backfill_plan import BackfillCheckpoint, Window

KEY_PREFIX = "backfill#"
CHECKPOINT_SK = "checkpoint"
RETENTION = timedelta(days=200)
_TIMES = ("token_at", "reported_at", "resume_at", "lease_until", "created_at", "updated_at")


def _translate(operation: str, key: str):
    return translated(f"{operation} {key}")


def _pk(key: str) -> str:
    return KEY_PREFIX + key


def _ids_prefix(window: int) -> str:
    return f"ids#w{window:05d}#"


class DynamoCheckpointStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def get(self, key: str) -> BackfillCheckpoint | None:
        with _translate("GetItem", key):
            item = self._client.get_item(TableName=self.table_name, ConsistentRead=True,
                                         Key={"pk": {"S": _pk(key)}, "sk": {"S": CHECKPOINT_SK}}).get("Item")
        return from_item(item) if item else None

    def save(self, checkpoint: BackfillCheckpoint) -> BackfillCheckpoint:
        written = replace(checkpoint, version=checkpoint.version + 1)
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Item": to_item(written)}
        if checkpoint.version == 0:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            kwargs["ConditionExpression"] = "version = :v"
            kwargs["ExpressionAttributeValues"] = {":v": {"N": str(checkpoint.version)}}
        with _translate("PutItem", checkpoint.key):
            self._client.put_item(**kwargs)
        return written

    def add_page_ids(self, key: str, window: int, page: int, ids: Iterable[str], now: datetime) -> None:
        values = sorted(set(ids))
        if not values:
            return
        item = {"pk": {"S": _pk(key)}, "sk": {"S": f"{_ids_prefix(window)}p{page:07d}"}, "ids": {"SS": values},
                TTL_ATTRIBUTE: {"N": str(int((now + RETENTION).timestamp()))}}
        with _translate("PutItem", key):
            self._client.put_item(TableName=self.table_name, Item=item)

    def window_ids(self, key: str, window: int) -> set[str]:
        found: set[str] = set()
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :ids)",
            "ExpressionAttributeValues": {":pk": {"S": _pk(key)}, ":ids": {"S": _ids_prefix(window)}},
        }
        while True:
            with _translate("Query", key):
                page = self._client.query(**kwargs)
            for item in page.get("Items", []):
                found.update(item.get("ids", {}).get("SS", []))
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def to_item(checkpoint: BackfillCheckpoint) -> dict[str, Any]:
    state: dict[str, Any] = {name: getattr(checkpoint, name) for name in checkpoint.__dataclass_fields__
                             if name not in ("key", "version", "windows", "notes", *_TIMES)}
    state["windows"] = [[w.start.isoformat(), w.end.isoformat()] for w in checkpoint.windows]
    state["notes"] = list(checkpoint.notes)
    for name in _TIMES:
        value = getattr(checkpoint, name)
        state[name] = iso(value) if value is not None else None
    written_at = checkpoint.updated_at or checkpoint.created_at
    item: dict[str, Any] = {
        "pk": {"S": _pk(checkpoint.key)},
        "sk": {"S": CHECKPOINT_SK},
        "status": {"S": checkpoint.status},
        "version": {"N": str(checkpoint.version)},
        "state": {"S": json.dumps(state, sort_keys=True, separators=(",", ":"))},
    }
    if written_at is not None:
        item["updated_at"] = {"S": iso(written_at)}
        item[TTL_ATTRIBUTE] = {"N": str(int((written_at + RETENTION).timestamp()))}
    return item


def from_item(item: dict[str, Any]) -> BackfillCheckpoint:
    state = json.loads(item["state"]["S"])
    times = {name: parse_iso(state[name]) if state.get(name) else None for name in _TIMES}
    windows = tuple(Window(date.fromisoformat(a), date.fromisoformat(b)) for a, b in state.get("windows", []))
    plain = {name: value for name, value in state.items()
             if name in BackfillCheckpoint.__dataclass_fields__ and name not in ("windows", "notes", *_TIMES)}
    return BackfillCheckpoint(
        key=item["pk"]["S"].removeprefix(KEY_PREFIX), version=int(item["version"]["N"]), windows=windows,
        notes=tuple(state.get("notes", [])), **times, **plain)
