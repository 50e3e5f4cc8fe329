"""SQS: send in batches of 10, change visibility, and dead-letter a poison message with its reason."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from spam_blocker.observability import logger

MAX_BATCH = 10
MAX_VISIBILITY_S = 43_200  # SQS's ceiling: 12 hours
MAX_DELAY_S = 900


class QueueSendError(RuntimeError):
    """Some messages could not be sent after retrying the failed entries."""


class SqsQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self.url = queue_url

    def send_many(self, bodies: Iterable[str], *, attempts: int = 3) -> int:
        """Send every body (batches of 10, failed entries retried); returns how many were sent."""
        sent = 0
        batch: list[str] = []
        for body in bodies:
            batch.append(body)
            if len(batch) == MAX_BATCH:
                sent += self._send_batch(batch, attempts)
                batch = []
        if batch:
            sent += self._send_batch(batch, attempts)
        return sent

    def _send_batch(self, bodies: list[str], attempts: int) -> int:
        pending = {str(i): body for i, body in enumerate(bodies)}
        for _ in range(attempts):
            response = self._client.send_message_batch(
                QueueUrl=self.url, Entries=[{"Id": i, "MessageBody": b} for i, b in pending.items()]
            )
            for ok in response.get("Successful", []):
                pending.pop(ok["Id"], None)
            if not pending:
                return len(bodies)
        raise QueueSendError(f"{len(pending)} of {len(bodies)} messages not sent to {self.url}")

    def send(self, body: str, *, delay_s: int = 0, attributes: dict[str, str] | None = None) -> None:
        kwargs: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": body}
        if delay_s:
            kwargs["DelaySeconds"] = max(0, min(int(delay_s), MAX_DELAY_S))
        if attributes:
            kwargs["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v[:1024]} for k, v in attributes.items()}
        self._client.send_message(**kwargs)

    def change_visibility(self, receipt_handle: str, seconds: float) -> None:
        self._client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(int(round(seconds)), MAX_VISIBILITY_S)),
        )


class DeadLetters:
    """Poison messages go straight to the DLQ with a reason attribute instead of being retried until redrive."""

    def __init__(self, queue: SqsQueue, source: str) -> None:
        self._queue = queue
        self._source = source

    def reject(self, body: str, reason: str, *, message_id: str | None = None) -> None:
        logger.warning("message dead-lettered", extra={"reason": reason, "message_id": message_id, "source": self._source})
        self._queue.send(body, attributes={"reason": reason, "source": self._source, "message_id": message_id or ""})

    @staticmethod
    def describe(reason: str, **details: Any) -> str:
        return json.dumps({"reason": reason, **details})
