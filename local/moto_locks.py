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
    with _PATCH_LOCK:
        if _PATCHED:
            return
        from moto.dynamodb.models import DynamoDBBackend
        from moto.sqs.models import SQSBackend

        _serialise(SQSBackend, _SQS_OPERATIONS, threading.RLock())
        _serialise(DynamoDBBackend, _DYNAMODB_OPERATIONS, threading.RLock())
        _PATCHED = True
