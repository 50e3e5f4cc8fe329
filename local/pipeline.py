"""`spam-blocker run`: the whole pipeline on one machine, driven the way AWS drives it.

    events.jsonl --(feeder, bounded chunks)--> IngestQueue --(ESM, scorer pollers)--> scorer
        --> BlockQueue --(ESM, blocker pollers)--> blocker --> Zoom
    [--expire-at ISO] --> expirer (clock = ISO)

AWS is moto in-process; Zoom is whatever ZOOM_API_URL names (or our emulator). The real handlers run
unmodified: their settings come from the environment, as in Lambda, and the local event-source mapping
calls them with Lambda-shaped events and contexts. A dry run reads Zoom's list, copies it into a local
emulator and makes the run against the copy (`Pipeline._rehearsal`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from spam_blocker.adapters.sqs_queue import SqsQueue

from local.esm_loop import EventSourceMapping, LambdaContext
from local.event_file import Line, check_readable, count_events, event_time_bounds, iter_lines, not_utf8
from local.local_aws import LocalAws, LocalResources
from local.log_streams import point
from local.progress import Progress
from local.zoom_access import ZoomAccess


class RunFailed(Exception):
    """A run that cannot start or go on; `exit_code` says why (2 bad input, 3 Zoom refused/unreachable)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class RunOptions:
    events: Path | None  # None: events come from a live source (serve-webhook), not a file
    follow: Path | None = None  # serve-webhook: contract events appended to this file are fed too (tail -f)
    allowlist: Path | None = None
    own_numbers: Path | None = None
    expire_at: datetime | None = None
    dry_run: bool = False
    region: str = "US"
    # Ordered (the default for a file): the file is fed one scorer batch at a time, each sent only once the
    # one before is scored and its block requests handled, as live traffic meets the pipeline (a call
    # arrives long after the block an earlier call led to). Same file, same decisions. Parallel: the
    # feeder runs ahead and the pollers take what they find, as Lambda scales out: sometimes faster, but which
    # events share a batch, and what is blocked when a later event is scored, depend on thread timing.
    ordered: bool = True
    scorer_pollers: int = 2  # parallel only: an ordered replay has one batch in flight
    blocker_pollers: int = 4
    scorer_batch_size: int = 50  # as template.yaml's event source mapping
    blocker_idle_limit_s: float = 120.0  # once all is scored: how long deferred block requests are waited for
    ordered_wait_s: float = 5.0  # ordered: how long deferred messages hold the next batch without progress
    blocker_batch_size: int = 10
    max_queue_depth: int = 150  # moto's SQS slows down as a queue grows: feed in bounded chunks
    progress: bool = True
    total_events: int | None = None  # for the progress bar, when known
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class RejectedLine:
    line: int
    reason: str


def _no_such_route(exc: Exception) -> bool:
    """404, 405 or 410 for a route Zoom has: the URL is wrong (ZOOM_API_URL, ZOOM_OAUTH_URL), and asking
    again gets the same answer. (Zoom answers an unknown entry id or an expired page token with a 400.)"""
    return getattr(exc, "status", None) in (404, 405, 410)


def _answer(exc: Exception) -> str:
    """What Zoom said, with the HTTP status when the message does not carry it."""
    message = getattr(exc, "message", str(exc))
    status = getattr(exc, "status", None)
    return f"HTTP {status}: {message}" if status is not None and str(status) not in message else message


def _z(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else None


class RequestCounter:
    """Every Zoom API request (retries and 429s included, OAuth excluded), by templated route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_route: Counter[str] = Counter()
        self.throttled = 0
        self.created = 0
        self.writes = 0  # POST, PATCH and DELETE that Zoom answered with success: the blocker getting on

    def __call__(self, record: Any) -> None:
        with self._lock:
            self.by_route[record.route] += 1
            if record.status == 429:
                self.throttled += 1
            if not record.route.startswith("GET ") and record.status is not None and 200 <= record.status < 300:
                self.writes += 1
            if record.route == "POST /phone/blocked_list" and record.status in (200, 201):
                self.created += 1


@dataclass
class RunSummary:
    events_read: int = 0  # non-empty lines of the events file
    events_delivered: int | None = None  # serve-webhook: call-log events its webhook deliveries carried
    events_rejected: int = 0
    events_ignored: int = 0
    blocks_requested: int = 0
    unblocks_requested: int = 0
    blocks_created: int = 0
    blocks_expired: int = 0
    blocks_would_expire: int = 0  # --dry-run with --expire-at: what the expirer would have removed
    blocks_deferred: int = 0  # block requests still deferred (Zoom's limits) when the run gave up waiting
    zoom_refused: str | None = None  # Zoom refused the credentials during the run (exit 3)
    blocks_not_expired: int = 0  # --expire-at: due blocks Zoom's limits or failures kept in place
    blocks_lifted: int = 0  # our blocks adopted from Zoom that stopped an allowlisted or own number
    blocks_would_lift: int = 0  # --dry-run: what would have been lifted
    blocks_removed: int = 0  # our blocks an unblock request took out during the run (a dry run: would)
    blocks_would_create: int = 0  # --dry-run: the entries the rehearsal made
    blocks_adopted: int = 0
    blocks_past_expiry: int = 0  # active blocks whose expires_at the file's last event passed (no --expire-at)
    last_event_at: str | None = None  # the file's latest event time: the run's clock at its end
    zoom_requests: dict[str, int] = field(default_factory=dict)  # to ZOOM_API_URL (a dry run: token and list)
    zoom_429s: int = 0
    rehearsal_zoom_requests: dict[str, int] = field(default_factory=dict)  # --dry-run: to the local copy
    duration_s: float = 0.0
    dry_run: bool = False
    interrupted: bool = False  # the run was stopped (Ctrl-C, SIGTERM): counts so far, blocks not listed
    zoom_api_url: str = ""
    rejected_lines: list[RejectedLine] = field(default_factory=list)
    dead_letters: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    blocks: list[dict[str, Any]] = field(default_factory=list)
    not_blocked: list[dict[str, Any]] = field(default_factory=list)

    REJECTED_LINES_KEPT = 1000

    def to_json(self) -> dict[str, Any]:
        return {
            "events_read": self.events_read,
            **({"events_delivered": self.events_delivered} if self.events_delivered is not None else {}),
            "events_rejected": self.events_rejected,
            "events_ignored": self.events_ignored,
            "blocks_requested": self.blocks_requested,
            "unblocks_requested": self.unblocks_requested,
            "blocks_created": self.blocks_created,
            "blocks_expired": self.blocks_expired,
            "blocks_would_expire": self.blocks_would_expire,
            "blocks_deferred": self.blocks_deferred,
            **({"zoom_refused": self.zoom_refused} if self.zoom_refused else {}),
            "blocks_not_expired": self.blocks_not_expired,
            "blocks_lifted": self.blocks_lifted,
            "blocks_would_lift": self.blocks_would_lift,
            "blocks_removed": self.blocks_removed,
            "blocks_would_create": self.blocks_would_create,
            "blocks_adopted": self.blocks_adopted,
            "blocks_past_expiry": self.blocks_past_expiry,
            "last_event_at": self.last_event_at,
            "zoom_requests": dict(sorted(self.zoom_requests.items())),
            "zoom_429s": self.zoom_429s,
            **({"rehearsal_zoom_requests": dict(sorted(self.rehearsal_zoom_requests.items()))} if self.dry_run else {}),
            "duration_s": round(self.duration_s, 3),
            "dry_run": self.dry_run,
            **({"interrupted": True} if self.interrupted else {}),
            "zoom_api_url": self.zoom_api_url,
            "rejected_lines": [{"line": r.line, "reason": r.reason} for r in self.rejected_lines],
            "dead_letters": self.dead_letters,
            "blocks": self.blocks,
            "not_blocked": self.not_blocked,
        }


class _Feeder:
    """Streams valid lines into IngestQueue: in bounded chunks as the scorer drains it, or (ordered) one
    chunk of `chunk` events at a time, each once `settle()` returns, with the scorer's pollers held
    (`hold()` ... `release()`) while the chunk is sent so that one batch holds it all."""

    def __init__(self, lines: Iterator[Line], queue: SqsQueue, depth: Callable[[], int], region: str,
                 max_depth: int, summary: RunSummary, on_progress: Callable[[int], None], *,
                 chunk: int = 0, settle: Callable[[], None] | None = None,
                 hold: Callable[[], None] = lambda: None, release: Callable[[], None] = lambda: None) -> None:
        self._lines = lines
        self._queue = queue
        self._depth = depth
        self._region = region
        self._max_depth = max_depth
        self._summary = summary
        self._on_progress = on_progress
        self._chunk = chunk
        self._settle = settle
        self._hold = hold
        self._release = release
        self._held = False
        self.done = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._sent_batches = 0
        self._in_chunk = 0

    def run(self) -> None:
        try:
            batch: list[str] = []
            batch_bytes = 0
            for line in self._lines:
                if self.stop.is_set():
                    return
                size = len(line.text.encode("utf-8", "surrogatepass"))
                if admit(self._summary, line.number, line.text, self._region, size) is not None:
                    continue
                if batch and batch_bytes + size > SQS_MAX_BYTES:  # a batch's messages share the limit too
                    self._send(batch)
                    batch, batch_bytes = [], 0
                batch.append(line.text)
                batch_bytes += size
                if len(batch) == 10 or (self._settle is not None and self._in_chunk + len(batch) == self._chunk):
                    self._send(batch)
                    batch, batch_bytes = [], 0
                self._on_progress(self._summary.events_read)
            if batch:
                self._send(batch)
            self._open()
        except BaseException as exc:  # surfaced by the runner after the pollers stop
            self.error = exc
            self._open()
        finally:
            self.done.set()

    def _send(self, bodies: list[str]) -> None:
        if self._settle is not None:
            if self._in_chunk == 0:  # a new chunk: once the last one is scored and blocked, pollers held
                self._settle()
                self._hold()
                self._held = True
            self._queue.send_many(bodies)
            self._in_chunk += len(bodies)
            if self._in_chunk >= self._chunk:
                self._open()
            return
        self._sent_batches += 1
        if self._sent_batches % 3 == 0:  # a depth check costs a pass over the queue in moto: not every batch
            while self._depth() >= self._max_depth and not self.stop.is_set():
                time.sleep(0.01)
        self._queue.send_many(bodies)  # failed entries retried; QueueSendError if some never go

    def _open(self) -> None:
        self._in_chunk = 0
        if self._held:
            self._held = False
            self._release()


class _Settler:
    """Waits until the last chunk is scored and the block requests it led to are handled (ordered replay).

    A message that is neither visible nor being handled has been deferred (Zoom's limits) or failed and
    waits for its visibility timeout. Those are waited for while anything moves. After `patience_s`
    (RunOptions.ordered_wait_s) without progress - a daily limit, a long Retry-After, which would hold the
    replay for hours - the replay goes on without them, and from then on waits only for the batches being
    handled: the run says so at the end (`gave_up_with`)."""

    def __init__(self, maps: tuple[EventSourceMapping, EventSourceMapping], stop: threading.Event,
                 moved: threading.Event, *, patience_s: float, progress: Callable[[], int]) -> None:
        self._maps = maps
        self._stop = stop
        self._moved = moved
        self._patience_s = patience_s
        self._progress = progress
        self.gave_up_with: int | None = None  # messages still waiting when it stopped waiting for them

    def __call__(self) -> None:
        since = time.monotonic()
        handled = self._progress()
        while not self._stop.is_set():
            backlogs = [m.backlog() for m in self._maps]
            busy = any(m.busy for m in self._maps) or any(b["visible"] for b in backlogs)
            waiting = sum(b["in_flight"] + b["delayed"] for b in backlogs)
            if not busy:
                if not waiting or self.gave_up_with is not None:
                    return
                if time.monotonic() - since > self._patience_s:
                    self.gave_up_with = waiting
                    return
            self._moved.wait(0.05)
            self._moved.clear()
            mark = self._progress()
            if mark != handled:
                since, handled = time.monotonic(), mark


IGNORED = "ignored"
SQS_MAX_BYTES = 262_144  # one message, and one SendMessageBatch in all
CHECK_ZOOM_ATTEMPTS = 3  # token requests at start: a one-off 429 or 5xx is not "Zoom unreachable"
CHECK_ZOOM_PAUSE_CAP_S = 10.0
ADOPT_ATTEMPTS = 6  # listings of Zoom's blocked list at start, pausing 1, 2, 4, 8, 10 s between them
ADOPT_PAUSE_CAP_S = 10.0
ADOPT_PERMIT_WAIT_S = 2.0  # the longest a page waits for a permit of the shared limiter
LOCAL_RATE_LIMIT_MARGIN_S = "0.1"  # the deployed default is 0.05 (RATE_LIMIT_MARGIN_S)
EXPIRE_STALLED_ROUNDS = 5  # --expire-at: expirer invocations in a row that expire nothing before giving up
EXPIRE_MAX_WAIT_S = 60.0  # ... or a resume_at further away than this (a daily limit)
EXPIRE_RETRY_PAUSE_S = 0.5


def validate_line(text: str, region: str) -> str | None:
    """The scorer's own validation (parse, then classify): the reason a line is rejected, IGNORED for a
    valid event that is not evidence (internal caller, emergency number, ...), or None.

    Ignored events still go to the scorer, as they would in AWS; only rejected lines stay out."""
    from spam_blocker.domain.events import InvalidEvent, parse_ingest_event
    from spam_blocker.domain.evidence import Ignored, contribution_from

    try:
        result = contribution_from(parse_ingest_event(text), region)
    except InvalidEvent as exc:
        return exc.reason
    return IGNORED if isinstance(result, Ignored) else None


def admit(summary: RunSummary, number: int, text: str, region: str, size: int) -> str | None:
    """Count one non-empty line of events in `summary`: the reason it is rejected, or None when it goes to
    IngestQueue (ignored events too: the scorer ignores them, as in AWS)."""
    summary.events_read += 1
    reason = not_utf8(text) or (f"event of {size:,} bytes: an SQS message holds at most {SQS_MAX_BYTES:,}"
                                if size > SQS_MAX_BYTES else validate_line(text, region))
    if reason == IGNORED:
        summary.events_ignored += 1
        return None
    if reason is not None:
        summary.events_rejected += 1
        if len(summary.rejected_lines) < RunSummary.REJECTED_LINES_KEPT:
            summary.rejected_lines.append(RejectedLine(number, reason))
    return reason


class Pipeline:
    def __init__(self, options: RunOptions, access: ZoomAccess, *, log: TextIO | None = None) -> None:
        self.options = options
        self.access = access
        self.log = log or sys.stderr
        self.counter = RequestCounter()  # requests to ZOOM_API_URL
        self.rehearsal_counter = RequestCounter()  # --dry-run: requests to the local copy of Zoom's list
        self._handler_access = access  # the Zoom the handlers talk to (a dry run: the local copy)
        self._real_ids: dict[str, str] = {}  # a dry run: the copy's entry id -> Zoom's
        self.summary = RunSummary(dry_run=options.dry_run, zoom_api_url=access.api_url)
        self._zoom_ids_at_start: set[str] = set()
        self._created_in_table = 0
        self._protected: dict[str, list[Any]] = {}  # "allow" / "own" -> the run's list entries (ListEntry)
        self._lifts: dict[tuple[str, str, str], list[dict[str, str]]] = {}  # unblock requests the blocker got, by key
        self._requested: set[Any] = set()  # block requests the blocker was given (_request_identity)
        self._first_bodies: list[str] = []  # each block request's body, as first given to the blocker
        self._unblocks: set[Any] = set()
        self._adopted_at: datetime | None = None
        self._started = time.monotonic()
        self._last_event_at: datetime | None = None  # the file's latest event time (read with the earliest)
        self._moved = threading.Event()  # a batch was handled, by either function

    # -- set-up -----------------------------------------------------------------------------------------

    def handler_env(self, resources: LocalResources) -> dict[str, str]:
        return {
            **resources.env(),
            **self._handler_access.env(),
            "DEFAULT_REGION": self.options.region,
            "DRY_RUN": "false",  # a dry run rehearses against a local copy of Zoom's list: see _rehearsal
            # The pipeline's clock is event time: nothing is "in the future" of a replay.
            "FUTURE_TOLERANCE_HOURS": str(24 * 365 * 100),
            "POWERTOOLS_SERVICE_NAME": "zoom-spam-blocker",
            "POWERTOOLS_METRICS_NAMESPACE": "ZoomSpamBlocker",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            # Every poller here is a thread of one interpreter: a request can leave tens of ms after its
            # permit's last check (a Lambda's leaves within microseconds), so the window gets a wider margin.
            "RATE_LIMIT_MARGIN_S": os.environ.get("RATE_LIMIT_MARGIN_S", LOCAL_RATE_LIMIT_MARGIN_S),
            **self.options.extra_env,
        }

    def _load_lists(self, resources: LocalResources) -> None:
        from spam_blocker.adapters.dynamo_allowlist import DynamoListStore
        from spam_blocker.clock import SystemClock
        from spam_blocker.domain.allowlist import ListFileError, load_list_file

        store = DynamoListStore(resources.dynamodb, resources.tables["evidence"], self.options.region)
        for kind, path in (("allow", self.options.allowlist), ("own", self.options.own_numbers)):
            if path is None:
                continue
            try:
                entries = load_list_file(path, self.options.region)
            except ListFileError as exc:
                raise RunFailed(str(exc), 2) from None
            store.add(kind, entries, now=SystemClock().now())
            self._protected[kind] = entries

    # -- the run ----------------------------------------------------------------------------------------

    def run(self) -> RunSummary:
        assert self.options.events is not None
        check_readable(self.options.events, "events")
        return self._run(self._stream)

    def serve(self, start_source: Callable[[LocalResources], Callable[[], None]], stopping: threading.Event) -> RunSummary:
        """The pipeline fed by a live source until `stopping` is set: `start_source(resources)` starts it
        (serve-webhook: the webhook server, enqueueing on resources' IngestQueue) and returns its stop. The
        scorer and the blocker run on the queues meanwhile; then what is queued is drained."""
        if self.options.follow is not None:
            check_readable(self.options.follow, "events")
        return self._run(lambda resources: self._stream_live(resources, start_source, stopping))

    def summary_so_far(self) -> RunSummary:
        """The summary of a run that was interrupted: its counts so far (Zoom's blocked list holds its blocks;
        `blocks_created` counts the POSTs Zoom answered with success)."""
        self.summary.interrupted = True
        self.summary.blocks_requested = len(self._requested)
        self.summary.unblocks_requested = len(self._unblocks)
        if self.options.dry_run:
            self.summary.blocks_would_create = self._handler_counter.created
        else:
            self.summary.blocks_created = self._handler_counter.created
        self.summary.zoom_requests = dict(self.counter.by_route)
        self.summary.zoom_429s = self.counter.throttled
        self.summary.duration_s = time.monotonic() - self._started
        return self.summary

    def _run(self, stream: Callable[[LocalResources], None]) -> RunSummary:
        started = self._started = time.monotonic()
        for what, path in (("allowlist", self.options.allowlist), ("own-numbers", self.options.own_numbers)):
            if path is not None:
                check_readable(path, what)
        self._check_settings()
        zoom = _zoom_client(self.access, self.counter)
        try:
            self._check_zoom(zoom)
            with ExitStack() as stack:
                if self.options.dry_run:
                    zoom = stack.enter_context(self._rehearsal(zoom))
                resources = stack.enter_context(LocalAws())
                saved = {k: os.environ.get(k) for k in self.handler_env(resources)}
                os.environ.update(self.handler_env(resources))
                try:
                    self._run_in(resources, zoom, stream)
                finally:
                    for k, v in saved.items():
                        if v is None:
                            os.environ.pop(k, None)
                        else:
                            os.environ[k] = v
        finally:
            zoom.close()
        self.summary.zoom_requests = dict(self.counter.by_route)
        self.summary.zoom_429s = self.counter.throttled
        made = max(self._handler_counter.created, self._created_in_table)
        if self.options.dry_run:
            self.summary.rehearsal_zoom_requests = dict(self.rehearsal_counter.by_route)
            self.summary.blocks_would_create = made
        else:
            self.summary.blocks_created = made
        self.summary.duration_s = time.monotonic() - started
        return self.summary

    def _check_settings(self) -> None:
        """The functions' settings from this environment, before any work (local/settings_check.py)."""
        from local.settings_check import BadSettings, check_function_settings

        placeholders = LocalResources(sqs=None, dynamodb=None, queues={name: f"https://localhost/{name}" for name in
                                                                       ("ingest", "ingest-dlq", "block", "block-dlq")},
                                      tables={name: name for name in ("evidence", "blocks", "rate-limit", "deliveries",
                                                                      "checkpoints")})
        try:
            check_function_settings({**os.environ, **self.handler_env(placeholders)})
        except BadSettings as exc:
            raise RunFailed(f"{exc} (docs/configuration.md lists every setting)", 2) from None

    @property
    def _handler_counter(self) -> RequestCounter:
        return self.rehearsal_counter if self.options.dry_run else self.counter

    @contextmanager
    def _rehearsal(self, real: Any) -> Iterator[Any]:
        """--dry-run: Zoom's whole list copied into a local emulator, and the run made against that copy, so the
        preview is the real run's: its blocks cover later callers, a later event lifts them, the expirer
        removes them. Zoom itself is only read (a token, the list). Yields a client of the copy."""
        from local.emulator import ZoomEmulator, serve, stop

        entries = self._patiently(lambda: list(real.list_blocked(page_size=100)), "the listing of its blocked list",
                                  ADOPT_ATTEMPTS, "Zoom's blocked list could not be read to the end")
        emulator = ZoomEmulator(plan=self.access.plan)
        for entry in entries:
            try:
                copy = emulator.add_entry(entry.phone_number or "", entry.match_type or "phoneNumber",
                                          entry.block_type or "inbound", entry.status or "active", entry.comment or "")
                self._real_ids[copy] = entry.id
            except ValueError as exc:  # a shape the copy refuses: it cannot be adopted either, say so
                print(f"dry run: Zoom's entry {entry.id} is not copied ({exc})", file=self.log, flush=True)
        server, thread = serve(emulator, host="127.0.0.1", port=0)
        base = server.base_url
        self._handler_access = ZoomAccess(api_url=f"{base}/v2", oauth_url=f"{base}/oauth/token",
                                          account_id="dev-account", client_id="dev-client-id",
                                          client_secret="dev-client-secret", plan=self.access.plan, emulated=True)
        client = _zoom_client(self._handler_access, self.rehearsal_counter)
        print(f"dry run: Zoom's {len(entries)} entries copied to a local rehearsal; Zoom itself is only read",
              file=self.log, flush=True)
        try:
            yield client
        finally:
            client.close()
            stop(server, thread)
            self._handler_access = self.access

    def _check_zoom(self, zoom: Any) -> None:
        """A token before any work."""
        self._patiently(zoom.check_credentials, "the token request", CHECK_ZOOM_ATTEMPTS,
                        f"Zoom is unreachable ({self.access.oauth_url})")

    def _patiently(self, ask: Callable[[], Any], what: str, attempts: int, failing: str) -> Any:
        """`ask` Zoom before any work. Refused credentials end the run at once; a 429, a 5xx or a lost
        connection is tried again a few times (Retry-After honoured, up to CHECK_ZOOM_PAUSE_CAP_S) before
        exit 3 with `failing`."""
        from spam_blocker.clock import SystemClock
        from spam_blocker.zoom.errors import ZoomAuthFailed, ZoomError, ZoomRateLimited

        for attempt in range(attempts):
            try:
                return ask()
            except ZoomAuthFailed as exc:
                if _no_such_route(exc):
                    raise RunFailed(exc.message, 3) from None
                raise RunFailed(f"Zoom refused the credentials ({self.access.oauth_url}): {exc.message}", 3) from None
            except ZoomError as exc:
                if _no_such_route(exc):  # the API URL is wrong (the token endpoint's 404 is a ZoomAuthFailed)
                    raise RunFailed(f"{failing}: {_answer(exc)} (is ZOOM_API_URL={self.access.api_url} right?)",
                                    3) from None
                if attempt == attempts - 1:
                    raise RunFailed(f"{failing}: {_answer(exc)}", 3) from None
                pause = 2.0 ** attempt
                if isinstance(exc, ZoomRateLimited):
                    pause = max(pause, (exc.retry_at - SystemClock().now()).total_seconds())
                pause = min(pause, CHECK_ZOOM_PAUSE_CAP_S)
                print(f"Zoom did not answer {what} ({_answer(exc)}); trying again in {pause:g} s",
                      file=self.log, flush=True)
                time.sleep(pause)

    def _run_in(self, resources: LocalResources, zoom: Any, stream: Callable[[LocalResources], None]) -> None:
        from spam_blocker import wiring
        from spam_blocker.wiring import zoom as zoom_wiring

        wiring.cache_clear()
        restore_logs = _quiet_logs()
        _thread_safe_metrics()
        try:
            self._load_lists(resources)
            self._adopt(resources, zoom)
            zoom_wiring.add_request_observer(self._handler_counter)  # the handlers' own clients, the lifts' too
            try:
                self._lift_protected(resources)
                stream(resources)
                if self.options.expire_at is not None:
                    self._expire(resources)
                self._collect_dead_letters(resources)
                self._describe_blocks(resources)
                self._describe_not_blocked(resources)
            finally:
                zoom_wiring.remove_request_observer(self._handler_counter)
        finally:
            restore_logs()
            wiring.cache_clear()

    def _adopt(self, resources: LocalResources, zoom: Any) -> None:
        """Zoom is the shared truth: adopt our tagged entries, record a person's as blocking.

        The whole list must be read before any work (an entry missed would be created twice): pages are
        paced by the shared limiter at the plan's Medium rate, and a listing cut short by a 429 is read
        again after a pause, a few times, before the run gives up (exit 3). Adopted rows count from the
        file's earliest event time (the run's clock is event time). A dry run's `zoom` is the local copy
        of the list (_rehearsal): a duplicate is deleted from the copy only."""
        from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
        from spam_blocker.clock import SystemClock
        from spam_blocker.config.reconciler import ReconcilerSettings
        from spam_blocker.services.reconcile import reconcile
        from spam_blocker.wiring.limiter import shared_limiter
        from spam_blocker.zoom.errors import ZoomAuthFailed, ZoomError

        store = DynamoBlockStore(resources.dynamodb, resources.tables["blocks"])
        settings = ReconcilerSettings.from_env(os.environ)
        limiter = shared_limiter(resources.dynamodb, settings, self.access.account_id)
        adopt_at, self._last_event_at = (event_time_bounds(iter_lines(self.options.events))
                                         if self.options.events is not None else (None, None))
        self._adopted_at = adopt_at
        adopted = 0
        for attempt in range(ADOPT_ATTEMPTS):
            try:
                report = reconcile(zoom, store, limiter, SystemClock(), adoption=settings.adoption(),
                                   page_size=settings.page_size, max_wait_s=ADOPT_PERMIT_WAIT_S, sleep=time.sleep,
                                   now=adopt_at)
            except ZoomAuthFailed as exc:
                raise RunFailed(f"Zoom refused the credentials: {exc.message}", 3) from None
            except ZoomError as exc:  # a 5xx, a lost answer, a page token that expired: read it again
                if _no_such_route(exc):
                    raise RunFailed(f"Zoom's blocked list is not at {self.access.api_url}/phone/blocked_list: "
                                    f"{_answer(exc)} (is ZOOM_API_URL right?)", 3) from None
                stopped = _answer(exc)
            else:
                adopted += report.adopted
                listed_ids = report.entry_ids
                if report.complete:
                    break
                stopped = report.stopped
            pause = min(2.0 ** attempt, ADOPT_PAUSE_CAP_S)
            print(f"Zoom's blocked list was not read to the end ({stopped}); reading it again from the start in "
                  f"{pause:g} s", file=self.log, flush=True)
            time.sleep(pause)
        else:
            raise RunFailed(f"Zoom's blocked list could not be read to the end after {ADOPT_ATTEMPTS} tries "
                            f"({stopped}): stopping before any work, or entries would be duplicated", 3)
        self.summary.blocks_adopted = adopted
        # every entry Zoom held (an inactive one of ours that the blocker sets active again was not created)
        self._zoom_ids_at_start = listed_ids | {item["zoom_id"] for item in self._block_items(resources)
                                               if item.get("zoom_id")}

    def _lift_protected(self, resources: LocalResources) -> None:
        """Our blocks adopted from Zoom that stop an allowlisted or own number (or a prefix over one) are
        lifted now, through the ops unblock (with its cool-down), before any event is scored: the lists
        given to this run are never blocked, whatever an earlier run did. A person's entry is left alone."""
        from spam_blocker.adapters.dynamo_blocks import from_item
        from spam_blocker.clock import SystemClock, iso
        from spam_blocker.domain.allowlist import ProtectedLists
        from spam_blocker.domain.block_state import BlockState
        from spam_blocker.domain.renewal import veto_lists

        from functions.expirer import handler as expirer

        if not self._protected:
            return
        lists = ProtectedLists.of(allow=self._protected.get("allow", ()), own=self._protected.get("own", ()))
        vetoed: dict[str, str] = {}  # the block, as unblock takes it -> why the lists forbid it
        for item in self._block_items(resources):
            record = from_item(item["raw"])
            if record.state not in (BlockState.ACTIVE, BlockState.PENDING) or record.key.block_type != "inbound":
                continue
            why = veto_lists(record.key, lists)
            if why is not None:
                key = record.key
                vetoed[key.phone_number + ("*" if key.match_type == "prefix" else "")] = why
        now = iso(self._adopted_at or SystemClock().now())
        for target, why in vetoed.items():
            report = expirer.lambda_handler({"action": "unblock", "phone_number": target, "now": now,
                                             "reporter": "spam-blocker run (allowlist / own numbers)"},
                                            LambdaContext("expirer")) or {}
            lifted = sum(1 for a in report.get("actions", []) if a.get("kind") == "block"
                         and a.get("state") in ("active", "pending") and a.get("result") == "removed")
            if self.options.dry_run:
                self.summary.blocks_would_lift += lifted
            else:
                self.summary.blocks_lifted += lifted
            detail = "; ".join(line.strip("- ").strip() for line in report.get("text", "").splitlines()[1:])
            if self.options.dry_run:  # what the rehearsal did to the copy, with Zoom's own entry ids
                for copy, real in self._real_ids.items():
                    detail = detail.replace(copy, real)
                detail = f"would be lifted (dry run; done to the local copy only): {detail}"
            print(f"spam-blocker run: our block {target} is not allowed ({why}): {detail}", file=self.log, flush=True)

    def _mappings(self, resources: LocalResources, on_block: Callable[[str], None] | None = None,
                  ) -> tuple[EventSourceMapping, EventSourceMapping, set[Any], set[Any]]:
        """The scorer's and the blocker's event-source mappings, and the block and unblock requests the blocker
        is given (filled as they arrive; a request deferred and sent again is the same request)."""
        from functions.blocker import handler as blocker
        from functions.scorer import handler as scorer

        requested = self._requested
        unblocks = self._unblocks
        seen_lock = threading.Lock()

        def blocker_handler(event: dict[str, Any], context: Any) -> Any:
            with seen_lock:
                for record in event.get("Records", []):
                    action = _action_of(record.get("body", ""))
                    request = _request_identity(record.get("body", ""), record["messageId"])
                    seen = request in requested or request in unblocks
                    (unblocks if action == "unblock" else requested).add(request)
                    if action == "unblock" and not seen:
                        self._note_lift(record.get("body", ""))
                    elif action == "block" and not seen:
                        self._first_bodies.append(record.get("body", ""))
                    if on_block is not None and not seen:  # a deferred request comes back: told once
                        on_block(record.get("body", ""))
            return blocker.lambda_handler(event, context)

        def scored(records: int, failed: int) -> None:
            self._moved.set()
            blocker_map.nudge()  # its block requests are on BlockQueue now

        ordered = self.options.ordered and self.options.events is not None  # a live source is never ordered
        scorer_map = EventSourceMapping(sqs=resources.sqs, queue_url=resources.queues["ingest"],
                                        handler=scorer.lambda_handler, function_name="scorer",
                                        pollers=1 if ordered else self.options.scorer_pollers,
                                        batch_size=self.options.scorer_batch_size, on_batch=scored)
        blocker_map = EventSourceMapping(sqs=resources.sqs, queue_url=resources.queues["block"],
                                         handler=blocker_handler, function_name="blocker",
                                         pollers=self.options.blocker_pollers,
                                         batch_size=self.options.blocker_batch_size,
                                         on_batch=lambda records, failed: self._moved.set())
        self._maps = (scorer_map, blocker_map)
        return scorer_map, blocker_map, requested, unblocks

    def _stream_live(self, resources: LocalResources, start_source: Callable[[LocalResources], Callable[[], None]],
                     stopping: threading.Event) -> None:
        def tell(body: str) -> None:
            try:
                request = json.loads(body)
                target = request["phone_number"] + ("*" if request.get("match_type") == "prefix" else "")
                print(f"{request.get('action', 'block')} requested: {target}: {request.get('reason', '')}",
                      file=self.log, flush=True)
            except (ValueError, KeyError, TypeError):
                pass

        scorer_map, blocker_map, requested, unblocks = self._mappings(resources, on_block=tell)
        followed = threading.Event()
        if self.options.follow is None:
            followed.set()
        threads, scorer_done, _, blocker_stop = _drain_threads(
            scorer_map, blocker_map, lambda: stopping.is_set() and followed.is_set())
        source_done = threading.Event()
        if self.options.follow is not None:
            queue = SqsQueue(resources.sqs, resources.queues["ingest"])
            threads.append(threading.Thread(target=self._follow, args=(self.options.follow, queue, source_done,
                                                                       followed), name="follow", daemon=True))
        for thread in threads:
            thread.start()
        stop_source = start_source(resources)
        try:
            while not stopping.wait(0.2):
                pass
        finally:
            stop_source()
            source_done.set()
        self._wait(threads, scorer_done, blocker_map, blocker_stop)
        self.summary.blocks_requested = len(requested)
        self.summary.unblocks_requested = len(unblocks)

    def _follow(self, path: Path, queue: SqsQueue, done: threading.Event, finished: threading.Event) -> None:
        """Feed the contract events of `path`, those in it at start and those appended later, one line at a
        time as each is complete, until `done`; rejected lines are counted with their line numbers."""
        try:
            self._follow_lines(path, queue, done)
        except OSError as exc:
            print(f"{path}: cannot be read any more ({exc.strerror or exc}); no more events from it", file=self.log,
                  flush=True)
        finally:
            finished.set()

    def _follow_lines(self, path: Path, queue: SqsQueue, done: threading.Event) -> None:
        number = 0
        pending = ""
        with open(path, encoding="utf-8-sig", errors="surrogateescape") as lines:
            while True:
                chunk = lines.readline()
                if not chunk:
                    if not done.is_set():
                        time.sleep(0.1)
                        continue
                    if not pending:
                        break
                    chunk = "\n"  # the last line, unterminated
                pending += chunk
                if not pending.endswith("\n"):
                    continue  # being written
                text, pending = pending.strip(), ""
                number += 1
                if not text:
                    continue
                reason = admit(self.summary, number, text, self.options.region,
                               len(text.encode("utf-8", "surrogatepass")))
                if reason is not None:
                    print(f"{path}:{number}: rejected: {reason}", file=self.log, flush=True)
                    continue
                queue.send_many([text])

    def _stream(self, resources: LocalResources) -> None:
        assert self.options.events is not None
        total = self.options.total_events
        if total is None and self.options.progress:
            total = count_events(self.options.events)
        progress = Progress("events", total, enabled=self.options.progress, stream=self.log)
        scorer_map, blocker_map, requested, unblocks = self._mappings(resources)
        settler = (_Settler((scorer_map, blocker_map), settling_stop := threading.Event(), self._moved,
                            patience_s=self.options.ordered_wait_s, progress=self._progress_mark)
                   if self.options.ordered else None)
        feeder = _Feeder(iter_lines(self.options.events), SqsQueue(resources.sqs, resources.queues["ingest"]),
                         lambda: scorer_map.backlog()["visible"], self.options.region,
                         self.options.max_queue_depth, self.summary,
                         lambda n: progress.update(n, self._progress_detail()),
                         chunk=self.options.scorer_batch_size, settle=settler, hold=scorer_map.hold,
                         release=scorer_map.release)
        threads, scorer_done, scorer_stop, blocker_stop = _drain_threads(scorer_map, blocker_map, feeder.done.is_set)
        threads.insert(0, threading.Thread(target=feeder.run, name="feeder", daemon=True))
        for thread in threads:
            thread.start()
        try:
            self._wait(threads, scorer_done, blocker_map, blocker_stop,
                       heartbeat=lambda: progress.update(self.summary.events_read, self._progress_detail()))
        except KeyboardInterrupt:
            if settler is not None:
                settling_stop.set()
            scorer_stop.set()
            blocker_stop.set()
            feeder.stop.set()
            for thread in threads:
                thread.join(timeout=5)
            progress.finish(self.summary.events_read, self._progress_detail())
            raise RunFailed(f"interrupted after {self.summary.events_read:,} events: blocks made in Zoom so far "
                            "stay, and a new run adopts them", 130) from None
        progress.finish(self.summary.events_read, self._progress_detail())
        if feeder.error is not None:
            raise feeder.error
        if settler is not None and settler.gave_up_with is not None:
            print(f"spam-blocker run: {settler.gave_up_with} message(s) waited to come back without progress for "
                  f"{self.options.ordered_wait_s:g} s (block requests deferred by Zoom's rate limits, or a failed "
                  "batch to be retried); the replay went on without waiting for such messages from then on, so a "
                  "later event may have been scored before what an earlier one led to", file=self.log, flush=True)
        self.summary.blocks_requested = len(requested)
        self.summary.unblocks_requested = len(unblocks)

    def _wait(self, threads: list[threading.Thread], scorer_done: threading.Event, blocker_map: EventSourceMapping,
              stop: threading.Event, heartbeat: Callable[[], None] = lambda: None) -> None:
        """Join the run's threads (interruptibly). Once every event is scored, block requests that stay
        deferred - Zoom's daily limit resets at 00:00 GMT - are not waited for past `blocker_idle_limit_s`
        without progress: the run ends and says how many are left."""
        idle_since = time.monotonic()
        handled = self._progress_mark()
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=0.2)
            heartbeat()  # progress goes on while the feeder waits (Progress draws at most every few seconds)
            mark = self._progress_mark()
            if mark != handled or not scorer_done.is_set():
                handled, idle_since = mark, time.monotonic()
            elif time.monotonic() - idle_since > self.options.blocker_idle_limit_s and not stop.is_set():
                waiting = sum(blocker_map.backlog().values())
                if waiting:
                    self.summary.blocks_deferred = waiting
                    refused = self._credentials_refused()
                    why = (f"Zoom now refuses the credentials ({refused})" if refused
                           else "deferred by Zoom's rate limits")
                    self.summary.zoom_refused = refused
                    print(f"spam-blocker run: {waiting} block request(s) still waiting: {why}; "
                          f"{self.options.blocker_idle_limit_s:g} s without progress, ending the run (run it again "
                          "later: what is blocked already is adopted, the rest is requested again)",
                          file=self.log, flush=True)
                stop.set()

    def _credentials_refused(self) -> str | None:
        """Why Zoom refuses a token now (the credentials revoked or rotated during the run), or None."""
        from spam_blocker.zoom.errors import ZoomAuthFailed, ZoomError

        client = _zoom_client(self._handler_access)
        try:
            client.check_credentials()
        except ZoomAuthFailed as exc:
            return exc.message
        except ZoomError:
            return None
        finally:
            client.close()
        return None

    def _progress_mark(self) -> int:
        """Grows while the pipeline gets on: events scored, new block requests, Zoom writes that succeeded.
        A deferred request handled again (a 429, refused credentials) is not progress."""
        maps = getattr(self, "_maps", ())
        scored = maps[0].stats.records if maps else 0
        return scored + len(self._requested) + len(self._unblocks) + self._handler_counter.writes

    def _progress_detail(self) -> str:
        maps = getattr(self, "_maps", ())
        scored = maps[0].stats.records if maps else 0
        return (f"rejected {self.summary.events_rejected:,} · scored {scored:,} · block requests "
                f"{len(self._requested) + len(self._unblocks):,} · zoom requests "
                f"{sum(self._handler_counter.by_route.values()):,}")

    def _expire(self, resources: LocalResources) -> None:
        from spam_blocker.clock import iso

        from functions.expirer import handler as expirer

        assert self.options.expire_at is not None
        now = iso(self.options.expire_at)
        # One invocation handles at most MAX_PER_RUN due blocks and stops at a 429 or at repeated Zoom
        # failures: invoke again, after its resume_at, until nothing is left or nothing moves any more.
        total = stalled = 0
        while True:
            result = expirer.lambda_handler({"now": now}, LambdaContext("expirer")) or {}
            expired = int(result.get("expired", 0))
            total += expired
            left = int(result.get("deferred", 0)) + int(result.get("failed", 0))
            if not left and not result.get("more_due"):
                break
            stalled = 0 if expired + int(result.get("renewed", 0)) else stalled + 1
            # resume_at is whole seconds: a second more, or the limiter still refuses (a round wasted)
            wait = _seconds_until(result.get("resume_at")) + (1.0 if result.get("resume_at") else 0.0)
            if stalled >= EXPIRE_STALLED_ROUNDS or wait > EXPIRE_MAX_WAIT_S + 1:
                self.summary.blocks_not_expired = left
                print(f"spam-blocker run: {left} due block(s) not expired ({result.get('stopped') or 'Zoom failed'}); "
                      "run it again later, or `spam-blocker expire`", file=self.log, flush=True)
                break
            time.sleep(max(wait, EXPIRE_RETRY_PAUSE_S))
        if self.options.dry_run:
            self.summary.blocks_would_expire = total
        else:
            self.summary.blocks_expired = total

    def _collect_dead_letters(self, resources: LocalResources) -> None:
        for name in ("ingest-dlq", "block-dlq"):
            items: list[dict[str, str]] = []
            while True:
                messages = resources.sqs.receive_message(
                    QueueUrl=resources.queues[name], MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                    VisibilityTimeout=300).get("Messages", [])
                if not messages:
                    break
                for m in messages:
                    attrs = m.get("MessageAttributes", {})
                    items.append({"reason": attrs.get("reason", {}).get("StringValue", "redriven after repeated failures"),
                                  "body": m["Body"][:500]})
            if items:
                self.summary.dead_letters[name] = items
        # The scorer rejects what the runner's validation could not see (it never should): count it too.
        self.summary.events_rejected += len(self.summary.dead_letters.get("ingest-dlq", []))

    def _note_lift(self, body: str) -> None:
        """An unblock request the scorer sent: the summary keeps it with its block, which a later request may
        make again (the row then shows only the last decision)."""
        from spam_blocker.domain.block_request import UNBLOCK_REASON_PREFIX

        data = json.loads(body)
        key = (data.get("match_type", ""), data.get("phone_number", ""), data.get("block_type", ""))
        reason = str(data.get("reason", ""))
        self._lifts.setdefault(key, []).append({"at": str(data.get("decided_at", "")),
                                                "reason": reason.removeprefix(UNBLOCK_REASON_PREFIX)})

    def _describe_blocks(self, resources: LocalResources) -> None:
        from spam_blocker.adapters.dynamo_blocks import from_item
        from spam_blocker.domain.block_state import BlockState

        ours: set[str] = set()  # the Zoom ids our rows hold (a dry run: the copy's)
        for item in self._block_items(resources):
            record = from_item(item["raw"])
            if record.only_holds_cooldown:
                continue  # never a block; the number shows under "deliberately not blocked" instead
            if record.zoom_id and record.state is not BlockState.EXTERNAL:
                ours.add(record.zoom_id)
            self.summary.blocks.append({
                "match_type": record.key.match_type, "phone_number": record.key.phone_number,
                "block_type": record.key.block_type, "state": self._state_shown(record),
                "zoom_id": self._real_ids.get(record.zoom_id or "") if self.options.dry_run else record.zoom_id,
                "reason": record.reason, "failure_reason": record.failure_reason,
                "decided_at": _z(record.decided_at), "expires_at": _z(record.expires_at),
                "ended_reason": record.ended_reason,
                "lifts": sorted(self._lifts.get((record.key.match_type, record.key.phone_number,
                                                 record.key.block_type), []), key=lambda lift: lift["at"]),
            })
        if self.summary.blocks_deferred:  # the run ended before Zoom took them: name them
            self.summary.blocks += self._never_claimed({(b["match_type"], b["phone_number"], b["block_type"])
                                                        for b in self.summary.blocks})
            self.summary.blocks_deferred = max(self.summary.blocks_deferred, sum(
                1 for b in self.summary.blocks if b["state"] in ("pending", "not_sent")))
        self.summary.blocks.sort(key=lambda b: (b["match_type"] != "prefix", b["phone_number"]))
        removed = sum(1 for b in self.summary.blocks if b["state"] in ("removed", "would_be_removed")
                      and (b.get("ended_reason") or "").startswith("unblocked"))
        # those lifted at start over listed numbers are counted apart (blocks_lifted / blocks_would_lift)
        self.summary.blocks_removed = max(0, removed - self.summary.blocks_lifted - self.summary.blocks_would_lift)
        last = _z(self._last_event_at)
        self.summary.last_event_at = last
        if last is not None and self.options.expire_at is None:
            self.summary.blocks_past_expiry = sum(1 for b in self.summary.blocks if b["state"] in ("active", "would_block")
                                                  and b["expires_at"] is not None and b["expires_at"] < last)
        # Entries this run made in Zoom: our rows' Zoom ids that were not there at start. This also counts
        # an entry whose POST answer was lost and that the blocker found and adopted ("commit then fail"),
        # which a count of 201 answers would miss; a count of 201s catches a target blocked twice in one run.
        self._created_in_table = len(ours - self._zoom_ids_at_start)

    def _never_claimed(self, known: set[tuple[str, str, str]]) -> list[dict[str, Any]]:
        """Block requests with no row, in a run that ended with requests deferred: Zoom's limits held them
        before the blocker claimed them. The summary names them, as `not_sent`."""
        shown: dict[tuple[str, str, str], dict[str, Any]] = {}
        for body in self._first_bodies:
            try:
                data = json.loads(body)
                key = (data["match_type"], data["phone_number"], data.get("block_type", "inbound"))
            except (ValueError, KeyError, TypeError):
                continue
            if key not in known:
                shown[key] = {"match_type": key[0], "phone_number": key[1], "block_type": key[2],
                              "state": "not_sent", "zoom_id": None, "reason": data.get("reason", ""),
                              "failure_reason": None, "decided_at": data.get("decided_at"),
                              "expires_at": data.get("expires_at"), "ended_reason": None,
                              "lifts": []}
        return list(shown.values())

    def _state_shown(self, record: Any) -> str:
        """The row's state; in a dry run, what the rehearsal did reads as what the real run would do."""
        from spam_blocker.domain.block_state import BlockState

        if not self.options.dry_run:
            return str(record.state)
        if record.state is BlockState.ACTIVE and record.zoom_id not in self._zoom_ids_at_start:
            return "would_block"
        return {BlockState.REMOVED: "would_be_removed", BlockState.EXPIRED: "would_expire"}.get(record.state,
                                                                                             str(record.state))

    @staticmethod
    def _block_items(resources: LocalResources) -> list[dict[str, Any]]:
        items = []
        for page in resources.dynamodb.get_paginator("scan").paginate(TableName=resources.tables["blocks"]):
            for item in page.get("Items", []):
                items.append({"raw": item, "zoom_id": item.get("zoom_id", {}).get("S")})
        return items


    NOT_BLOCKED_SHOWN = 25

    def _describe_not_blocked(self, resources: LocalResources) -> None:
        """Numbers with some spam signal (a report, short calls) that are not blocked, with the scorer's
        reason as of the run's last event time: the rails and thresholds at work, in words."""
        from spam_blocker.adapters.dynamo_allowlist import DynamoListStore
        from spam_blocker.adapters.dynamo_evidence import from_item
        from spam_blocker.config.scorer import ScorerSettings
        from spam_blocker.domain.evidence import exchange_of, from_epoch, summarise
        from spam_blocker.domain.scoring import decide

        policy = ScorerSettings.from_env(os.environ).policy()
        lists = DynamoListStore(resources.dynamodb, resources.tables["evidence"], self.options.region).current()
        by_exchange: dict[str, dict[str, Any]] = {}
        latest = 0
        for page in resources.dynamodb.get_paginator("scan").paginate(TableName=resources.tables["evidence"]):
            for item in page.get("Items", []):
                try:
                    evidence = from_item(item)
                    exchange = exchange_of(evidence.number)
                except (KeyError, ValueError, TypeError):
                    continue  # allowlist / own-number items share the table
                by_exchange.setdefault(exchange, {})[evidence.number] = evidence
                times = [t for _, t in evidence.reports] + [c.at for c in evidence.calls]
                latest = max([latest, *times])
        if not latest:
            return
        now = from_epoch(latest)
        blocking = {(b["match_type"], b["phone_number"]) for b in self.summary.blocks
                    if b["state"] in ("active", "external", "pending")}
        found = []
        for view in by_exchange.values():
            for number, evidence in view.items():
                signals = summarise(evidence, now, policy)
                if not signals.reporters and signals.short_calls < 3:
                    continue
                digits = number.lstrip("+")
                if ("phoneNumber", number) in blocking or any(
                        ("prefix", digits[:n]) in blocking for n in range(1, len(digits))):
                    continue
                decision = decide(number, view, lists, now, policy)
                if not decision.is_block:
                    found.append((len(signals.reporters), signals.short_calls, number, decision))
        found.sort(key=lambda f: (-f[0], -f[1], f[2]))
        self.summary.not_blocked = [
            {"phone_number": number, "action": d.action, "why": d.explanation}
            for _, _, number, d in found[: self.NOT_BLOCKED_SHOWN]
        ]


def _drain_threads(scorer_map: EventSourceMapping, blocker_map: EventSourceMapping, upstream_done: Callable[[], bool],
                   ) -> tuple[list[threading.Thread], threading.Event, threading.Event, threading.Event]:
    """The scorer's pollers until `upstream_done` and IngestQueue drained, then the blocker's until BlockQueue
    drained: (threads, not started; scorer done; scorer stop; blocker stop - each mapping sets its own)."""
    scorer_done, scorer_stop, blocker_stop = threading.Event(), threading.Event(), threading.Event()

    def run_scorer() -> None:
        scorer_map.run_until_drained(upstream_done=upstream_done, stop=scorer_stop)
        scorer_done.set()

    threads = [threading.Thread(target=run_scorer, name="scorer", daemon=True),
               threading.Thread(target=lambda: blocker_map.run_until_drained(upstream_done=scorer_done.is_set,
                                                                           stop=blocker_stop),
                                name="blocker", daemon=True)]
    return threads, scorer_done, scorer_stop, blocker_stop


def _zoom_client(access: ZoomAccess, counter: RequestCounter | None = None) -> Any:
    """A Zoom client for `access`, its requests counted by `counter`."""
    from spam_blocker.zoom.client import ZoomClient

    return ZoomClient.create(access.api_url, access.oauth_url, access.account_id, access.client_id,
                             access.client_secret, on_request=counter)


def _request_identity(body: str, message_id: str) -> Any:
    """One scorer decision's request, however often it is delivered or sent again by a deferring blocker."""
    try:
        data = json.loads(body)
        return (data.get("action", "block"), data["match_type"], data["phone_number"], data.get("block_type"),
                data.get("decided_at"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return message_id


def _action_of(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return "invalid"
    return str(data.get("action", "block")) if isinstance(data, dict) else "invalid"


def _thread_safe_metrics() -> None:
    """A Lambda container runs one invocation at a time; the local runner runs several pollers of one
    function in one process, which would share Powertools' metric set unguarded. One lock around it.

    Metrics are off here (POWERTOOLS_METRICS_DISABLED), but Powertools still prints a metric's values as
    EMF JSON on stdout once a hundred of them pile up, in the middle of the run's own output: while they
    are off, a metric is not recorded at all."""
    import functools

    from aws_lambda_powertools.metrics.functions import is_metrics_disabled
    from spam_blocker.observability import metrics

    provider = metrics.provider
    if getattr(provider, "_local_lock", None) is not None:
        return
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    lock = threading.RLock()
    provider._local_lock = lock
    for name in ("add_metric", "add_dimension", "add_metadata", "flush_metrics", "clear_metrics",
                 "serialize_metric_set"):
        method = getattr(provider, name)

        @functools.wraps(method)
        def locked(*args: Any, __method: Any = method, __name: str = name, **kwargs: Any) -> Any:
            if __name == "add_metric" and is_metrics_disabled():
                return None
            with lock:
                return __method(*args, **kwargs)

        setattr(provider, name, locked)




def _seconds_until(when: str | None) -> float:
    from spam_blocker.clock import SystemClock, parse_iso

    if not when:
        return 0.0
    return max(0.0, (parse_iso(when) - SystemClock().now()).total_seconds())


def _quiet_logs() -> Callable[[], None]:
    """Handler logs go to stderr locally, so stdout carries only the summary. Returns what puts the logger
    back as it was (an in-process caller's stderr, such as a test's capture, may be closed after the run)."""
    import logging

    from spam_blocker.observability import logger

    level = logger.log_level
    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))
    streams = [(handler, handler.stream) for handler in logger._logger.handlers  # noqa: SLF001 - no setter
               if isinstance(handler, logging.StreamHandler)]
    for handler, _ in streams:
        point(handler, sys.stderr)

    def restore() -> None:
        logger.setLevel(level)
        for handler, stream in streams:
            point(handler, stream)

    return restore
