"""Use case: the expirer's run — renew due blocks whose evidence is still fresh, take the others out of Zoom.

    ExpireBlocks(...).run(now, dry_run=False) -> ExpiryReport

- Due blocks come from the `by_expiry` index (BlockStateStore.due_for_expiry: our active blocks with
  `expires_at <= now`, soonest first), at most `max_per_run` per run; the rest wait for the next run.
  Only our active blocks are in that index: an `external` row (a person's entry) is never touched.
- Freshness is `domain/renewal.assess` over the Evidence table (one Query per exchange, shared by the blocks
  of a run) and the allowlist / own numbers. Renewed: a new `expires_at`, `decided_at` = now, the reason
  replaced by the renewal's explanation (the first decision's reason and time kept in `evidence`).
- Not fresh: BlockRemover (services/remove_block.py, shared with the blocker) takes one Light permit, DELETEs
  the entry (or PATCHes it inactive: EXPIRY_ACTION=deactivate) and moves the row to `expired`. Zoom's
  not-found counts as done.
- A refused permit (or a 429) ends the run early and cleanly: the blocks not reached are `deferred` and stay
  due. Three Zoom failures in a row (5xx, transport) end it too.
- `now` is the run's business time (an EventBridge Scheduler time, the local runner's `--expire-at`); the
  limiter's permits are taken on the service's clock (wall time in AWS), shared with the blocker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from spam_blocker.clock import Clock, iso
from spam_blocker.domain.block_state import BlockRecord, BlockState
from spam_blocker.domain.evidence import NumberEvidence
from spam_blocker.domain.renewal import DEFAULT_RENEWAL, RenewalPolicy, Verdict, assess, evidence_exchanges
from spam_blocker.observability import logger, metrics
from spam_blocker.ports import (
    BlockStateStore,
    EvidenceStore,
    ListSource,
    RateLimiter,
    StoreConflict,
    StoreUnavailable,
)
from spam_blocker.services.outcomes import Result
from spam_blocker.services.permits import Permits
from spam_blocker.services.remove_block import BlockRemover

MAX_ZOOM_FAILURES_IN_A_ROW = 3
DETAILS_MAX = 200


@dataclass
class ExpiryReport:
    now: str
    dry_run: bool = False
    due: int = 0
    more_due: bool = False  # more blocks were due than one run takes
    renewed: int = 0
    expired: int = 0
    deferred: int = 0  # not reached: rate limit or Zoom failures ended the run
    failed: int = 0  # Zoom refused or failed the removal, or the evidence could not be read: still due
    skipped: int = 0  # moved by someone else meanwhile
    stopped: str | None = None  # why the run ended early
    resume_at: str | None = None
    details: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _note(self, record: BlockRecord, action: str, text: str) -> None:
        if len(self.details) < DETAILS_MAX:
            self.details.append({"block": record.key.as_id(), "action": action, "detail": text})


class ExpireBlocks:
    def __init__(self, *, store: BlockStateStore, evidence: EvidenceStore, lists: ListSource, remover: BlockRemover,
                 limiter: RateLimiter, clock: Clock, sleep: Callable[[float], None] | None = None,
                 policy: RenewalPolicy = DEFAULT_RENEWAL, max_per_run: int = 100, max_wait_s: float = 0.0) -> None:
        if max_per_run < 1:
            raise ValueError("max_per_run must be at least 1")
        self.store = store
        self.evidence = evidence
        self.lists = lists
        self.remover = remover
        self.limiter = limiter
        self.clock = clock
        self.sleep = sleep
        self.policy = policy
        self.max_per_run = max_per_run
        self.max_wait_s = max_wait_s if sleep is not None else 0.0

    def run(self, now: datetime, *, dry_run: bool = False) -> ExpiryReport:
        report = ExpiryReport(now=iso(now), dry_run=dry_run)
        due = self.store.due_for_expiry(now, limit=self.max_per_run + 1)
        report.more_due = len(due) > self.max_per_run
        due = due[: self.max_per_run]
        report.due = len(due)
        if not due:
            return self._done(report)
        lists = self.lists.current()
        exchanges: dict[str, dict[str, NumberEvidence]] = {}
        permits = Permits(self.limiter, self.clock, max_wait_s=self.max_wait_s, sleep=self.sleep)
        zoom_failures = 0
        for position, record in enumerate(due):
            if record.state is not BlockState.ACTIVE or not record.zoom_id:
                report.skipped += 1  # the index only holds our active blocks; never touch anything else
                continue
            try:
                view = self._view(record, exchanges)
            except StoreUnavailable as exc:
                report.failed += 1
                report._note(record, "failed", f"evidence unavailable: {exc}")
                continue
            verdict = assess(record.key, record.decided_at, view, lists, now, self.policy)
            if verdict.renew:
                self._renew(record, verdict, now, report, dry_run)
                continue
            if dry_run:
                report.expired += 1
                report._note(record, "would expire", verdict.explanation)
                continue
            outcome = self.remover.remove(record, to_state=BlockState.EXPIRED, ended_reason=verdict.explanation,
                                          permits=permits)
            if outcome.result is Result.REMOVED:
                zoom_failures = 0
                report.expired += 1
                report._note(record, "expired", verdict.explanation)
                logger.info("block expired", extra={"block_id": record.key.as_id(), "zoom_id": record.zoom_id,
                                                    "explanation": verdict.explanation})
            elif outcome.result is Result.LIMITED:
                report.deferred += len(due) - position
                report.stopped = f"rate limit: {outcome.detail}"
                report.resume_at = iso(outcome.retry_at) if outcome.retry_at else None
                break
            else:  # RETRY (5xx, transport, moved meanwhile) or FAILED (Zoom refused): still due next run
                report.failed += 1
                report._note(record, "failed", outcome.detail)
                zoom_failures = zoom_failures + 1 if outcome.result is Result.RETRY else 0
                if zoom_failures >= MAX_ZOOM_FAILURES_IN_A_ROW:
                    report.deferred += len(due) - position - 1
                    report.stopped = f"Zoom failing: {outcome.detail}"
                    break
        return self._done(report)

    def _view(self, record: BlockRecord, cache: dict[str, dict[str, NumberEvidence]]) -> dict[str, NumberEvidence]:
        view: dict[str, NumberEvidence] = {}
        for exchange in evidence_exchanges(record.key):
            if exchange not in cache:
                cache[exchange] = self.evidence.query_exchange(exchange)
            view.update(cache[exchange])
        return view

    def _renew(self, record: BlockRecord, verdict: Verdict, now: datetime, report: ExpiryReport,
               dry_run: bool) -> None:
        if dry_run:
            report.renewed += 1
            report._note(record, "would renew", verdict.explanation)
            return
        evidence = dict(record.evidence)
        evidence.setdefault("first_reason", record.reason)
        if record.decided_at is not None:
            evidence.setdefault("first_decided_at", iso(record.decided_at))
        evidence["renewals"] = int(evidence.get("renewals", 0)) + 1
        evidence["renewal"] = {"at": iso(now), **verdict.signals}
        target = replace(record, expires_at=verdict.expires_at, decided_at=now, updated_at=self.clock.now(),
                         reason=verdict.explanation, evidence=evidence)
        try:
            self.store.transition(record, target)
        except StoreConflict:
            report.skipped += 1
            report._note(record, "skipped", "the block moved meanwhile")
            return
        report.renewed += 1
        report._note(record, "renewed", verdict.explanation)
        logger.info("block renewed", extra={"block_id": record.key.as_id(), "explanation": verdict.explanation})

    @staticmethod
    def _done(report: ExpiryReport) -> ExpiryReport:
        if report.dry_run:
            return report
        for name, value in (("BlocksRenewed", report.renewed), ("BlocksExpired", report.expired),
                            ("ExpiryDeferred", report.deferred), ("ExpiryFailed", report.failed)):
            if value:
                metrics.add_metric(name=name, unit="Count", value=value)
        return report
