"""Use case: feed history to IngestQueue — call logs for a date range, and/or spam reports for a list of
numbers — checkpointed, resumable, and never enqueuing a record twice for the same input.

    Backfill(...).run(request, owner=..., time_left=..., on_progress=...) -> BackfillResult

The checkpoint (ports.CheckpointStore) is keyed by a hash of the normalised input (backfill_plan.input_key):
- A completed input is a no-op: the same request again returns the stored totals and enqueues nothing.
- A run holds a lease on the checkpoint (renewed by every write); a second run of the same input while the
  lease holds answers `busy` without touching anything.
- Spam reports are enqueued in batches, `numbers_done` advancing after each.
- Call logs: windows (planned once, stored in the checkpoint) are fetched oldest first, page after page.
  One Heavy permit per page. After each page: its records' ids are stored (add_page_ids), then the
  checkpoint (page token, window index, counters). Zoom's page tokens expire after 15 minutes: a stored
  token older than `token_ttl_s`, or one Zoom refuses, restarts the window from its first page, and the
  ids stored for that window keep every record from being enqueued twice.
- The run stops cleanly, checkpoint saved and lease released, on a refused permit it cannot wait out (the
  daily allowance spent, a 429 penalty, a window full for longer than `max_wait_s`), on Zoom being
  unavailable, and when the invocation is about to run out of time. The next run resumes there.

A crash between enqueueing a page and writing its checkpoint makes the next run enqueue that page again:
delivery to IngestQueue is at least once. The scorer keys call evidence by the call-log id
(domain/evidence.merge), so a repeated record never counts twice.

`dry_run` reads the checkpoint and asks Zoom for one record per remaining window (its `total_records`),
under the same permits, and reports counts; it writes and enqueues nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from spam_blocker.clock import Clock, iso
from spam_blocker.domain.backfill_plan import (
    DONE,
    PAUSED,
    RUNNING,
    BackfillCheckpoint,
    BackfillRequest,
    Window,
    input_key,
    plan_windows,
    record_identity,
    still_available,
)
from spam_blocker.domain.rate_window import DAILY
from spam_blocker.observability import logger, metrics
from spam_blocker.ports import CheckpointStore, Queue, RateLimiter, StoreConflict, ZoomPhone
from spam_blocker.services.permits import Permits
from spam_blocker.zoom.errors import (
    ZoomInvalid,
    ZoomRateLimited,
    ZoomServerError,
    ZoomTransportError,
)

HEAVY = "Heavy"
DAILY_LIMIT, RATE_LIMITED, OUT_OF_TIME, ZOOM_UNAVAILABLE = "daily_limit", "rate_limited", "time", "zoom_unavailable"


@dataclass(frozen=True)
class BackfillOptions:
    window_days: int = 7  # call-log windows of at most this many days (and at most a month: Zoom's rule)
    page_size: int = 300  # Zoom's maximum for call logs
    max_wait_s: float = 5.0  # a full per-second window freeing within this is waited out; longer pauses
    token_ttl_s: float = 14 * 60  # a stored page token older than this is not tried (Zoom: 15 minutes)
    lease_s: float = 16 * 60  # a run holds the checkpoint this long past its last write
    min_time_left_s: float = 20.0  # stop cleanly when the invocation has less time than this left
    report_batch: int = 500  # spam reports per checkpoint write
    max_qps_429_waits: int = 3  # per-second 429s waited out in a row before pausing


@dataclass
class BackfillResult:
    status: str  # done | paused | busy | dry_run
    input_key: str
    dry_run: bool = False
    already_done: bool = False
    windows: int = 0
    windows_done: int = 0
    pages: int = 0
    call_logs_seen: int = 0
    call_logs_enqueued: int = 0
    duplicates_skipped: int = 0
    numbers: int = 0
    reports_enqueued: int = 0
    paused_reason: str | None = None
    resume_at: str | None = None
    notes: list[str] = field(default_factory=list)
    this_run: dict[str, int] = field(default_factory=dict)
    estimate: dict[str, Any] = field(default_factory=dict)  # dry run: what a run would do

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.dry_run:
            data.pop("estimate")
        return data


class _Pause(Exception):
    def __init__(self, reason: str, resume_at: datetime | None = None, note: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.resume_at = resume_at
        self.note = note


class Backfill:
    def __init__(self, *, zoom: ZoomPhone, queue: Queue, checkpoints: CheckpointStore, limiter: RateLimiter,
                 clock: Clock, sleep: Callable[[float], None], options: BackfillOptions = BackfillOptions()) -> None:
        self.zoom = zoom
        self.queue = queue
        self.checkpoints = checkpoints
        self.limiter = limiter
        self.clock = clock
        self.sleep = sleep
        self.options = options

    def run(self, request: BackfillRequest, *, owner: str, time_left: Callable[[], float] | None = None,
            on_progress: Callable[[dict[str, Any]], None] | None = None) -> BackfillResult:
        """`request` normalised (backfill_plan.parse_request). Raises BackfillInputError for a range Zoom
        cannot answer for at all, ZoomAuthFailed when Zoom refuses the credentials."""
        permits = Permits(self.limiter, self.clock, max_wait_s=self.options.max_wait_s, sleep=self.sleep)
        key = input_key(request)
        stored = self.checkpoints.get(key)
        if request.dry_run:
            return self._dry_run(request, key, stored, permits)
        if stored is not None and stored.done:
            logger.info("backfill already done", extra={"input_key": key})
            return _result(stored, DONE, already_done=True, numbers=len(request.phone_numbers))
        now = self.clock.now()
        if stored is not None and stored.leased_to_other(owner, now):
            busy = _result(stored, "busy", numbers=len(request.phone_numbers))
            busy.resume_at = iso(stored.lease_until) if stored.lease_until else None  # when its lease lapses
            return busy
        run = _Run(self, request, key, owner, permits, time_left, on_progress)
        try:
            run.claim(stored or self._new_checkpoint(request, key, now))
        except StoreConflict:
            return BackfillResult("busy", key, numbers=len(request.phone_numbers))
        return run.execute()

    def _new_checkpoint(self, request: BackfillRequest, key: str, now: datetime) -> BackfillCheckpoint:
        windows: tuple[Window, ...] = ()
        notes: tuple[str, ...] = ()
        if request.has_range:
            plan = plan_windows(request.date_from, request.date_to, now.date(), self.options.window_days)
            windows, notes = plan.windows, plan.notes
        return BackfillCheckpoint(key=key, request=request.identity(), windows=windows, notes=notes,
                                  reported_at=request.reported_at or now, created_at=now, updated_at=now)

    # --- dry run -----------------------------------------------------------------------------------------

    def _dry_run(self, request: BackfillRequest, key: str, stored: BackfillCheckpoint | None,
                 permits: Permits) -> BackfillResult:
        now = self.clock.now()
        checkpoint = stored or self._new_checkpoint(request, key, now)
        result = _result(checkpoint, "dry_run", numbers=len(request.phone_numbers))
        result.dry_run = True
        result.already_done = checkpoint.done
        estimate: dict[str, Any] = {"checkpoint": stored.status if stored else None,
                                    "reports_to_enqueue": 0 if checkpoint.done else
                                    len(request.phone_numbers) - checkpoint.numbers_done,
                                    "windows_to_fetch": 0, "windows_counted": 0, "call_logs_in_range": 0,
                                    "requests_estimate": 0, "counts_complete": True}
        if not checkpoint.done:
            remaining = list(enumerate(checkpoint.windows))[checkpoint.window_index:]
            estimate["windows_to_fetch"] = len(remaining)
            for _, window in remaining:
                available = still_available(window, now.date())
                if available is None:
                    continue
                grant = permits.take(HEAVY)
                if not grant.granted:
                    estimate["counts_complete"] = False
                    estimate["stopped"] = f"no {HEAVY} permit ({grant.reason}) until {iso(grant.retry_at)}"
                    break
                try:
                    page = self.zoom.call_logs_page(date_from=available.start, date_to=available.end, page_size=1)
                except ZoomRateLimited as exc:
                    permits.penalize(exc.category, exc.retry_at, exc.limit_type)
                    estimate["counts_complete"] = False
                    estimate["stopped"] = f"Zoom answered 429 ({exc.limit_type}) until {iso(exc.retry_at)}"
                    break
                total = page.total_records if page.total_records is not None else len(page.call_logs)
                estimate["windows_counted"] += 1
                estimate["call_logs_in_range"] += total
                estimate["requests_estimate"] += max(1, math.ceil(total / self.options.page_size))
        result.estimate = estimate
        return result


class _TokenRefused(Exception):
    """Zoom refused a page token (expired or unknown): the window starts again from its first page."""


class _WindowRefused(Exception):
    """Zoom refused the window itself (400): it is skipped, with a note."""


class _Run:
    """One invocation's work on one checkpoint. `self.checkpoint` is always the last state written."""

    def __init__(self, service: Backfill, request: BackfillRequest, key: str, owner: str, permits: Permits,
                 time_left: Callable[[], float] | None,
                 on_progress: Callable[[dict[str, Any]], None] | None) -> None:
        self.s = service
        self.request = request
        self.key = key
        self.owner = owner
        self.permits = permits
        self.time_left = time_left
        self.on_progress = on_progress
        self.checkpoint: BackfillCheckpoint | None = None
        self.this_run = {"pages": 0, "call_logs_enqueued": 0, "reports_enqueued": 0, "duplicates_skipped": 0}

    # --- checkpoint writes ---------------------------------------------------------------------------------

    def _save(self, checkpoint: BackfillCheckpoint, **changes: Any) -> BackfillCheckpoint:
        """Write (conditional on the version; StoreConflict if another run took the checkpoint over), holding
        the lease while running and releasing it on done/paused."""
        now = self.s.clock.now()
        lease = {"owner": self.owner, "lease_until": now + timedelta(seconds=self.s.options.lease_s)}
        if changes.get("status") in (DONE, PAUSED):
            lease = {"owner": None, "lease_until": None}
        self.checkpoint = self.s.checkpoints.save(replace(checkpoint, **{**lease, **changes, "updated_at": now}))
        return self.checkpoint

    def _advance(self, **changes: Any) -> BackfillCheckpoint:
        assert self.checkpoint is not None
        return self._save(self.checkpoint, **changes)

    def claim(self, checkpoint: BackfillCheckpoint) -> BackfillCheckpoint:
        return self._save(checkpoint, status=RUNNING, paused_reason=None, resume_at=None)

    def _release(self) -> None:
        """Best effort after an unexpected failure: the next run may start at once, not after the lease."""
        if self.checkpoint is None:
            return
        try:
            self.s.checkpoints.save(replace(self.checkpoint, owner=None, lease_until=None,
                                            updated_at=self.s.clock.now()))
        except Exception:  # the original error matters more
            logger.exception("could not release the backfill lease", extra={"input_key": self.key})

    # --- the work --------------------------------------------------------------------------------------------

    def execute(self) -> BackfillResult:
        try:
            self._reports()
            while self.checkpoint.window_index < len(self.checkpoint.windows):
                self._window()
        except _Pause as pause:
            notes = self.checkpoint.notes + ((pause.note,) if pause.note else ())
            self._advance(status=PAUSED, paused_reason=pause.reason, resume_at=pause.resume_at, notes=notes)
            logger.info("backfill paused", extra={"input_key": self.key, "reason": pause.reason,
                                                  "resume_at": iso(pause.resume_at) if pause.resume_at else None})
            metrics.add_metric(name="BackfillPaused", unit="Count", value=1)
            return self._finish(PAUSED)
        except StoreConflict:
            logger.warning("backfill checkpoint taken over by another run", extra={"input_key": self.key})
            self.checkpoint = self.s.checkpoints.get(self.key) or self.checkpoint
            return self._finish("busy")
        except BaseException:
            self._release()
            raise
        self._advance(status=DONE, page_token=None, token_at=None)
        logger.info("backfill done", extra={"input_key": self.key, **self.this_run})
        return self._finish(DONE)

    def _check_time(self) -> None:
        if self.time_left is not None and self.time_left() < self.s.options.min_time_left_s:
            raise _Pause(OUT_OF_TIME)

    def _finish(self, status: str) -> BackfillResult:
        for name, value in (("BackfillCallLogsEnqueued", self.this_run["call_logs_enqueued"]),
                            ("BackfillReportsEnqueued", self.this_run["reports_enqueued"]),
                            ("BackfillPages", self.this_run["pages"])):
            if value:
                metrics.add_metric(name=name, unit="Count", value=value)
        result = _result(self.checkpoint, status, numbers=len(self.request.phone_numbers))
        result.this_run = dict(self.this_run)
        return result

    def _progress(self, **extra: Any) -> None:
        if self.on_progress is not None:
            c = self.checkpoint
            self.on_progress({"windows": len(c.windows), "windows_done": min(c.window_index, len(c.windows)),
                              "pages": c.pages, "call_logs_enqueued": c.call_logs_enqueued,
                              "reports_enqueued": c.reports_enqueued, "numbers": len(self.request.phone_numbers),
                              **extra})

    # --- spam reports ----------------------------------------------------------------------------------------

    def _reports(self) -> None:
        numbers = self.request.phone_numbers
        reported_at = iso(self.checkpoint.reported_at or self.s.clock.now())
        while self.checkpoint.numbers_done < len(numbers):
            self._check_time()
            done = self.checkpoint.numbers_done
            batch = numbers[done:done + self.s.options.report_batch]
            self.s.queue.send_many(_report_body(n, self.request, reported_at) for n in batch)
            self.this_run["reports_enqueued"] += len(batch)
            self._advance(numbers_done=done + len(batch),
                          reports_enqueued=self.checkpoint.reports_enqueued + len(batch))
            self._progress(phase="reports")

    # --- call logs -------------------------------------------------------------------------------------------

    def _window(self) -> None:
        """Fetch the current window to its end (or raise _Pause); the checkpoint ends past it."""
        index = self.checkpoint.window_index
        planned = self.checkpoint.windows[index]
        window = still_available(planned, self.s.clock.now().date())
        if window is None:
            note = f"window {planned.describe()} skipped: older than Zoom's six months by the time it was reached"
            self._next_window(index, note)
            return
        token = self.checkpoint.page_token
        if token is not None and not self._token_fresh():
            logger.info("page token too old; restarting the window", extra={"window": window.describe()})
            self._advance(page_token=None, token_at=None, window_restarts=self.checkpoint.window_restarts + 1)
            token = None
        seen = self.s.checkpoints.window_ids(self.key, index)
        token_refused = False
        while True:
            self._check_time()
            try:
                page = self._fetch(window, token)
            except _TokenRefused:
                if token_refused:
                    raise _Pause(ZOOM_UNAVAILABLE, note=f"Zoom kept refusing page tokens for {window.describe()}") from None
                token_refused, token = True, None
                self._advance(page_token=None, token_at=None, window_restarts=self.checkpoint.window_restarts + 1)
                continue
            except _WindowRefused as refused:
                self._next_window(index, str(refused))
                return
            token = self._enqueue_page(index, window, page, seen)
            if token is None:
                return

    def _next_window(self, index: int, note: str) -> None:
        self._advance(window_index=index + 1, page_token=None, token_at=None, window_restarts=0,
                      notes=self.checkpoint.notes + (note,))

    def _enqueue_page(self, index: int, window: Window, page: Any, seen: set[str]) -> str | None:
        """Enqueue the page's records not enqueued before, record their ids, then the checkpoint. Returns
        the next page token (None at the window's end)."""
        records = list(page.call_logs)
        fresh: list[dict[str, Any]] = []
        fresh_ids: list[str] = []
        for record in records:
            identity = record_identity(record)
            if identity not in seen:
                seen.add(identity)
                fresh.append(record)
                fresh_ids.append(identity)
        if fresh:
            self.s.queue.send_many(_call_log_body(r) for r in fresh)
        now = self.s.clock.now()
        c = self.checkpoint
        self.s.checkpoints.add_page_ids(self.key, index, c.pages + 1, fresh_ids, now)
        duplicates = len(records) - len(fresh)
        self.this_run["pages"] += 1
        self.this_run["call_logs_enqueued"] += len(fresh)
        self.this_run["duplicates_skipped"] += duplicates
        token = page.next_page_token or None
        self._advance(pages=c.pages + 1, call_logs_seen=c.call_logs_seen + len(records),
                      call_logs_enqueued=c.call_logs_enqueued + len(fresh),
                      duplicates_skipped=c.duplicates_skipped + duplicates,
                      page_token=token, token_at=now if token else None,
                      window_index=index if token else index + 1,
                      window_restarts=c.window_restarts if token else 0)
        self._progress(phase="call_logs", window=window.describe(), page_records=len(records),
                       page_enqueued=len(fresh))
        return token

    def _token_fresh(self) -> bool:
        token_at = self.checkpoint.token_at
        if token_at is None:
            return False
        age = (self.s.clock.now() - token_at).total_seconds()
        return 0 <= age < self.s.options.token_ttl_s

    def _fetch(self, window: Window, token: str | None) -> Any:
        """One page of call logs under a Heavy permit. Raises _Pause, _TokenRefused or _WindowRefused."""
        qps_waits = 0
        while True:
            grant = self.permits.take(HEAVY)
            if not grant.granted:
                raise _Pause(DAILY_LIMIT if grant.reason == DAILY else RATE_LIMITED, grant.retry_at)
            try:
                return self.s.zoom.call_logs_page(date_from=window.start, date_to=window.end,
                                                  next_page_token=token, page_size=self.s.options.page_size)
            except ZoomRateLimited as exc:
                self.permits.penalize(exc.category, exc.retry_at, exc.limit_type)
                wait = (exc.retry_at - self.s.clock.now()).total_seconds()
                if exc.is_daily or wait > self.s.options.max_wait_s or qps_waits >= self.s.options.max_qps_429_waits:
                    raise _Pause(DAILY_LIMIT if exc.is_daily else RATE_LIMITED, exc.retry_at) from None
                qps_waits += 1
                self.s.sleep(max(wait, 0.0))
            except ZoomInvalid as exc:
                if token is not None:
                    logger.info("Zoom refused a page token; restarting the window",
                                extra={"window": window.describe(), "error": exc.message})
                    raise _TokenRefused() from None
                logger.warning("Zoom refused a call-log window", extra={"window": window.describe(),
                                                                         "error": exc.message})
                metrics.add_metric(name="BackfillWindowsRefused", unit="Count", value=1)
                raise _WindowRefused(f"window {window.describe()} skipped: Zoom refused it ({exc.message})") from None
            except (ZoomServerError, ZoomTransportError) as exc:
                raise _Pause(ZOOM_UNAVAILABLE, getattr(exc, "retry_at", None),
                             note=f"Zoom unavailable during {window.describe()}: {exc.message}") from None


def _call_log_body(record: dict[str, Any]) -> str:
    return json.dumps({"type": "call_log", "call_log": record}, separators=(",", ":"))


def _report_body(number: str, request: BackfillRequest, reported_at: str) -> str:
    event: dict[str, Any] = {"type": "spam_report", "phone_number": number, "reporter": request.reporter,
                             "reported_at": reported_at}
    if request.reason:
        event["reason"] = request.reason
    return json.dumps(event, separators=(",", ":"))


def _result(checkpoint: BackfillCheckpoint, status: str, *, already_done: bool = False,
            numbers: int = 0) -> BackfillResult:
    return BackfillResult(
        status=status, input_key=checkpoint.key, already_done=already_done, windows=len(checkpoint.windows),
        windows_done=min(checkpoint.window_index, len(checkpoint.windows)), pages=checkpoint.pages,
        call_logs_seen=checkpoint.call_logs_seen, call_logs_enqueued=checkpoint.call_logs_enqueued,
        duplicates_skipped=checkpoint.duplicates_skipped, numbers=numbers,
        reports_enqueued=checkpoint.reports_enqueued, paused_reason=checkpoint.paused_reason,
        resume_at=iso(checkpoint.resume_at) if checkpoint.resume_at else None, notes=list(checkpoint.notes))
