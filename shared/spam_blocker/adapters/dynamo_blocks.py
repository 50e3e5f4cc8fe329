"""The Blocks table (ports.BlockStateStore) on DynamoDB. One item per block key:

    block_id        S  BlockKey.as_id(): 'phoneNumber#+19075550123#inbound', 'prefix#1907555#inbound'
    match_type, phone_number, block_type    S  the key's parts
    state           S  pending | active | expired | removed | failed | external
    version         N  bumped by every write; every write is conditional on the version read
    zoom_id         S  the Zoom entry's id (active/external; kept after removal for history)
    reason          S  the scorer's explanation (also the tagged Zoom comment)
    evidence        S  JSON object
    expires_at      S  clock.iso (whole seconds, 'Z'): the by_expiry sort key
    decided_at, updated_at, post_started_at, cooldown_until   S  ISO-8601 with microseconds, 'Z'
    attempts        N  Zoom attempts of the current pending episode
    owner           S  attempt id holding a pending block (absent when released)
    failure_reason  S  why a block failed (Zoom's message), shown to ops
    last_error      S  the last transient failure, shown to ops
    ended_reason    S  why an active block ended ('unblocked: ...', 'covered by prefix 1907555')
    expiry_bucket   S  'due' only while the block is ours and active (sparse GSI by_expiry)
    ttl             N  epoch seconds, only on ended blocks (expired/removed/failed): a year after the
                       later of the last write and the cool-down

`post_started_at` set means "a POST for this block may have reached Zoom": it is cleared only when the
outcome is known (the entry's id is recorded, or Zoom provably has no such entry).

DynamoDB errors become the store's errors in `adapters/dynamo_errors.py` (conflict, unavailable, or
propagated unchanged), as for every DynamoDB adapter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from spam_blocker.adapters.dynamo_errors import translated
from spam_blocker.adapters.tables import BLOCKS_EXPIRY_INDEX, TTL_ATTRIBUTE
from spam_blocker.clock import iso, parse_iso
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord, BlockState, can_move
from spam_blocker.ports import StoreUnavailable

DUE_BUCKET = "due"
ENDED_RETENTION = timedelta(days=365)
BATCH_GET_MAX = 100
BATCH_GET_ROUNDS = 8

_ENDED = frozenset({BlockState.EXPIRED, BlockState.REMOVED, BlockState.FAILED})
_TIMES = ("decided_at", "updated_at", "post_started_at", "cooldown_until")


def _translate(operation: str, key: str):
    return translated(f"{operation} {key}")


class DynamoBlockStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    # --- reads ---------------------------------------------------------------------------------------

    def get(self, key: BlockKey) -> BlockRecord | None:
        block_id = BlockKey(*key).as_id()
        with _translate("GetItem", block_id):
            item = self._client.get_item(TableName=self.table_name, Key={"block_id": {"S": block_id}},
                                         ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def get_many(self, keys: Iterable[BlockKey]) -> dict[BlockKey, BlockRecord]:
        """BatchGetItem in chunks of 100 (consistent reads), unprocessed keys retried a bounded number of
        times (StoreUnavailable if DynamoDB keeps returning some)."""
        ids = sorted({BlockKey(*k).as_id() for k in keys})
        found: dict[BlockKey, BlockRecord] = {}
        for start in range(0, len(ids), BATCH_GET_MAX):
            pending: list[dict[str, Any]] = [{"block_id": {"S": i}} for i in ids[start:start + BATCH_GET_MAX]]
            for _ in range(BATCH_GET_ROUNDS):
                with _translate("BatchGetItem", f"{len(pending)} keys"):
                    answer = self._client.batch_get_item(RequestItems={
                        self.table_name: {"Keys": pending, "ConsistentRead": True}})
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    record = from_item(item)
                    found[record.key] = record
                pending = answer.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
                if not pending:
                    break
            else:
                raise StoreUnavailable(f"BatchGetItem: {len(pending)} keys still unprocessed")
        return found

    def active_within(self, prefix_digits: str, block_type: str, match_type: str = "phoneNumber") -> list[BlockRecord]:
        """Queries the sparse by_expiry index (ours and active only) with a filter on the key: it reads
        every active block once, so it is for rare events (a new prefix block, an ops unblock), not per request."""
        begins = f"{match_type}#{'+' if match_type == 'phoneNumber' else ''}{prefix_digits}"
        records = self._query_due(
            "expiry_bucket = :due", {":due": {"S": DUE_BUCKET}, ":p": {"S": begins}, ":bt": {"S": block_type}},
            filter_expression="begins_with(block_id, :p) AND block_type = :bt")
        return sorted(records, key=lambda r: r.key.as_id())

    def due_for_expiry(self, before: datetime, limit: int = 100) -> list[BlockRecord]:
        return self._query_due("expiry_bucket = :due AND expires_at <= :before",
                               {":due": {"S": DUE_BUCKET}, ":before": {"S": iso(before)}}, limit=limit)

    def blocking_records(self) -> list[BlockRecord]:
        """Every active or external row (ports.BlockInventory): a consistent Scan with a filter, for the daily
        reconciler only (external rows are in no index)."""
        records: list[BlockRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "ConsistentRead": True, "FilterExpression": "#state IN (:active, :external)",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":active": {"S": BlockState.ACTIVE.value},
                                          ":external": {"S": BlockState.EXTERNAL.value}}}
        while True:
            with _translate("Scan", self.table_name):
                page = self._client.scan(**kwargs)
            records.extend(from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return sorted(records, key=lambda r: r.key.as_id())
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query_due(self, condition: str, values: dict[str, Any], *, filter_expression: str | None = None,
                   limit: int | None = None) -> list[BlockRecord]:
        records: list[BlockRecord] = []
        kwargs: dict[str, Any] = {"TableName": self.table_name, "IndexName": BLOCKS_EXPIRY_INDEX,
                                  "KeyConditionExpression": condition, "ExpressionAttributeValues": values}
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        while True:
            with _translate("Query", BLOCKS_EXPIRY_INDEX):
                page = self._client.query(**kwargs)
            records.extend(from_item(item) for item in page.get("Items", []))
            if limit is not None and len(records) >= limit:
                return records[:limit]
            if "LastEvaluatedKey" not in page:
                return records
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- writes --------------------------------------------------------------------------------------

    def transition(self, expected: BlockRecord | None, target: BlockRecord) -> BlockRecord:
        if expected is not None and expected.key != target.key:
            raise ValueError(f"cannot move {expected.key.as_id()} into {target.key.as_id()}")
        if not can_move(expected.state if expected else None, target.state):
            raise ValueError(f"{target.key.as_id()}: {expected.state if expected else 'absent'} -> "
                             f"{target.state} is not an allowed move")
        written = from_item(to_item(target, version=(expected.version if expected else 0) + 1))
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Item": to_item(written)}
        if expected is None:
            kwargs["ConditionExpression"] = "attribute_not_exists(block_id)"
        else:
            kwargs["ConditionExpression"] = "#state = :state AND version = :version"
            kwargs["ExpressionAttributeNames"] = {"#state": "state"}
            kwargs["ExpressionAttributeValues"] = {":state": {"S": expected.state.value},
                                                   ":version": {"N": str(expected.version)}}
        with _translate("PutItem", target.key.as_id()):
            self._client.put_item(**kwargs)
        return written

    def set_cooldown(self, expected: BlockRecord, until: datetime, now: datetime) -> BlockRecord:
        written = from_item(to_item(expected, version=expected.version + 1, cooldown_until=until, updated_at=now))
        with _translate("PutItem", expected.key.as_id()):
            self._client.put_item(TableName=self.table_name, Item=to_item(written),
                                  ConditionExpression="version = :version",
                                  ExpressionAttributeValues={":version": {"N": str(expected.version)}})
        return written


# --- item mapping (the table layout lives here) ----------------------------------------------------------

def _ts(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def to_item(record: BlockRecord, **changes: Any) -> dict[str, Any]:
    values = {**record.__dict__, **changes}
    key: BlockKey = values["key"]
    state = BlockState(values["state"])
    item: dict[str, Any] = {
        "block_id": {"S": key.as_id()},
        "match_type": {"S": key.match_type},
        "phone_number": {"S": key.phone_number},
        "block_type": {"S": key.block_type},
        "state": {"S": state.value},
        "version": {"N": str(int(values["version"]))},
        "attempts": {"N": str(int(values["attempts"]))},
        "reason": {"S": values["reason"] or ""},
        "evidence": {"S": json.dumps(values["evidence"] or {}, separators=(",", ":"), sort_keys=True)},
    }
    for name in ("zoom_id", "owner", "failure_reason", "last_error", "ended_reason"):
        if values.get(name):
            item[name] = {"S": str(values[name])}
    if values.get("expires_at") is not None:
        item["expires_at"] = {"S": iso(values["expires_at"])}
    for name in _TIMES:
        if values.get(name) is not None:
            item[name] = {"S": _ts(values[name])}
    if state is BlockState.ACTIVE and values.get("zoom_id") and values.get("expires_at") is not None:
        item["expiry_bucket"] = {"S": DUE_BUCKET}
    if state in _ENDED and values.get("updated_at") is not None:
        keep_from = max(values["updated_at"], values.get("cooldown_until") or values["updated_at"])
        item[TTL_ATTRIBUTE] = {"N": str(int((keep_from + ENDED_RETENTION).timestamp()))}
    return item


def from_item(item: dict[str, Any]) -> BlockRecord:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if value else None

    def when(name: str) -> datetime | None:
        value = text(name)
        return parse_iso(value) if value else None

    return BlockRecord(
        key=BlockKey(item["match_type"]["S"], item["phone_number"]["S"], item["block_type"]["S"]),
        state=BlockState(item["state"]["S"]),
        zoom_id=text("zoom_id"),
        reason=text("reason") or "",
        evidence=json.loads(text("evidence") or "{}"),
        expires_at=when("expires_at"),
        decided_at=when("decided_at"),
        updated_at=when("updated_at"),
        attempts=int(item.get("attempts", {}).get("N", "0")),
        failure_reason=text("failure_reason"),
        owner=text("owner"),
        post_started_at=when("post_started_at"),
        cooldown_until=when("cooldown_until"),
        version=int(item.get("version", {}).get("N", "0")),
        last_error=text("last_error"),
        ended_reason=text("ended_reason"),
    )
