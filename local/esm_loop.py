"""A local SQS event-source mapping: drives a Lambda handler the way AWS does, over any SQS endpoint.

Like the real one it receives batches up to `batch_size` (messages stay invisible while the handler
runs), builds the exact SQS event and a Lambda context, deletes only the records that the partial
batch response does not list as failed (nothing when the handler raises), leaves failed ones to
reappear after their visibility timeout (or whatever ChangeMessageVisibility the handler set), and
lets the queue's redrive policy move them to the DLQ after maxReceiveCount receives. Several
pollers may run concurrently, as Lambda scales out up to MaximumConcurrency.

`hold()` keeps the pollers from starting a poll cycle (and waits for those under way) until `release()`:
the runner's ordered replay holds them while it sends a chunk, so that one batch holds the whole chunk.
`nudge()` wakes idle pollers at once (instead of after their back-off), and `busy` counts the poll cycles
under way.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """What Powertools and our handlers read from the Lambda context object."""

    function_name: str
    timeout_s: float = 30.0
    memory_limit_in_mb: int = 512
    region: str = "us-east-1"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:123456789012:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


@dataclass
class MappingStats:
    batches: int = 0
    records: int = 0
    failed_records: int = 0
    deleted: int = 0
    handler_errors: int = 0
    last_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attributes.get("SenderId", "AIDAIENQZJOLO23YVJ4VO"),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                   "stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType", "String")}
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class EventSourceMapping:
    def __init__(self, *, sqs: Any, queue_url: str, handler: Handler, function_name: str,
                 batch_size: int = 10, pollers: int = 1, function_timeout_s: float = 30.0,
                 region: str = "us-east-1", idle_sleep_s: float = 0.01, max_idle_sleep_s: float = 0.2,
                 on_batch: Callable[[int, int], None] | None = None) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self._handler = handler
        self.function_name = function_name
        self.batch_size = batch_size
        self.pollers = pollers
        self._timeout_s = function_timeout_s
        self._region = region
        self._idle_sleep_s = idle_sleep_s
        self._max_idle_sleep_s = max(idle_sleep_s, max_idle_sleep_s)
        self._on_batch = on_batch
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.stats = MappingStats()
        self._wake = threading.Event()
        self._busy = 0
        self._held = False
        self._cycles = threading.Condition()

    @property
    def busy(self) -> int:
        """Poll cycles under way: receiving, in the handler, or deleting."""
        return self._busy

    def nudge(self) -> None:
        """Wake the idle pollers now: there is work (or they were released)."""
        self._wake.set()

    def hold(self) -> None:
        """No poll cycle starts until `release()`; returns once the cycles under way have ended."""
        with self._cycles:
            self._held = True
            self._cycles.wait_for(lambda: self._busy == 0)

    def release(self) -> None:
        with self._cycles:
            self._held = False
        self.nudge()

    def poll_once(self) -> int:
        """One receive + invoke + delete cycle. Returns how many records were handled (0 while held)."""
        with self._cycles:
            if self._held:
                return 0
            self._busy += 1
        try:
            return self._poll()
        finally:
            with self._cycles:
                self._busy -= 1
                self._cycles.notify_all()

    def _poll(self) -> int:
        messages: list[dict[str, Any]] = []
        # Like Lambda's poller, gather up to batch_size (which may exceed SQS's 10 per receive) from
        # several receives, and invoke with what is there once the queue has no more to give.
        while len(messages) < self.batch_size:
            want = min(10, self.batch_size - len(messages))
            got = self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=want, WaitTimeSeconds=0,
                AttributeNames=["All"], MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(got)
            if len(got) < want:
                break
        if not messages:
            return 0
        event = {"Records": [sqs_record(m, self.queue_arn, self._region) for m in messages]}
        context = LambdaContext(function_name=self.function_name, timeout_s=self._timeout_s, region=self._region)
        try:
            result = self._handler(event, context)
        except Exception as exc:  # the whole batch failed: Lambda deletes nothing, SQS redelivers later
            self.stats.add(batches=1, records=len(messages), failed_records=len(messages), handler_errors=1)
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self._notify(len(messages), len(messages))
            return len(messages)
        failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self.stats.add(batches=1, records=len(messages), failed_records=len(failed), deleted=len(done))
        self._notify(len(messages), len(failed))
        return len(messages)

    def _notify(self, records: int, failed: int) -> None:
        if self._on_batch:
            self._on_batch(records, failed)

    def backlog(self) -> dict[str, int]:
        attrs = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        return {
            "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
        }

    def is_drained(self) -> bool:
        return not any(self.backlog().values())

    def run_until_drained(self, *, upstream_done: Callable[[], bool] = lambda: True,
                          stop: threading.Event | None = None, deadline_s: float | None = None) -> None:
        """Poll with `pollers` threads until the queue is empty and upstream says it has sent everything.

        Messages made invisible by the handler (throttling) are waited for: the mapping is only done
        when nothing is visible, in flight or delayed.
        """
        stop = stop or threading.Event()
        started = time.monotonic()

        def poller() -> None:
            idle = self._idle_sleep_s
            while not stop.is_set():
                if self.poll_once():
                    idle = self._idle_sleep_s
                    continue
                if upstream_done() and self.is_drained():
                    stop.set()
                    return
                if deadline_s is not None and time.monotonic() - started > deadline_s:
                    stop.set()
                    return
                # An empty receive is not free: back off while idle, as Lambda's pollers do.
                if self._wake.wait(idle):
                    self._wake.clear()
                    idle = self._idle_sleep_s
                    continue
                idle = min(self._max_idle_sleep_s, max(idle * 2, 0.005))

        threads = [threading.Thread(target=poller, name=f"{self.function_name}-poller-{i}", daemon=True)
                   for i in range(self.pollers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
