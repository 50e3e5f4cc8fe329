"""The Deliveries table: one item per Zoom event the ingest endpoint has taken, so a redelivery of
the same event enqueues nothing.

Item: `delivery_key`, `state` ('pending' while its call logs are being enqueued, then 'done'),
`lease_until` (epoch s: after it a 'pending' claim counts as abandoned), `ttl` (epoch s), `event`.

    claim     one conditional put, admitted when the key is absent, past its ttl (DynamoDB deletes
              expired items lazily) or a pending claim whose lease ran out; otherwise the old item
              (ReturnValuesOnConditionCheckFailure) says DONE or IN_PROGRESS
    complete  state -> done (after the events are on the queue)
    release   delete the key while still pending (enqueue failed: Zoom's retry must find it free)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from spam_blocker.adapters.tables import TTL_ATTRIBUTE
from spam_blocker.clock import iso
from spam_blocker.domain.webhook import Claim

PENDING = "pending"
DONE = "done"


class DynamoDeliveries:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def claim(self, key: str, *, event: str, now: datetime, lease_s: int, ttl_s: int) -> Claim:
        now_s = int(now.timestamp())
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item={
                    "delivery_key": {"S": key},
                    "state": {"S": PENDING},
                    "event": {"S": event},
                    "received_at": {"S": iso(now)},
                    "lease_until": {"N": str(now_s + lease_s)},
                    TTL_ATTRIBUTE: {"N": str(now_s + ttl_s)},
                },
                ConditionExpression=(
                    "attribute_not_exists(delivery_key) OR #ttl < :now"
                    " OR (#state = :pending AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE, "#state": "state"},
                ExpressionAttributeValues={":now": {"N": str(now_s)}, ":pending": {"S": PENDING}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item") or {}
            return Claim.DONE if old.get("state", {}).get("S") == DONE else Claim.IN_PROGRESS
        return Claim.NEW

    def complete(self, key: str, *, now: datetime) -> None:
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"delivery_key": {"S": key}},
                UpdateExpression="SET #state = :done, completed_at = :at",
                ConditionExpression="attribute_exists(delivery_key)",  # never re-create one without a ttl
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":done": {"S": DONE}, ":at": {"S": iso(now)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def release(self, key: str) -> None:
        try:
            self._client.delete_item(
                TableName=self.table_name,
                Key={"delivery_key": {"S": key}},
                ConditionExpression="#state = :pending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":pending": {"S": PENDING}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise  # a 'done' item is left alone: another delivery finished the job
