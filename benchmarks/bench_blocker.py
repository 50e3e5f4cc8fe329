"""The blocker against Zoom's rate limits: exactly-once, utilisation and 429s with 1, 4 and 16 instances.

Each instance is a worker thread with its own "container" (the real wiring's `build_deps`: its own
ZoomClient, limiter cache and blocked-list index) running the real handler (`functions.blocker.handler.
handle`) over a simulated SQS queue (visibility timeouts, receive counts, delays, redrive) with the real
DynamoDB adapters on moto (in-process) and the project's Zoom emulator at Pro limits (Light: 20/s, a
sliding one-second window) behind a transport that adds a network round trip (`RTT_S`), so that one
instance alone cannot reach the limit. Real wall clock: this measures, it does not test.

Workload per scenario: `unique` number blocks, each delivered twice (duplicate delivery), plus `covered`
requests for numbers inside a prefix block that is already active (no Zoom call expected).

Figures (per scenario prefix):
    requests_per_entry   Zoom API requests / entries created (target 1.00 without faults)
    all_blocked_s        until every block is in Zoom; then the idle tail (duplicates and covered requests
                         waiting out their deferrals) is fast-forwarded, and `seconds` ends when the queue
                         is empty
    light_fraction       Light requests/s in the busy span (5 %..95 % of the entries) / the Light limit
                         (target >= 0.9 once enough instances run)
    share_429            429 answers / all requests (target <= 0.005)
    duplicates           extra entries for one block (target 0); missing: blocks with no entry (target 0)
The naive baseline (POST per request, sleep on 429, no table) runs on the same queue, Zoom and latency,
so the smart figures read as ratios against it.

    python -m benchmarks.bench_blocker [--quick]
    BENCH_PROCESSES=1 python -m benchmarks.bench_blocker    # n16 scenarios: one process per instance

The process mode (`blocker_processes`) is the faithful topology, but on a 2-core machine it measures
moto: one moto_server process serving 16 instances saturates (DynamoDB p50 30-55 ms instead of AWS's
few ms). It found the limiter's thundering herd (every waiting instance woke for the same freed permit:
2.5 failed conditional writes per good one, permits back later than the margin) and fell to 0.26-0.64
of the limit; with reservations and the write-latency lead it reached 0.84 (900 numbers, 0 429s). It is
there for a machine with cores to spare; `make bench` runs threads.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

PLAN = "pro"
LIGHT_LIMIT = 20
RTT_S = 0.15  # per Zoom request, as from a Lambda in another region
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:block"
ACCOUNT = ("dev-account", "dev-client-id", "dev-client-secret")
API_URL, OAUTH_URL = "https://api.zoom.us/v2", "https://zoom.us/oauth/token"
COVERING_PREFIX = "1415555"
UNPACED_MS = 0  # PACING_MAX_WAIT_MS of the comparison scenario; the others run the product's default


# --- a simulated SQS queue: what the blocker relies on, with the wall clock -----------------------------

@dataclass
class _Message:
    id: str
    body: str
    visible_at: float
    receives: int = 0
    receipt: str = ""
    waiting: bool = False  # deferred by the handler (visibility changed) or sent with a delay


@dataclass
class SimQueue:
    visibility_s: float = 30.0
    max_receives: int = 10
    _messages: dict[str, _Message] = field(default_factory=dict)
    _by_receipt: dict[str, str] = field(default_factory=dict)
    dead: list[str] = field(default_factory=list)
    resent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, body: str, *, delay_s: int = 0, attributes: dict[str, str] | None = None) -> None:
        with self._lock:
            message = _Message(str(uuid.uuid4()), body, time.monotonic() + delay_s, waiting=bool(delay_s))
            self._messages[message.id] = message
            if delay_s:
                self.resent += 1

    def receive(self, most: int = 10) -> list[dict[str, Any]]:
        now = time.monotonic()
        out = []
        with self._lock:
            for message in list(self._messages.values()):
                if len(out) == most:
                    break
                if message.visible_at > now:
                    continue
                if message.receives >= self.max_receives:  # the redrive policy
                    self.dead.append(message.body)
                    del self._messages[message.id]
                    continue
                message.receives += 1
                message.visible_at = now + self.visibility_s
                message.waiting = False
                message.receipt = uuid.uuid4().hex
                self._by_receipt[message.receipt] = message.id
                out.append({"MessageId": message.id, "ReceiptHandle": message.receipt, "Body": message.body,
                            "Attributes": {"ApproximateReceiveCount": str(message.receives)}})
        return out

    def delete(self, receipt: str) -> None:
        with self._lock:
            message_id = self._by_receipt.pop(receipt, None)
            self._messages.pop(message_id, None)

    def change_visibility(self, receipt_handle: str, seconds: float) -> None:
        with self._lock:
            message = self._messages.get(self._by_receipt.get(receipt_handle, ""))
            if message is not None and message.receipt == receipt_handle:
                message.visible_at = time.monotonic() + int(round(seconds))
                message.waiting = True

    def reject(self, body: str, reason: str, *, message_id: str | None = None) -> None:
        with self._lock:
            self.dead.append(body)

    def depth(self) -> int:
        with self._lock:
            return len(self._messages)

    def dead_count(self) -> int:  # the counters as methods: a manager's proxy (blocker_processes) has no fields
        with self._lock:
            return len(self.dead)

    def resent_count(self) -> int:
        with self._lock:
            return self.resent

    def fast_forward(self) -> None:
        """Time passes for the idle tail: every deferred or delayed message becomes visible now (not those
        a worker is still handling: real SQS keeps them hidden)."""
        with self._lock:
            now = time.monotonic()
            for message in self._messages.values():
                if message.waiting:
                    message.visible_at = min(message.visible_at, now)


class LatentTransport:
    """Network round-trip time in front of the in-process emulator, all of it on the way back: a constant
    one-way delay shifts every arrival equally and changes nothing in Zoom's window, while a thread that
    sleeps before reaching the emulator wakes late by a few to a hundred ms under the GIL on a busy
    machine, a jitter of Python threads, not of networks. Client-side jitter (between the limiter's
    write and the send) stays in the measurement."""

    def __init__(self, inner: Any, rtt_s: float) -> None:
        self._inner = inner
        self._rtt_s = rtt_s

    def handle_request(self, request):
        response = self._inner.handle_request(request)
        time.sleep(self._rtt_s)
        return response

    def close(self) -> None:
        pass


# --- the workload ---------------------------------------------------------------------------------------

def workload(unique: int, covered: int, seed: int) -> tuple[list[str], list[str]]:
    """(bodies in delivery order, the numbers that must end up blocked once each)."""
    from spam_blocker.domain.block_request import BlockRequest

    rng = random.Random(seed)
    decided = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    area_codes = [f"{a}" for a in range(201, 990) if a % 100 not in (11,) and str(a)[1] != "9"]
    numbers = [f"+1{rng.choice(area_codes)}{rng.randrange(200, 999)}{n:04d}" for n in range(unique)]
    numbers = list(dict.fromkeys(numbers))
    inside = [f"+1{COVERING_PREFIX[1:]}{n:04d}" for n in range(covered)]

    def body(number: str) -> str:
        return BlockRequest(match_type="phoneNumber", phone_number=number, reason="benchmark: spam reports",
                            evidence={"reports": 5}, expires_at=decided + timedelta(days=30),
                            decided_at=decided).to_body()

    bodies = [body(n) for n in numbers] * 2 + [body(n) for n in inside]
    rng.shuffle(bodies)
    return bodies, numbers


# --- one scenario ---------------------------------------------------------------------------------------

@dataclass
class Scenario:
    name: str
    workers: int
    unique: int
    covered: int
    faults: bool = False
    naive: bool = False
    pacing_ms: int | None = None  # None: the product's default (BlockerSettings)
    deadline_s: float = 60.0
    processes: bool = False  # one OS process per instance (blocker_processes) instead of one thread


def _figures(name: str, emulator: Any, numbers: list[str], started: datetime, elapsed: float,
             dead: int, extra: dict[str, Any]) -> dict[str, Any]:
    requests = [r for r in emulator.requests if r.category is not None and r.at >= started]
    light = sorted(r.at for r in requests if r.category == "Light" and r.status not in (429, None))
    created = sorted(r.at for r in requests if r.route == "POST /phone/blocked_list" and r.status == 201)
    entries = Counter(e["phone_number"] for e in emulator.entries() if e["phone_number"] != COVERING_PREFIX)
    throttled = sum(1 for r in requests if r.status == 429)
    wanted = set(numbers)
    figures: dict[str, Any] = {
        "entries": sum(entries.values()),
        "requests": len(requests),
        "requests_per_entry": round(len(requests) / max(1, sum(entries.values())), 3),
        "light_fraction": round(_busy_rate(light, created) / LIGHT_LIMIT, 3),
        "share_429": round(throttled / max(1, len(requests)), 4),
        "duplicates": sum(count - 1 for count in entries.values() if count > 1),
        "missing": len(wanted - set(entries)),
        "dead_lettered": dead,
        "seconds": round(elapsed, 1),
        **extra,
    }
    return {f"{name}_{k}": v for k, v in figures.items()}


def _busy_rate(light: list[datetime], created: list[datetime]) -> float:
    """Light requests per second between the 5 % and 95 % marks of entry creation (the busy span, before
    the tail of a drained queue)."""
    if len(created) < 10:
        return 0.0
    lo, hi = created[int(len(created) * 0.05)], created[int(len(created) * 0.95) - 1]
    span = (hi - lo).total_seconds()
    return sum(1 for t in light if lo <= t <= hi) / span if span > 0 else 0.0


def scenario_settings_env(scenario: Any) -> dict[str, str]:
    env = {"BLOCKS_TABLE": "blocks", "RATE_LIMIT_TABLE": "rate", "BLOCK_QUEUE_URL": "sim", "BLOCK_DLQ_URL": "sim-dlq",
           "ZOOM_ACCOUNT_ID": ACCOUNT[0], "ZOOM_CLIENT_ID": ACCOUNT[1], "ZOOM_CLIENT_SECRET": ACCOUNT[2],
           "ZOOM_PLAN": PLAN, "PENDING_STALE_AFTER_S": "60"}
    if scenario.pacing_ms is not None:
        env["PACING_MAX_WAIT_MS"] = str(scenario.pacing_ms)
    return env


def _inject_faults(emulator: Any) -> None:
    for kind, rate, options in (("5xx", 0.03, {"status": 503}), ("commit_then_fail", 0.02, {"fail_with": "drop"}),
                                ("commit_then_fail", 0.01, {"fail_with": "5xx", "status": 502}),
                                ("drop", 0.01, {}), ("slow", 0.01, {"delay_s": 30.0}),
                                ("429", 0.005, {"retry_after_s": 1})):
        emulator.faults.inject(kind, route="POST /phone/blocked_list", rate=rate, count=None, **options)


def run_scenario(scenario: Scenario, seed: int = 7) -> dict[str, Any]:
    if scenario.processes:
        from benchmarks.blocker_processes import run_scenario_processes

        return run_scenario_processes(scenario, seed)
    import boto3
    from moto import mock_aws
    from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
    from spam_blocker.adapters.tables import BLOCKS_TABLE, RATE_LIMIT_TABLE, create_table
    from spam_blocker.clock import SystemClock
    from spam_blocker.config.blocker import BlockerSettings
    from spam_blocker.domain.block_request import BlockKey
    from spam_blocker.domain.block_state import BlockRecord, BlockState, tag_comment
    from spam_blocker.wiring.blocker import build_deps, warm_up
    from spam_blocker.zoom.auth import clear_token_cache
    from spam_blocker.zoom.client import ZoomClient

    from local.emulator import ZoomEmulator
    from local.moto_locks import make_moto_thread_safe

    make_moto_thread_safe()
    clear_token_cache()
    bodies, numbers = workload(scenario.unique, scenario.covered, seed)
    emulator = ZoomEmulator(plan=PLAN, clock=SystemClock(), seed=seed)
    if scenario.faults:
        _inject_faults(emulator)
    queue = SimQueue()
    for text in bodies:
        queue.send(text)
    transport = LatentTransport(emulator.transport(), RTT_S)

    def client() -> ZoomClient:
        return ZoomClient.create(API_URL, OAUTH_URL, *ACCOUNT, transport=transport)

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(ddb, "blocks", BLOCKS_TABLE)
        create_table(ddb, "rate", RATE_LIMIT_TABLE)
        prefix_id = emulator.add_entry(COVERING_PREFIX, match_type="prefix", comment=tag_comment("benchmark prefix"))
        DynamoBlockStore(ddb, "blocks").transition(None, BlockRecord(
            BlockKey("prefix", COVERING_PREFIX, "inbound"), BlockState.ACTIVE, zoom_id=prefix_id))
        settings = BlockerSettings.from_env(scenario_settings_env(scenario))
        stop = threading.Event()
        if scenario.naive:
            clients = [client() for _ in range(scenario.workers)]
            work = [lambda zoom=zoom: _naive_worker(queue, zoom, stop) for zoom in clients]
        else:
            containers = [build_deps(settings, dynamodb=ddb, sqs=None, zoom=client(), account=ACCOUNT[0], queue=queue,
                                     dead_letters=queue, rng=random.Random(seed + n)) for n in range(scenario.workers)]
            work = [lambda deps=deps: _smart_worker(queue, deps, stop, warm_up) for deps in containers]
        started = SystemClock().now()
        t0 = time.monotonic()
        threads = [threading.Thread(target=w, daemon=True) for w in work]
        for t in threads:
            t.start()
        all_blocked_s = watch(queue, emulator, numbers, t0, scenario.deadline_s)
        stop.set()
        for t in threads:
            t.join(5)
        return scenario_figures(scenario, emulator, numbers, started, t0, all_blocked_s, queue)


def watch(queue: Any, emulator: Any, numbers: list[str], t0: float, deadline_s: float) -> float | None:
    """Until the queue is empty (or the deadline): the seconds until every number was in Zoom, if it was."""
    all_blocked_s = None
    while queue.depth() and time.monotonic() - t0 < deadline_s:
        time.sleep(0.05)
        if all_blocked_s is None and set(numbers) <= {e["phone_number"] for e in emulator.entries()}:
            all_blocked_s = time.monotonic() - t0
        if all_blocked_s is not None:  # only duplicates and covered requests are left: skip their waits
            queue.fast_forward()
    return all_blocked_s


def scenario_figures(scenario: Scenario, emulator: Any, numbers: list[str], started: datetime, t0: float,
                     all_blocked_s: float | None, queue: Any, **more: Any) -> dict[str, Any]:
    elapsed = time.monotonic() - t0
    extra = {"all_blocked_s": round(all_blocked_s or elapsed, 1), "left_in_queue": queue.depth(),
             "resent": queue.resent_count(), **more}
    if scenario.faults:
        extra["listings"] = sum(1 for r in emulator.requests if r.route == "GET /phone/blocked_list")
        extra["faults_fired"] = sum(1 for r in emulator.requests if r.fault)
    return _figures(scenario.name, emulator, numbers, started, elapsed, queue.dead_count(), extra)


def _smart_worker(queue: SimQueue, deps: Any, stop: threading.Event, warm_up: Any) -> None:
    from functions.blocker.handler import handle
    from local.esm_loop import LambdaContext, sqs_record

    warm_up(deps)  # what get_deps() does at a container's cold start
    while not stop.is_set():
        messages = queue.receive(10)
        if not messages:
            time.sleep(0.02)
            continue
        event = {"Records": [sqs_record(m, QUEUE_ARN, "us-east-1") for m in messages]}
        try:
            result = handle(event, LambdaContext(function_name="blocker"), deps)
        except Exception:  # the whole batch failed: nothing deleted, SQS redelivers later
            continue
        failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                queue.delete(m["ReceiptHandle"])


def _naive_worker(queue: SimQueue, zoom: Any, stop: threading.Event) -> None:
    """What a straightforward blocker does: POST every request; on 429 sleep (Retry-After, else 1 s) and
    try again; on any other error let SQS redeliver."""
    from spam_blocker.zoom.errors import ZoomError, ZoomRateLimited

    while not stop.is_set():
        messages = queue.receive(10)
        if not messages:
            time.sleep(0.02)
            continue
        for m in messages:
            request = json.loads(m["Body"])
            for _ in range(10):
                try:
                    zoom.create_blocked(match_type=request["match_type"], phone_number=request["phone_number"],
                                        block_type=request["block_type"], comment="spam")
                    queue.delete(m["ReceiptHandle"])
                    break
                except ZoomRateLimited as exc:
                    time.sleep(max(0.0, min((exc.retry_at - datetime.now(UTC)).total_seconds(), 5.0)) or 1.0)
                except ZoomError:
                    break


# --- the benchmark --------------------------------------------------------------------------------------

def scenarios(quick: bool) -> list[Scenario]:
    scale = 0.2 if quick else 1.0

    def n(value: int) -> int:
        return max(10, int(value * scale))

    # BENCH_PROCESSES=1: the 16-instance scenarios with one OS process per instance (blocker_processes)
    processes = os.environ.get("BENCH_PROCESSES", "") not in ("", "0")
    return [
        Scenario("n1", workers=1, unique=n(24), covered=n(40)),
        Scenario("n4", workers=4, unique=n(180), covered=n(150)),
        # Enough work for 16 instances that ramp-up and the tail of a drained queue (the last deferred
        # records coming back) do not dominate the busy-span rate: 2,000 block requests, ~45 s at the limit.
        Scenario("n16", workers=16, unique=n(900), covered=n(200), deadline_s=120.0, processes=processes),
        Scenario("n16_unpaced", workers=16, unique=n(160), covered=n(200), pacing_ms=UNPACED_MS,
                 processes=processes),
        Scenario("n16_faults", workers=16, unique=n(100), covered=n(150), faults=True),
        Scenario("naive_n16", workers=16, unique=n(40), covered=n(60), naive=True),
    ]


def _default_pacing_ms() -> int:
    from spam_blocker.config.blocker import BlockerSettings

    return BlockerSettings.model_fields["pacing_max_wait_ms"].default


@contextlib.contextmanager
def _quiet():
    """The handler logs every record and Powertools prints metric sets: keep the benchmark's output clean."""
    from spam_blocker.observability import logger, metrics

    level = logger.log_level
    logger.setLevel("ERROR")
    saved = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)
        metrics.clear_metrics()
        if saved is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = saved


def run(quick: bool = False) -> dict[str, Any]:
    figures: dict[str, Any] = {"light_limit_per_s": LIGHT_LIMIT, "rtt_ms": round(RTT_S * 1000)}
    with _quiet():
        for scenario in scenarios(quick):
            figures.update(run_scenario(scenario))
    figures["scaling_n4_over_n1"] = round(figures["n4_light_fraction"] / max(figures["n1_light_fraction"], 1e-9), 2)
    figures["scaling_n16_over_n4"] = round(figures["n16_light_fraction"] / max(figures["n4_light_fraction"], 1e-9), 2)
    figures["paced_over_unpaced_n16"] = round(
        figures["n16_light_fraction"] / max(figures["n16_unpaced_light_fraction"], 1e-9), 2)
    figures["default_pacing_ms"] = _default_pacing_ms()
    figures["naive_over_smart_429_share"] = round(
        figures["naive_n16_share_429"] / max(figures["n16_share_429"], 1 / max(1, figures["n16_requests"])), 1)
    figures["naive_over_smart_requests_per_entry"] = round(
        figures["naive_n16_requests_per_entry"] / max(figures["n16_requests_per_entry"], 1e-9), 2)
    return figures


if __name__ == "__main__":
    from benchmarks import standalone

    raise SystemExit(standalone("bench_blocker", run))
