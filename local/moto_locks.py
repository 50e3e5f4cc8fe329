"""Make moto's in-process SQS and DynamoDB backends safe to call from several threads.

moto does no locking: two threads receiving from one queue can both get a message, and a
DeleteMessage that rebuilds the queue's list can drop a message sent at the same moment. A
DynamoDB conditional update is a read-check-write, so two threads can both pass the condition.
Real SQS and DynamoDB are atomic per call; this restores that by serialising each backend's
public operations behind one lock per service (calls are short; handlers still run concurrently).
"""

from __future__ import annotations

import functools
import inspect
import threading

_PATCHED = False
_PATCH_LOCK = threading.Lock()

_SQS_OPERATIONS = (
    "change_message_visibility", "change_message_visibility_batch", "create_queue", "delete_message",
    "delete_message_batch", "delete_queue", "get_queue_attributes", "get_queue_url", "list_queues",
    "purge_queue", "receive_message", "send_message", "send_message_batch", "set_queue_attributes",
)
_DYNAMODB_OPERATIONS = (
    "batch_get_item", "batch_write_item", "create_table", "delete_item", "delete_table", "describe_table",
    "execute_statement", "execute_transaction", "get_item", "put_item", "query", "scan",
    "transact_get_items", "transact_write_items", "update_item", "update_table", "update_time_to_live",
)


def _serialise(cls: type, names: tuple[str, ...], lock: threading.RLock) -> None:
    for name in names:
        original = getattr(cls, name, None)
        if original is None or not inspect.isfunction(original) or getattr(original, "_locked", False):
            continue

        @functools.wraps(original)
        def locked(*args, __original=original, **kwargs):
            with lock:
                return __original(*args, **kwargs)

        locked._locked = True  # type: ignore[attr-defined]
        setattr(cls, name, locked)


def make_moto_thread_safe() -> None:
    """Idempotent; call before starting threads that share moto's in-process backends."""
    global _PATCHED
    make_moto_sqs_fast()
    make_moto_dynamodb_query_fast()
    stop_moto_tracking_items()
    with _PATCH_LOCK:
        if _PATCHED:
            return
        from moto.dynamodb.models import DynamoDBBackend
        from moto.sqs.models import SQSBackend

        _serialise(SQSBackend, _SQS_OPERATIONS, threading.RLock())
        _serialise(DynamoDBBackend, _DYNAMODB_OPERATIONS, threading.RLock())
        _PATCHED = True


_FAST = False


def make_moto_sqs_fast() -> None:
    """Remove two quadratic hot spots of moto's SQS (idempotent; behaviour unchanged).

    moto recomputes every queue attribute (each a pass over all messages) once per message received,
    to read the retention period, and several times per requested name in GetQueueAttributes; and it
    reads its clock through two datetime constructions per message check. With a few hundred messages
    in flight that dominates a local run. These replacements compute the same values once.
    """
    global _FAST
    with _PATCH_LOCK:
        if _FAST:
            return
        import time

        import moto.sqs.models as sqs_models
        from moto.sqs.exceptions import InvalidAttributeName
        from moto.sqs.models import SQSBackend

        # Message.visible/delayed ask for the time per message per receive; moto's clock builds two
        # datetimes (and re-imports) each time. Same value (seconds since the epoch), without that.
        slow_unix_time = sqs_models.unix_time

        def unix_time(dt=None):  # type: ignore[no-untyped-def]
            return time.time() if dt is None else slow_unix_time(dt)

        def unix_time_millis(dt=None):  # type: ignore[no-untyped-def]
            return unix_time(dt) * 1000.0

        sqs_models.unix_time = unix_time
        sqs_models.unix_time_millis = unix_time_millis

        def is_message_valid_based_on_retention_period(self, queue_name, message):  # type: ignore[no-untyped-def]
            queue = self.get_queue(queue_name)
            retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
            return retain_until > unix_time()

        def get_queue_attributes(self, queue_name, attribute_names):  # type: ignore[no-untyped-def]
            queue = self.get_queue(queue_name)
            if not attribute_names:
                return {}
            valid_names = ["All"] + queue.BASE_ATTRIBUTES + queue.FIFO_ATTRIBUTES + queue.KMS_ATTRIBUTES
            invalid_name = next((name for name in attribute_names if name not in valid_names), None)
            if invalid_name or invalid_name == "":
                raise InvalidAttributeName(invalid_name)
            everything = queue.attributes
            if "All" in attribute_names:
                return everything
            return {name: everything[name] for name in attribute_names if everything.get(name) is not None}

        SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
        SQSBackend.get_queue_attributes = get_queue_attributes
        _FAST = True


_QUERY_FAST = False


class _Partition:
    """A table seen through one partition: `all_items()` holds only that hash key's items, in the order moto
    gives them (sorted by key); everything else is the table's."""

    def __init__(self, table, hash_key) -> None:  # type: ignore[no-untyped-def]
        self._table = table
        self._hash_key = hash_key

    def all_items(self):  # type: ignore[no-untyped-def]
        found = self._table.items.get(self._hash_key)
        if found is None:
            return []
        if not self._table.range_key_attr:
            return [found]
        return sorted(found.values(), key=lambda item: item.range_key)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._table, name)


def make_moto_dynamodb_query_fast() -> None:
    """Remove two hot spots of moto's DynamoDB (idempotent; answers unchanged).

    moto answers every Query by sorting every item of the table and keeping the partition's: a local run
    whose Evidence table grows to thousands of items slowed from about 120 to 10 events/s. A Query on the
    table's key (no index) now reads its partition only; index queries are left as they are. And item
    answers skip moto's shape-walking serialiser (`_fast_item_responses`).
    """
    global _QUERY_FAST
    with _PATCH_LOCK:
        if _QUERY_FAST:
            return
        from moto.dynamodb.models.table import Table

        original = Table.query
        signature = inspect.signature(original)

        @functools.wraps(original)
        def query(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            bound = signature.bind(self, *args, **kwargs)
            hash_key = bound.arguments.get("hash_key")
            if bound.arguments.get("index_name") or hash_key is None or not isinstance(self.items, dict):
                return original(self, *args, **kwargs)
            return original(_Partition(self, hash_key), *args, **kwargs)

        Table.query = query
        _fast_item_responses()
        _QUERY_FAST = True


# Operations whose answers are plain DynamoDB JSON (attribute-value maps, counts, keys, capacity).
_ITEM_OPERATIONS = frozenset({"Query", "Scan", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem",
                              "BatchWriteItem", "TransactGetItems"})


def _fast_item_responses() -> None:
    """moto serialises every answer by walking the operation's response shape: a Query answering 300 items
    takes seconds (measured: 3.3 s, against 18 ms for json.dumps of the same dict). For the item operations
    moto's result already is the wire form, so it is written as JSON directly - the same body, as the
    contract test in tests/unit/test_moto_locks.py checks. Anything else, or a binary attribute (its wire
    form is the shape's business), goes through moto's serialiser as before."""
    import email.utils
    import json
    import uuid

    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result

    @functools.wraps(original)
    def execute_result(self, context):  # type: ignore[no-untyped-def]
        if context.operation_model.name in _ITEM_OPERATIONS:
            try:
                body = json.dumps(self.result, separators=(",", ":"))
            except (TypeError, ValueError):
                body = None
            if body is not None and '"B":' not in body and '"BS":' not in body:
                headers = {"Content-Type": "application/x-amz-json-1.0", "server": "amazon.com",
                           "date": email.utils.formatdate(usegmt=True), "x-amzn-requestid": uuid.uuid4().hex}
                return 200, headers, body
        return original(self, context)

    DynamoResult.execute_result = execute_result


_UNTRACKED = False


def stop_moto_tracking_items() -> None:
    """Keep moto from holding on to every DynamoDB item and SQS message it ever made (idempotent).

    moto's BaseModel appends each new instance to a class-level list, for its server's dashboard; nothing
    else reads it. For items (every write, and every Query's deep copies) and messages that list only
    grows: a 30,000-event run held about 800 MB, most of it items long replaced or answered. These two
    classes are made without being tracked; everything else is as before.
    """
    global _UNTRACKED
    with _PATCH_LOCK:
        if _UNTRACKED:
            return
        from moto.core.common_models import BaseModel
        from moto.dynamodb.models.dynamo_type import Item
        from moto.sqs.models import Message

        untracked = (Item, Message)
        original = BaseModel.__new__

        def __new__(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
            if issubclass(cls, untracked):
                return object.__new__(cls)
            return original(cls, *args, **kwargs)

        BaseModel.__new__ = staticmethod(__new__)  # type: ignore[assignment]
        for cls in untracked:
            cls.instances_tracked = []  # type: ignore[attr-defined]
        _UNTRACKED = True
