"""The whole local pipeline (`spam-blocker run`): report-to-block latency, and throughput and memory at scale.

Latency. Generated company traffic with plenty of spam (local.traffic: robocallers, rotating-number
campaigns, reports) goes through `local.pipeline.Pipeline` in this process - moto SQS and DynamoDB, the
real scorer and blocker handlers under the local event-source mapping - against the Zoom emulator behind
a real socket (`serve`, Pro limits, system clock). Nothing in the pipeline is changed; it is watched from
outside through botocore hooks (registered for every botocore session the run creates) and through the
emulator's request log:

    enqueued   when the feeder's SendMessageBatch put an event on IngestQueue
    requested  when a scorer poller sent the block request to BlockQueue; the deciding event is, in the
               ingest batch that poller was handling (its last ReceiveMessage on IngestQueue), the last
               enqueued event about the blocked number (or about a number inside the blocked prefix)
    created    the emulator's time of the POST /phone/blocked_list that answered 201 for that entry

    latency = created - enqueued(deciding event), for every entry the run created; `scorer_part` is
    requested - enqueued, `blocker_part` is created - requested. The run replays in order (the runner's
    default): the feeder sends one scorer batch (50 events) at a time, once the last one is scored and its
    block requests handled, so the latency is that of a full batch arriving at once: scoring all of it,
    then the blocker (behind Zoom's rate limits when a range's tiles come in one go).

The same run gives the end-to-end exactly-once figures: requests spent per created entry (every POST,
429s included, and every lookup listing; not the one adoption listing at start, not OAuth, not the
DELETEs of unblocks, shown apart), duplicate entries, 429 share of all API requests, dead letters.

Scale. A larger generated file (a company of 90-99 people over months; 6,000 events, quick: 3,000) through the real
command, `python -m local.cli run --events FILE --own-numbers FILE --summary-json FILE --quiet`, in a child
process with its own emulator, replayed in order (the default) and with `--parallel`: events/second of the whole run (`duration_s` of its summary: moto start,
adoption listing, feeding, scoring, blocking, the closing reports) and the child's peak RSS
(`os.wait4`), the figures behind DESIGN.md's "tens of thousands of events in a few minutes on 2 cores".

The naive-blocker baselines (requests per entry, duplicates, rate utilisation, 429 share) are in
bench_blocker, which runs the same Zoom limits and queue with and without our blocker.

    python -m benchmarks.bench_pipeline [--quick]
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = 11
REGION = "US"
LIGHT_LIMIT = 20  # Pro: POST /phone/blocked_list is Light, 20 requests per second


def _shapes():
    from local.traffic.generator import TrafficShape

    spammy = TrafficShape(robocallers=(25, 35), campaigns=(4, 6), report_rate=(0.3, 0.5))
    large = TrafficShape(employees=(90, 99))  # the generator numbers employees with two digits: at most 100
    return spammy, large


def _events(shape: Any, count: int, seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The first `count` events (event-time order) of generated traffic, and the company's own numbers."""
    from local.traffic.generator import generate

    days = 7
    while True:
        scenario = generate(seed=seed, days=days, shape=shape)
        if len(scenario.events) >= count or days >= 400:
            return scenario.events[:count], scenario.own_numbers
        days = math.ceil(days * count / max(1, len(scenario.events)) * 1.1)


def _write(directory: Path, events: list[dict[str, Any]], own_numbers: list[str]) -> tuple[Path, Path]:
    events_file, own_file = directory / "events.jsonl", directory / "own.txt"
    events_file.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    own_file.write_text("".join(f"{n}\n" for n in own_numbers))
    return events_file, own_file


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (0 < share <= 1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# --- watching the run from outside -----------------------------------------------------------------------

@dataclass
class _Probe:
    """botocore hooks on every client of the boto3 default session: what went on and came off the queues."""

    enqueued: dict[str, float] = field(default_factory=dict)  # ingest body -> wall time it was sent
    # thread -> bodies of the ingest batch it is handling: a poller gathers a batch from several receives
    # and deletes what was done after the handler returned; its next receive starts a new batch
    last_batch: dict[int, list[str]] = field(default_factory=dict)
    batch_closed: set[int] = field(default_factory=set)
    # block key -> (when it was sent, the scope of its deciding event, the ingest batch it was decided in)
    requests: dict[tuple[str, str], tuple[float, tuple[str, str], list[str]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def before_call(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        url = str(params.get("QueueUrl", ""))
        context["bench_queue"] = url.rsplit("/", 1)[-1]
        if model.name == "DeleteMessageBatch" and context["bench_queue"] == "ingest":
            with self.lock:
                self.batch_closed.add(threading.get_ident())
        if model.name != "SendMessageBatch":
            return
        now = time.time()
        queue = context["bench_queue"]
        bodies = [entry["MessageBody"] for entry in params.get("Entries", [])]
        with self.lock:
            if queue == "ingest":
                for body in bodies:
                    self.enqueued.setdefault(body, now)
            elif queue == "block":
                batch = self.last_batch.get(threading.get_ident(), [])
                for body in bodies:
                    found = _block_key(body)
                    if found is not None:
                        self.requests.setdefault(found[0], (now, found[1], batch))

    def after_call(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.name == "ReceiveMessage" and context.get("bench_queue") == "ingest":
            bodies = [m["Body"] for m in parsed.get("Messages", [])]
            if bodies:
                thread = threading.get_ident()
                with self.lock:
                    if thread in self.batch_closed or thread not in self.last_batch:
                        self.batch_closed.discard(thread)
                        self.last_batch[thread] = []
                    self.last_batch[thread] = self.last_batch[thread] + bodies

    @contextlib.contextmanager
    def attached(self):
        """Hooks for every botocore session created meanwhile (moto gives the run a fresh default session, so
        they go where botocore registers its own handlers on each new session)."""
        from botocore import handlers

        added = [("before-parameter-build.sqs", self.before_call), ("after-call.sqs", self.after_call)]
        handlers.BUILTIN_HANDLERS.extend(added)
        try:
            yield self
        finally:
            for entry in added:
                handlers.BUILTIN_HANDLERS.remove(entry)


def _block_key(body: str) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """A block request's key (match type, number or prefix), and the scope its deciding event lies in: the
    number itself, or the campaign's range for a prefix (a range blocked as tiles around protected numbers
    is one decision; its deciding event may lie in any of the tiles)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("action", "block") != "block":
        return None
    key = (str(data.get("match_type")), str(data.get("phone_number")))
    campaign = (data.get("evidence") or {}).get("campaign") if isinstance(data.get("evidence"), dict) else None
    if key[0] == "prefix" and isinstance(campaign, dict) and isinstance(campaign.get("prefix"), str):
        return key, ("prefix", campaign["prefix"])
    return key, key


_NUMBERS: dict[str, str | None] = {}


def _number_of(body: str) -> str | None:
    """The external number an ingest event is about (E.164), or None."""
    if body not in _NUMBERS:
        from spam_blocker.domain.events import InvalidEvent, parse_ingest_event
        from spam_blocker.domain.evidence import Contribution, contribution_from

        try:
            result = contribution_from(parse_ingest_event(body), REGION)
        except InvalidEvent:
            result = None
        _NUMBERS[body] = result.number if isinstance(result, Contribution) else None
    return _NUMBERS[body]


def _concerns(body: str, key: tuple[str, str]) -> bool:
    number = _number_of(body)
    if number is None:
        return False
    match_type, target = key
    return number == target if match_type == "phoneNumber" else number.lstrip("+").startswith(target)


# --- latency ---------------------------------------------------------------------------------------------

def latency_run(count: int, seed: int = SEED) -> dict[str, Any]:
    from local.emulator import ZoomEmulator, serve, stop
    from local.pipeline import Pipeline, RunOptions
    from local.zoom_access import ZoomAccess

    spammy, _ = _shapes()
    events, own_numbers = _events(spammy, count, seed)
    emulator = ZoomEmulator(plan="pro", seed=seed)
    server, thread = serve(emulator)
    probe = _Probe()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
            events_file, own_file = _write(Path(tmp), events, own_numbers)
            access = ZoomAccess(api_url=f"{server.base_url}/v2", oauth_url=f"{server.base_url}/oauth/token",
                                account_id="dev-account", client_id="dev-client-id",
                                client_secret="dev-client-secret", plan="pro", emulated=True)
            options = RunOptions(events=events_file, own_numbers=own_file, region=REGION, progress=False)
            with probe.attached(), contextlib.redirect_stdout(io.StringIO()):
                started = time.perf_counter()
                summary = Pipeline(options, access, log=io.StringIO()).run()
                elapsed = time.perf_counter() - started
    finally:
        stop(server, thread)

    created: dict[tuple[str, str], float] = {}
    for record in emulator.requests:
        if record.route == "POST /phone/blocked_list" and record.status == 201:
            body = json.loads(record.body or "{}")
            key = (body.get("match_type", "phoneNumber"), body.get("phone_number", ""))
            created.setdefault(key, record.at.timestamp())
    totals, scorer_part, blocker_part = [], [], []
    unattributed = 0
    for key, created_at in created.items():
        if key not in probe.requests:
            unattributed += 1
            continue
        requested_at, scope, batch = probe.requests[key]
        deciding = [probe.enqueued[b] for b in batch if b in probe.enqueued and _concerns(b, scope)]
        if not deciding:
            unattributed += 1
            continue
        enqueued_at = max(deciding)
        totals.append(created_at - enqueued_at)
        scorer_part.append(requested_at - enqueued_at)
        blocker_part.append(created_at - requested_at)

    api = [r for r in emulator.requests if r.category is not None]
    # Requests spent on creating entries: every POST (429s and failures included) and every listing but the
    # adoption listing at start (lookups before a retry). DELETEs are unblocks (not_spam), counted apart.
    listings = [r for r in api if r.route == "GET /phone/blocked_list"]
    creating = sum(1 for r in api if r.route == "POST /phone/blocked_list") + max(0, len(listings) - 1)
    entries = Counter((e["match_type"], e["phone_number"].lstrip("+")) for e in emulator.entries())
    figures: dict[str, Any] = {
        "latency_events": summary.events_read,
        "latency_run_s": round(elapsed, 1),
        "latency_events_per_s": round(summary.events_read / elapsed, 1),
        "latency_blocks_created": len(created),
        "latency_measured": len(totals),
        "latency_unattributed": unattributed,
    }
    if totals:
        figures.update({
            "latency_p50_s": round(percentile(totals, 0.5), 2),
            "latency_p95_s": round(percentile(totals, 0.95), 2),
            "latency_max_s": round(max(totals), 2),
            "latency_scorer_part_p50_s": round(percentile(scorer_part, 0.5), 2),
            "latency_blocker_part_p50_s": round(percentile(blocker_part, 0.5), 2),
            "latency_blocker_part_p95_s": round(percentile(blocker_part, 0.95), 2),
        })
    figures.update({
        "e2e_zoom_requests": len(api),
        "e2e_requests_per_entry": round(creating / max(1, len(created)), 3),
        "e2e_unblock_deletes": sum(1 for r in api if r.route == "DELETE /phone/blocked_list/{id}"),
        "e2e_duplicates": sum(n - 1 for n in entries.values() if n > 1),
        "e2e_share_429": round(sum(1 for r in api if r.status == 429) / max(1, len(api)), 4),
        "e2e_dead_letters": sum(len(v) for v in summary.dead_letters.values()),
    })
    return figures


# --- scale -----------------------------------------------------------------------------------------------

def scale_run(count: int, seed: int = SEED, *, parallel: bool = False) -> dict[str, Any]:
    """`spam-blocker run` in a child process over `count` events; its own emulator (no ZOOM_API_URL).
    `parallel`: with --parallel, figures named scale_parallel_*."""
    _, large = _shapes()
    events, own_numbers = _events(large, count, seed)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "AWS_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "shared"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-scale-") as tmp:
        events_file, own_file = _write(Path(tmp), events, own_numbers)
        summary_file = Path(tmp) / "summary.json"
        command = [sys.executable, "-m", "local.cli", "run", "--events", str(events_file), "--own-numbers",
                   str(own_file), "--summary-json", str(summary_file), "--quiet", *(["--parallel"] if parallel else [])]
        with open(Path(tmp) / "stderr.txt", "w+b") as errors:
            started = time.perf_counter()
            child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors)
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - started
            if child.returncode != 0:
                errors.seek(0)
                tail = errors.read().decode("utf-8", "replace")[-2000:]
                raise RuntimeError(f"spam-blocker run exited {child.returncode}: {tail}")
        summary = json.loads(summary_file.read_text())
    duration = float(summary["duration_s"])
    if parallel:
        return {"scale_parallel_run_s": round(duration, 1),
                "scale_parallel_events_per_s": round(summary["events_read"] / duration, 1),
                "scale_parallel_blocks_created": summary["blocks_created"]}
    return {
        "scale_events": summary["events_read"],
        "scale_run_s": round(duration, 1),
        "scale_events_per_s": round(summary["events_read"] / duration, 1),
        "scale_process_s": round(wall, 1),
        "scale_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
        "scale_rejected": summary["events_rejected"],
        "scale_blocks_created": summary["blocks_created"],
        "scale_zoom_requests": sum(summary["zoom_requests"].values()),
        "scale_zoom_429s": summary["zoom_429s"],
    }


def run(quick: bool = False) -> dict[str, Any]:
    figures = latency_run(600 if quick else 2500)
    figures.update(scale_run(3_000 if quick else 6_000))
    figures.update(scale_run(3_000 if quick else 6_000, parallel=True))
    return figures


if __name__ == "__main__":
    from benchmarks import standalone

    raise SystemExit(standalone("bench_pipeline", run))
