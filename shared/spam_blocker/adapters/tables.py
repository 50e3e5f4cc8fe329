"""DynamoDB table shapes: the one place key names live. template.yaml declares the same shapes
(tests/template checks they agree); tests and the local runner create tables from these.

Blocks     pk `block_id` = BlockKey.as_id() ('prefix#1907555#inbound'); sparse GSI `by_expiry`
           (`expiry_bucket` = 'due' only while a block is active/ours, sort `expires_at` ISO) so the
           expirer queries due blocks instead of scanning.
RateLimit  pk `limit_key` ('<account>#<category>'): token-bucket state, daily counter, penalty.
Evidence   pk `pk`, sk `sk`: per-number and per-prefix aggregates (owned by the scorer).
"""

from __future__ import annotations

from typing import Any

BLOCKS_EXPIRY_INDEX = "by_expiry"


def _keyed(hash_key: str, range_key: str | None = None) -> dict[str, Any]:
    """An on-demand table keyed by string attributes: a hash key, and a range key when given."""
    keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
    return {
        "KeySchema": [{"AttributeName": name, "KeyType": kind} for name, kind in keys],
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name, _ in keys],
        "BillingMode": "PAY_PER_REQUEST",
    }


BLOCKS_TABLE: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "block_id", "KeyType": "HASH"}],
    "AttributeDefinitions": [
        {"AttributeName": "block_id", "AttributeType": "S"},
        {"AttributeName": "expiry_bucket", "AttributeType": "S"},
        {"AttributeName": "expires_at", "AttributeType": "S"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": BLOCKS_EXPIRY_INDEX,
            "KeySchema": [
                {"AttributeName": "expiry_bucket", "KeyType": "HASH"},
                {"AttributeName": "expires_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}

RATE_LIMIT_TABLE: dict[str, Any] = _keyed("limit_key")

EVIDENCE_TABLE: dict[str, Any] = _keyed("pk", "sk")

# TTL attribute (epoch seconds) on every table: ended blocks, stale evidence and old limiter rows age out.
TTL_ATTRIBUTE = "ttl"


def create_table(client, name: str, shape: dict[str, Any]) -> None:
    """Create a table from a shape (tests and the local runner; AWS uses template.yaml)."""
    client.create_table(TableName=name, **shape)
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})


# Deliveries  pk `delivery_key` ('zoom#<sha256 of the canonical webhook body>'): the ingest endpoint's
#             redelivery dedupe. `state` pending|done, `lease_until` (epoch s), `ttl` (epoch s).
#             Its own small table, not a key space in Evidence: ingest's IAM stays limited to it and
#             the scorer's table keeps one owner.
DELIVERIES_TABLE: dict[str, Any] = _keyed("delivery_key")


# Checkpoints  pk `pk` ('backfill#<input key>'), sk `sk`: the backfill's progress per normalised input.
#              sk 'checkpoint': the checkpoint (status, version, JSON state); sk 'ids#w<window>#p<page>': the
#              call-log ids one fetched page enqueued (a restarted window skips them). `ttl` (epoch s) ages
#              everything out after Zoom's six-month horizon has passed it. Its own small table, as
#              Deliveries: the backfill's IAM stays limited to it and the Evidence table keeps one owner.
CHECKPOINTS_TABLE: dict[str, Any] = _keyed("pk", "sk")
