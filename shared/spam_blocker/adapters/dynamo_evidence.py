"""The Evidence table (adapters/tables.EVIDENCE_TABLE: pk, sk), the scorer's EvidenceStore.

Item layout, one item per caller number, partitioned by the number's exchange so that all evidence for a
candidate range is one Query:

    pk        'x#' + exchange digits              'x#1907555'
    sk        the number, E.164                   '+19075550123'
    version   N, +1 per write (conditional writes: optimistic concurrency between scorer instances)
    reports   S, JSON {reporter: epoch s}          latest report per person
    not_spam  S, JSON {reporter: epoch s}
    calls     S, JSON [[call id, epoch s, duration s, answered 0|1, callee], ...]   inbound calls
    outbound  S, JSON [[call id, epoch s], ...]    employees calling the number
    last_seen S, ISO-8601 of the newest contribution (for people reading the table)
    ttl       N, epoch s: last_seen + the retention horizon (stale evidence ages out)

Absent collections are omitted. The allowlist and own numbers share the table under pk 'allow' / 'own'
(adapters/dynamo_allowlist.py); the 'x#' prefix keeps the key spaces apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from spam_blocker.adapters import dynamo_errors
from spam_blocker.adapters.tables import TTL_ATTRIBUTE
from spam_blocker.clock import iso
from spam_blocker.domain.evidence import DAY_S, CallRecord, NumberEvidence, Retention, exchange_of, from_epoch
from spam_blocker.ports import StoreUnavailable

EXCHANGE_PREFIX = "x#"
BATCH_GET_MAX = 100
UNPROCESSED_ROUNDS = 4


def translate_error(exc: ClientError | BotoCoreError) -> Exception:
    return dynamo_errors.translate_error(exc, "evidence")


def partition_key(exchange: str) -> str:
    return EXCHANGE_PREFIX + exchange


def to_item(evidence: NumberEvidence, version: int, ttl_days: float) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": partition_key(exchange_of(evidence.number))},
        "sk": {"S": evidence.number},
        "version": {"N": str(version)},
    }
    if evidence.reports:
        item["reports"] = {"S": json.dumps(dict(evidence.reports), separators=(",", ":"))}
    if evidence.not_spam:
        item["not_spam"] = {"S": json.dumps(dict(evidence.not_spam), separators=(",", ":"))}
    if evidence.calls:
        rows = [[c.call_id, c.at, c.duration, int(c.answered), c.callee] for c in evidence.calls]
        item["calls"] = {"S": json.dumps(rows, separators=(",", ":"))}
    if evidence.outbound:
        item["outbound"] = {"S": json.dumps([list(o) for o in evidence.outbound], separators=(",", ":"))}
    last_seen = evidence.last_seen
    if last_seen is not None:
        item["last_seen"] = {"S": iso(from_epoch(last_seen))}
        item[TTL_ATTRIBUTE] = {"N": str(last_seen + int(ttl_days * DAY_S))}
    return item


def from_item(item: dict[str, Any]) -> NumberEvidence:
    def loaded(name: str, default: Any) -> Any:
        return json.loads(item[name]["S"]) if name in item else default

    return NumberEvidence(
        number=item["sk"]["S"],
        reports=tuple(sorted((str(k), int(v)) for k, v in loaded("reports", {}).items())),
        not_spam=tuple(sorted((str(k), int(v)) for k, v in loaded("not_spam", {}).items())),
        calls=tuple(sorted((CallRecord(str(r[0]), int(r[1]), int(r[2]), bool(r[3]), str(r[4]))
                            for r in loaded("calls", [])), key=lambda c: (c.at, c.call_id))),
        outbound=tuple(sorted((str(k), int(t)) for k, t in loaded("outbound", []))),
        version=int(item.get("version", {}).get("N", "0")),
    )


class DynamoEvidenceStore:
    """EvidenceStore on DynamoDB. Reads are strongly consistent (they feed conditional writes)."""

    def __init__(self, client: Any, table_name: str, ttl_days: float = Retention().horizon_days) -> None:
        self._client = client
        self.table_name = table_name
        self._ttl_days = ttl_days

    def query_exchange(self, exchange: str) -> dict[str, NumberEvidence]:
        records: dict[str, NumberEvidence] = {}
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": partition_key(exchange)}},
        }
        try:
            while True:
                page = self._client.query(**kwargs)
                for item in page.get("Items", []):
                    evidence = from_item(item)
                    records[evidence.number] = evidence
                if "LastEvaluatedKey" not in page:
                    return records
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc) from None

    def get_many(self, numbers: Iterable[str]) -> dict[str, NumberEvidence]:
        wanted = sorted(set(numbers))
        records: dict[str, NumberEvidence] = {}
        for start in range(0, len(wanted), BATCH_GET_MAX):
            keys = [{"pk": {"S": partition_key(exchange_of(n))}, "sk": {"S": n}}
                    for n in wanted[start:start + BATCH_GET_MAX]]
            request = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            for _ in range(UNPROCESSED_ROUNDS):
                try:
                    response = self._client.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError) as exc:
                    raise translate_error(exc) from None
                for item in response.get("Responses", {}).get(self.table_name, []):
                    evidence = from_item(item)
                    records[evidence.number] = evidence
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise StoreUnavailable(f"{self.table_name}: keys still unprocessed after {UNPROCESSED_ROUNDS} rounds")
        return records

    def put(self, evidence: NumberEvidence) -> NumberEvidence:
        version = evidence.version + 1
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Item": to_item(evidence, version, self._ttl_days)}
        if evidence.version == 0:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            kwargs["ConditionExpression"] = "#version = :expected"
            kwargs["ExpressionAttributeNames"] = {"#version": "version"}
            kwargs["ExpressionAttributeValues"] = {":expected": {"N": str(evidence.version)}}
        try:
            self._client.put_item(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc) from None
        return NumberEvidence(evidence.number, evidence.reports, evidence.not_spam, evidence.calls,
                              evidence.outbound, version=version)
