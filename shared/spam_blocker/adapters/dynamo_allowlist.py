"""Allowlist and own numbers in DynamoDB (the Evidence table, pk 'allow' / 'own'), and a short cache.

Item layout:

    pk        'allow' | 'own'
    sk        ListEntry.key: '+19072120000' for a number, '1907212*' for a prefix
    source    where it came from ('allowlist.txt:4', 'cli'), for explanations
    note      the file line's comment, if any
    added_at  ISO-8601

The ops CLI (`spam-blocker allow | disallow | own`) writes with `add` / `remove`; the scorer reads
`current()` through `CachedLists` (one pair of Queries per TTL, not per batch).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from spam_blocker.adapters.dynamo_errors import translate_error
from spam_blocker.clock import iso
from spam_blocker.domain.allowlist import LIST_KINDS, ListEntry, ListKind, ProtectedLists, parse_entry
from spam_blocker.ports import ListSource, StoreUnavailable

BATCH_WRITE_MAX = 25


class DynamoListStore:
    """Reads and writes the allowlist / own-numbers items. `current()` makes one Query per list."""

    def __init__(self, client: Any, table_name: str, region: str = "US") -> None:
        self._client = client
        self.table_name = table_name
        self._region = region

    def entries(self, kind: ListKind) -> list[ListEntry]:
        _check_kind(kind)
        entries: list[ListEntry] = []
        kwargs: dict[str, Any] = {"TableName": self.table_name, "KeyConditionExpression": "pk = :pk",
                                  "ExpressionAttributeValues": {":pk": {"S": kind}}}
        try:
            while True:
                page = self._client.query(**kwargs)
                for item in page.get("Items", []):
                    parsed = parse_entry(item["sk"]["S"], self._region)
                    entries.append(ListEntry(parsed.value, parsed.is_prefix,
                                             source=item.get("source", {}).get("S", ""),
                                             note=item.get("note", {}).get("S", "")))
                if "LastEvaluatedKey" not in page:
                    return entries
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc) from None

    def current(self) -> ProtectedLists:
        return ProtectedLists.of(allow=self.entries("allow"), own=self.entries("own"))

    def add(self, kind: ListKind, entries: Iterable[ListEntry], *, now: datetime) -> int:
        """Put entries (idempotent: an entry is its key). Returns how many were written."""
        _check_kind(kind)
        requests = [{"PutRequest": {"Item": {
            "pk": {"S": kind}, "sk": {"S": e.key}, "source": {"S": e.source or "cli"},
            "note": {"S": e.note}, "added_at": {"S": iso(now)},
        }}} for e in {e.key: e for e in entries}.values()]
        return self._write(requests)

    def add_own_numbers(self, numbers: Iterable[str], *, source: str, now: datetime) -> int:
        """Own numbers seen in call logs: each put only where no entry exists (a listed entry keeps its
        source and note). Returns how many were new."""
        written = 0
        for number in sorted(set(numbers)):
            try:
                self._client.put_item(
                    TableName=self.table_name,
                    Item={"pk": {"S": "own"}, "sk": {"S": number}, "source": {"S": source}, "note": {"S": ""},
                          "added_at": {"S": iso(now)}},
                    ConditionExpression="attribute_not_exists(pk)")
                written += 1
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise translate_error(exc) from None
            except BotoCoreError as exc:
                raise translate_error(exc) from None
        return written

    def remove(self, kind: ListKind, entries: Iterable[ListEntry]) -> int:
        _check_kind(kind)
        keys = sorted({e.key for e in entries})
        return self._write([{"DeleteRequest": {"Key": {"pk": {"S": kind}, "sk": {"S": k}}}} for k in keys])

    def _write(self, requests: list[dict[str, Any]]) -> int:
        for start in range(0, len(requests), BATCH_WRITE_MAX):
            pending = {self.table_name: requests[start:start + BATCH_WRITE_MAX]}
            for _ in range(4):
                try:
                    response = self._client.batch_write_item(RequestItems=pending)
                except (ClientError, BotoCoreError) as exc:
                    raise translate_error(exc) from None
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                raise StoreUnavailable(f"{self.table_name}: list items still unprocessed")
        return len(requests)


class CachedLists:
    """A ListSource read at most once per `ttl_s` (per container; thread-safe). A failed refresh keeps
    serving the last good lists if there are any, so a DynamoDB hiccup never drops the allowlist."""

    def __init__(self, source: ListSource, ttl_s: float = 60.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._lists: ProtectedLists | None = None
        self._loaded_at = 0.0

    def current(self) -> ProtectedLists:
        with self._lock:
            now = self._monotonic()
            if self._lists is not None and now - self._loaded_at < self._ttl_s:
                return self._lists
            try:
                self._lists = self._source.current()
            except Exception:
                if self._lists is None:
                    raise
                return self._lists  # stale but safe: the allowlist only ever protects
            self._loaded_at = now
            return self._lists

    def invalidate(self) -> None:
        with self._lock:
            self._lists = None


def _check_kind(kind: str) -> None:
    if kind not in LIST_KINDS:
        raise ValueError(f"unknown list {kind!r} (expected one of {', '.join(LIST_KINDS)})")
