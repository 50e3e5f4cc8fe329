"""One blocker invocation: each SQS record of a batch parsed, executed, and given its fate.

    poison body            -> DLQ with a reason attribute, metric BlockRequestsRejected, record done
    settled outcome        -> record done (FAILED too: the reason is in the Blocks table), one metric
    deferred / retried     -> ChangeMessageVisibility per services/deferral.py, record reported failed;
                              or a fresh copy with DelaySeconds and the record done (long waits, high
                              receive counts: waiting must not end in the DLQ)

Records run in order with one `Permits` for the whole batch: once a category is refused, the rest of the
batch is deferred without asking the limiter or calling Zoom again. Nothing here sleeps (pacing, if
configured, is bounded inside Permits and reported as PacingWaitMs). `prefetch` reads the Blocks rows of
the whole batch at once (one BatchGetItem rather than one per record); a record whose block (or a prefix over
it) an earlier record of the batch touched reads its own again.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from spam_blocker.clock import Clock
from spam_blocker.domain.block_request import BlockKey, BlockRequest
from spam_blocker.observability import logger, metrics
from spam_blocker.services.coverage import key_and_covering
from spam_blocker.services.deferral import DeferralPolicy, plan_deferral
from spam_blocker.services.execute_block import ExecuteBlock, StateSnapshot
from spam_blocker.services.outcomes import Outcome, Result
from spam_blocker.services.permits import Permits

METRIC_OF: dict[Result, str] = {
    Result.CREATED: "BlocksCreated",
    Result.ADOPTED: "BlocksAdopted",
    Result.ALREADY_BLOCKED: "BlocksSkippedActive",
    Result.COVERED: "BlocksSkippedCovered",
    Result.COOLDOWN: "BlocksSkippedCooldown",
    Result.NOT_OURS: "SkippedPersonsEntry",
    Result.REMOVED: "BlocksRemoved",
    Result.NOTHING_TO_REMOVE: "UnblocksNothingToRemove",
    Result.DRY_RUN: "BlocksDryRun",
    Result.FAILED: "BlockFailed",
    Result.UNSAFE: "RangesRefusedUnsafe",
    Result.LIMITED: "BlocksDeferred",
    Result.IN_PROGRESS: "BlocksInProgress",
    Result.RETRY: "BlockRetried",
}
_LOG_KEYS = ("message_id", "block_id", "action", "receive_count")
# The batch's read of the Blocks rows serves records handled within this long of it (pacing can hold a
# batch for seconds): a prefix another instance blocked meanwhile is then seen before a number under it.
SNAPSHOT_FRESH = timedelta(seconds=1)
PREFETCH_MAX = 10  # records read ahead: about what a batch handles within SNAPSHOT_FRESH; later ones read their own


class DeferredRecord(Exception):
    """Raised to report a record failed to the batch processor after its visibility was set."""


class MessageQueue(Protocol):
    def change_visibility(self, receipt_handle: str, seconds: float) -> None: ...
    def send(self, body: str, *, delay_s: int = 0, attributes: dict[str, str] | None = None) -> None: ...


class Rejects(Protocol):
    def reject(self, body: str, reason: str, *, message_id: str | None = None) -> None: ...


class BlockerBatch:
    def __init__(self, *, executor: ExecuteBlock, permits: Permits, queue: MessageQueue, dead_letters: Rejects,
                 clock: Clock, deferral: DeferralPolicy, rng: random.Random, request_id: str,
                 on_outcome: Callable[[BlockRequest, Outcome], None] | None = None) -> None:
        self._executor = executor
        self.permits = permits
        self._queue = queue
        self._dead_letters = dead_letters
        self._clock = clock
        self._deferral = deferral
        self._rng = rng
        self._request_id = request_id
        self._on_outcome = on_outcome
        self.outcomes: list[Outcome] = []
        self._snapshot: StateSnapshot | None = None
        self._touched: set[BlockKey] = set()
        self._parsed: dict[str, BlockRequest] = {}  # by message id, from prefetch

    def prefetch(self, records: list[dict[str, Any]]) -> None:
        """Read the Blocks rows of every valid block request in the batch (raw SQS records) at once."""
        records = records[:PREFETCH_MAX]
        ids = [record.get("messageId") for record in records]
        unique = {i for i, n in Counter(ids).items() if i and n == 1}  # reused by handle() when unambiguous
        requests = []
        for message_id, record in zip(ids, records, strict=True):
            try:
                request = BlockRequest.model_validate_json(record.get("body") or "")
            except ValidationError:
                continue  # rejected with its reason when its turn comes
            requests.append(request)
            if message_id in unique:
                self._parsed[message_id] = request
        self._snapshot = self._executor.snapshot(requests)

    def handle(self, record: Any) -> str:
        """The BatchProcessor record handler: returns when the record is done, raises to report it failed."""
        receive_count = int(record.attributes.approximate_receive_count or 1)
        logger.thread_safe_append_keys(message_id=record.message_id, receive_count=receive_count)
        try:
            request = self._parsed.pop(record.message_id, None)
            if request is None:
                try:
                    request = BlockRequest.model_validate_json(record.body)
                except ValidationError as exc:
                    return self._reject(record, exc)
            logger.thread_safe_append_keys(block_id=request.key.as_id(), action=request.action)
            # An earlier record of the batch may have changed this block or one over it: read afresh.
            looked_at = set(key_and_covering(request.key))
            snapshot = self._snapshot if not looked_at & self._touched else None
            if snapshot is not None and self._clock.now() - snapshot.read_at > SNAPSHOT_FRESH:
                snapshot = self._snapshot = None
            self._touched.add(request.key)
            outcome = self._executor.execute(request, attempt_id=f"{self._request_id}:{record.message_id}",
                                             permits=self.permits, snapshot=snapshot)
            self.outcomes.append(outcome)
            self._count(outcome)
            if self._on_outcome is not None:
                self._on_outcome(request, outcome)
            return self._fate(record, outcome, receive_count)
        finally:
            logger.thread_safe_remove_keys(list(_LOG_KEYS))

    def close(self) -> None:
        """End of the invocation: what pacing cost, if any."""
        if self.permits.waits:
            metrics.add_metric(name="PacingWaitMs", unit=MetricUnit.Milliseconds,
                               value=round(self.permits.waited_s * 1000))

    def _reject(self, record: Any, exc: ValidationError) -> str:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:3])
        self._dead_letters.reject(record.body, f"invalid block request: {problems}", message_id=record.message_id)
        metrics.add_metric(name="BlockRequestsRejected", unit=MetricUnit.Count, value=1)
        return "rejected"

    def _count(self, outcome: Outcome) -> None:
        step: Outcome | None = outcome
        while step is not None:
            metrics.add_metric(name=METRIC_OF[step.result], unit=MetricUnit.Count, value=1)
            if step.throttled:
                metrics.add_metric(name="ZoomThrottled", unit=MetricUnit.Count, value=1)
            if step.retired:
                metrics.add_metric(name="BlocksRetired", unit=MetricUnit.Count, value=step.retired)
            step = step.then
        extra = {"result": outcome.result.value, "detail": outcome.detail, "zoom_id": outcome.zoom_id}
        if outcome.result is Result.FAILED:
            logger.warning("block failed", extra=extra)
        else:
            logger.info("block request handled", extra=extra)

    def _fate(self, record: Any, outcome: Outcome, receive_count: int) -> str:
        deferral = outcome.deferral
        if deferral is None:
            return outcome.result.value
        plan = plan_deferral(retry_at=deferral.retry_at, now=self._clock.now(), receive_count=receive_count,
                             transient=deferral.result is Result.RETRY, policy=self._deferral, rng=self._rng)
        if plan.resend:
            self._queue.send(record.body, delay_s=plan.seconds)
            metrics.add_metric(name="BlockRequestsResent", unit=MetricUnit.Count, value=1)
            logger.info("deferred by a fresh copy", extra={"delay_s": plan.seconds, "result": deferral.result.value})
            return "resent"
        self._queue.change_visibility(record.receipt_handle, plan.seconds)
        logger.info("deferred", extra={"visibility_s": plan.seconds, "result": deferral.result.value,
                                       "retry_at": str(deferral.retry_at), "reason": deferral.detail})
        raise DeferredRecord(f"{deferral.result.value}: {deferral.detail}")
