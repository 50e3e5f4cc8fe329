"""What became of one block request: the blocker's services answer with an Outcome, the handler maps it to
an SQS fate (ack / defer / retry) and a metric.

    settled (ack)    CREATED, ADOPTED, ALREADY_BLOCKED, COVERED, COOLDOWN, NOT_OURS, REMOVED,
                     NOTHING_TO_REMOVE, DRY_RUN, FAILED (permanent: Zoom refused; visible in the table),
                     UNSAFE (a range that would now cover a protected or legitimate number; not created)
    deferred         LIMITED      no permit (window full, daily allowance spent, or a 429 penalty):
                                  come back at `retry_at`; Zoom was not called, or answered 429
                     IN_PROGRESS  another instance holds the block (a live `pending`): come back soon
    retried          RETRY        a transient failure (5xx, transport, DynamoDB throttling); bounded by
                                  the queue's maxReceiveCount and the record's attempts
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Result(StrEnum):
    CREATED = "created"
    ADOPTED = "adopted"
    ALREADY_BLOCKED = "already_blocked"
    COVERED = "covered"
    COOLDOWN = "cooldown"
    NOT_OURS = "not_ours"
    REMOVED = "removed"
    NOTHING_TO_REMOVE = "nothing_to_remove"
    DRY_RUN = "dry_run"
    FAILED = "failed"
    UNSAFE = "unsafe"
    LIMITED = "limited"
    IN_PROGRESS = "in_progress"
    RETRY = "retry"


DEFERRED = frozenset({Result.LIMITED, Result.IN_PROGRESS})
UNSETTLED = DEFERRED | {Result.RETRY}


@dataclass(frozen=True)
class Outcome:
    result: Result
    detail: str = ""
    retry_at: datetime | None = None  # deferred/retried: not before this (None: the caller's backoff)
    zoom_id: str | None = None
    category: str | None = None  # LIMITED: the rate-limit category that refused
    limit_reason: str | None = None  # LIMITED: qps | daily | penalty
    throttled: bool = False  # Zoom answered 429
    retired: int = 0  # number blocks retired because a prefix covers them
    then: Outcome | None = None  # settled, but follow-up work was deferred (e.g. retiring covered numbers)

    @property
    def settled(self) -> bool:
        return self.result not in UNSETTLED and (self.then is None or self.then.settled)

    @property
    def deferral(self) -> Outcome | None:
        """The unsettled part to act on (this outcome, or its deferred follow-up), if any."""
        if self.result in UNSETTLED:
            return self
        return self.then.deferral if self.then is not None else None
