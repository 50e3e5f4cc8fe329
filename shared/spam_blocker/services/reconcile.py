"""Use case: reconcile the Blocks table with Zoom's blocked list (Zoom is the shared truth).

    reconcile(zoom, store, limiter=None, clock=..., *, dry_run=False) -> ReconcileReport

1. List Zoom's blocked list (GET /phone/blocked_list, Medium): one permit per page when a limiter is given
   (none locally: the runner calls this at start without one). A refused permit or a 429 leaves the listing
   incomplete: entries seen are still adopted or recorded, but nothing is concluded from an absence.
2. Read the rows of every listed key and every blocking row of the table (BlockInventory).
3. `domain/drift.plan_repairs` decides; this applies the repairs, each a conditional write from the row as
   read (a row that moved meanwhile is left for the next run), and deletes our own duplicate or stale
   entries from Zoom (Light permits). A person's entry is never changed in Zoom.
4. Counts go to the report and to metrics (`Drift<Kind>`).

`dry_run` lists and plans, then writes and deletes nothing. `zoom_writes=False` repairs the table but never
changes Zoom (a local dry run adopting into its own fresh table). `now` is the time repaired rows count from
(default: the clock's; the local runner passes event time, while permits keep the clock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from spam_blocker.clock import Clock, iso
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord, BlockState, is_ours
from spam_blocker.domain.drift import (
    DEFAULT_ADOPTION,
    AdoptionPolicy,
    Repair,
    ZoomEntry,
    entry_key,
    plan_repairs,
)
from spam_blocker.domain.rate_window import RateGrant
from spam_blocker.observability import logger, metrics
from spam_blocker.ports import BlockInventory, BlockStateStore, RateLimiter, StoreConflict, ZoomPhone
from spam_blocker.services.blocked_list_pages import LIST_CATEGORY, ListingStopped, listed_entries
from spam_blocker.services.permits import Permits
from spam_blocker.zoom.errors import ZoomError, ZoomNotFound, ZoomRateLimited

WRITE_CATEGORY = "Light"
LIST_429_WAITS = 5  # with a sleep: 429s waited out while listing, each resuming at its page
DETAILS_MAX = 200
_METRICS = {
    "adopt": "DriftAdopted", "external": "DriftExternalRecorded", "relink": "DriftRelinked",
    "removed": "DriftRemovedInPortal", "external_removed": "DriftExternalRemoved", "readopt": "DriftReadopted",
    "delete_duplicate": "DriftDuplicatesDeleted", "delete_stale": "DriftStaleDeleted",
    "external_unrecorded": "DriftExternalUnrecorded",
}


class ReconcileStore(BlockStateStore, BlockInventory, Protocol):
    pass


class NoLimits:
    """A RateLimiter that always grants: for callers without a shared limiter (the local runner's start)."""

    def acquire(self, category: str, now: datetime, *, wait_up_to_s: float = 0.0) -> RateGrant:
        return RateGrant(True)

    def penalize(self, category: str, until: datetime, limit_type: str) -> None:
        return None

    def foresee(self, category: str, now: datetime, *, wait_up_to_s: float = 0.0) -> RateGrant | None:
        return None


@dataclass
class ReconcileReport:
    dry_run: bool = False
    complete: bool = True  # the whole list was read
    stopped: str | None = None  # why the listing or the deletes stopped early
    listed: int = 0  # entries in Zoom's list (read)
    ours: int = 0  # active entries carrying our tag
    theirs: int = 0  # active entries a person made
    ignored: int = 0  # inactive entries, and entries of a shape we do not block with
    in_sync: int = 0
    adopted: int = 0
    external_recorded: int = 0
    relinked: int = 0
    removed: int = 0  # our entries a person deleted or deactivated: rows marked removed
    external_removed: int = 0
    readopted: int = 0
    duplicates_deleted: int = 0
    stale_deleted: int = 0
    external_unrecorded: int = 0
    pending: int = 0  # rows the blocker is working on: left alone
    unverified: int = 0  # absences not concluded (incomplete listing, or a row newer than the listing)
    conflicts: int = 0  # rows that moved while being repaired: next run
    errors: int = 0
    details: list[dict[str, str]] = field(default_factory=list)
    entry_ids: set[str] = field(default_factory=set)  # every entry listed, inactive ones too (not in as_dict)

    @property
    def drift(self) -> int:
        return (self.adopted + self.external_recorded + self.relinked + self.removed + self.external_removed
                + self.readopted + self.duplicates_deleted + self.stale_deleted + self.external_unrecorded)

    def as_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        del fields["entry_ids"]
        return {**fields, "drift": self.drift}


_COUNTERS = {
    "adopt": "adopted", "external": "external_recorded", "relink": "relinked", "removed": "removed",
    "external_removed": "external_removed", "readopt": "readopted", "delete_duplicate": "duplicates_deleted",
    "delete_stale": "stale_deleted", "external_unrecorded": "external_unrecorded",
}


def reconcile(zoom: ZoomPhone, store: ReconcileStore, limiter: RateLimiter | None = None, clock: Clock | None = None,
              *, dry_run: bool = False, adoption: AdoptionPolicy = DEFAULT_ADOPTION, page_size: int = 100,
              max_wait_s: float = 0.0, sleep: Callable[[float], None] | None = None, zoom_writes: bool = True,
              now: datetime | None = None) -> ReconcileReport:
    """See the module docstring. `limiter` may be None (no permits); `clock` is required (positionally or
    as `clock=`). Zoom errors other than 429 while listing propagate (ZoomAuthFailed: the credentials are
    refused; ZoomServerError / ZoomTransportError: Zoom unavailable)."""
    if clock is None:
        raise TypeError("reconcile() needs a clock")
    permits = Permits(limiter or NoLimits(), clock, max_wait_s=max_wait_s if sleep else 0.0, sleep=sleep)
    report = ReconcileReport(dry_run=dry_run)
    started = clock.now()
    entries = _list(zoom, permits, clock, page_size, report, sleep)
    records: dict[BlockKey, BlockRecord] = {r.key: r for r in store.blocking_records()}
    listed_keys = {e.key for e in entries}
    records.update(store.get_many(listed_keys))
    now = clock.now() if now is None else now
    plan = plan_repairs(entries, records, now=now, listing_started_at=started, complete=report.complete,
                        adoption=adoption)
    report.in_sync, report.pending, report.unverified = plan.in_sync, plan.pending, plan.unverified
    report.ignored += plan.ignored
    zoom_ok = True
    for repair in plan.repairs:
        if dry_run:
            _count(report, repair, "would " + repair.kind)
            continue
        if repair.kind == "external_unrecorded":
            logger.warning("a person's entry blocks a number whose row has ended", extra={
                "block_id": repair.key.as_id(), "zoom_id": repair.zoom_id})
            _count(report, repair, repair.kind)
        elif repair.kind in ("delete_duplicate", "delete_stale"):
            if not zoom_writes:
                _count(report, repair, "would " + repair.kind)
            elif zoom_ok:
                zoom_ok = _delete(zoom, permits, repair, report)
        else:
            _write(store, repair, report)
    if not dry_run:
        metrics.add_metric(name="ZoomBlockedListSize", unit="Count", value=report.listed)
        for kind, name in _METRICS.items():
            value = getattr(report, _COUNTERS[kind])
            if value:
                metrics.add_metric(name=name, unit="Count", value=value)
    logger.info("reconciled", extra={k: v for k, v in report.as_dict().items() if k != "details"})
    return report


def _list(zoom: ZoomPhone, permits: Permits, clock: Clock, page_size: int, report: ReconcileReport,
          sleep: Callable[[float], None] | None) -> list[ZoomEntry]:
    entries: list[ZoomEntry] = []
    listing = listed_entries(zoom, permits, clock, page_size=page_size, sleep=sleep,
                             max_429_waits=LIST_429_WAITS if sleep is not None else 0)
    try:
        for entry in listing:
            report.listed += 1
            report.entry_ids.add(entry.id)
            key = entry_key(entry.match_type, entry.phone_number, entry.block_type)
            active = entry.status in (None, "active")
            if key is None:
                report.ignored += 1
            else:
                ours = is_ours(entry.comment)
                if active:
                    report.ours += int(ours)
                    report.theirs += int(not ours)
                entries.append(ZoomEntry(entry.id, key, active, ours, entry.comment or ""))
    except ListingStopped as stop:
        report.complete = False
        report.stopped = (f"listing stopped after {report.listed} entries: no {LIST_CATEGORY} permit "
                          f"({stop.grant.reason}) until {iso(stop.grant.retry_at)}")
    except ZoomRateLimited as exc:
        report.complete = False
        report.stopped = f"listing stopped: Zoom answered 429 ({exc.limit_type}) until {iso(exc.retry_at)}"
    return entries


def _count(report: ReconcileReport, repair: Repair, action: str) -> None:
    counter = _COUNTERS[repair.kind]
    setattr(report, counter, getattr(report, counter) + 1)
    if len(report.details) < DETAILS_MAX:
        report.details.append({"block": repair.key.as_id(), "action": action, "detail": repair.detail,
                               **({"zoom_id": repair.zoom_id} if repair.zoom_id else {})})


def _write(store: BlockStateStore, repair: Repair, report: ReconcileReport) -> None:
    try:
        if repair.kind == "readopt":
            pending = store.transition(repair.expected, replace(repair.target, state=BlockState.PENDING))
            store.transition(pending, repair.target)
        else:
            store.transition(repair.expected, repair.target)
    except StoreConflict:
        report.conflicts += 1
        logger.info("row moved while reconciling; next run", extra={"block_id": repair.key.as_id()})
        return
    logger.info("drift repaired", extra={"block_id": repair.key.as_id(), "repair": repair.kind,
                                         "detail": repair.detail})
    _count(report, repair, repair.kind)


def _delete(zoom: ZoomPhone, permits: Permits, repair: Repair, report: ReconcileReport) -> bool:
    """Delete one of our own entries; False when Zoom should not be asked again this run."""
    grant = permits.take(WRITE_CATEGORY)
    if not grant.granted:
        report.stopped = f"deletes stopped: no {WRITE_CATEGORY} permit ({grant.reason})"
        return False
    try:
        zoom.delete_blocked(repair.zoom_id)
    except ZoomNotFound:
        pass
    except ZoomRateLimited as exc:
        permits.penalize(exc.category, exc.retry_at, exc.limit_type)
        report.stopped = f"deletes stopped: Zoom answered 429 ({exc.limit_type})"
        return False
    except ZoomError as exc:
        report.errors += 1
        logger.warning("could not delete our entry", extra={"zoom_id": repair.zoom_id, "error": str(exc)})
        return True
    _count(report, repair, repair.kind)
    return True
