"""`spam-blocker run`'s Pipeline in-process (moto, the real handlers under the local event-source mapping, its
feeder and pollers on real threads) against the Zoom emulator behind a real socket (`serve`).

tests/e2e/test_run_cli.py already runs the command as a subprocess with malformed lines, a 5xx, a lost POST
answer and a second idempotent run. These add what it does not: lines that used to stop the whole run
(nesting too deep for the JSON parser, times that overflow), every event delivered twice and newest first,
a run during which the scorer dies once and Zoom revokes the token, and one where Zoom answers 429 and
drops a POST. Real time passes here (deferrals are real SQS visibility): each run waits two seconds at most.
"""

from __future__ import annotations

import io
import json
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

import functions.scorer.handler as scorer_module
import local.local_aws as local_aws
from local.emulator import ZoomEmulator, serve, stop
from local.pipeline import Pipeline, RunOptions, RunSummary
from local.zoom_access import ZoomAccess
from tests.reliability.harness import not_spam, reported_twice

NUMBERS = [f"+1907555{n:04d}" for n in range(8)]
DEEP = "[" * (sys.getrecursionlimit() + 200) + "]" * (sys.getrecursionlimit() + 200)


def run(emulator: ZoomEmulator, events: Path, log: io.StringIO | None = None, **options) -> RunSummary:
    server, thread = serve(emulator)
    try:
        access = ZoomAccess(api_url=f"{server.base_url}/v2", oauth_url=f"{server.base_url}/oauth/token",
                            account_id="dev-account", client_id="dev-client-id", client_secret="dev-client-secret",
                            plan="pro", emulated=True)
        return Pipeline(RunOptions(events=events, progress=False, **options), access, log=log or io.StringIO()).run()
    finally:
        stop(server, thread)


def ours(emulator: ZoomEmulator) -> Counter[tuple[str, str]]:
    return Counter((e["match_type"], e["phone_number"]) for e in emulator.entries())


def scenario() -> list[str]:
    """Five numbers two people report, one cleared later by a colleague, and calls that are not evidence."""
    events = [b for k, n in enumerate(NUMBERS[:5]) for b in reported_twice(n, minutes=k * 10)]
    events.append(not_spam(NUMBERS[2], "ext-1003", minutes=120))
    events.append(json.dumps({"type": "call_log", "call_log": {
        "id": "internal-1", "caller_number": "1001", "caller_number_type": 1, "callee_number": "1002",
        "direction": "inbound", "duration": 40, "result": "Call connected", "date_time": "2026-11-20T11:30:00Z"}}))
    events.append(json.dumps({"type": "call_log", "call_log": {
        "id": "emergency-1", "caller_number": "911", "caller_number_type": 2, "callee_number": "+19075550999",
        "direction": "inbound", "duration": 60, "result": "Call connected", "date_time": "2026-11-20T11:31:00Z"}}))
    return events


BAD_LINES = [
    DEEP,
    json.dumps({"type": "spam_report", "phone_number": NUMBERS[6], "reporter": "x",
                "reported_at": "9999-12-31T23:59:59-01:00"}),
    json.dumps({"type": "spam_report", "phone_number": NUMBERS[6], "reporter": "y", "reported_at": "9999-12-20T00:00:00Z"}),
    '{"type": "call_log", "call_log": {"caller_number": "+19075550123"',
]


@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "parallel"])
def test_a_run_over_duplicated_reordered_events_and_unparseable_lines_ends_as_an_ordered_run(tmp_path, ordered):
    ordered_file = tmp_path / "ordered.jsonl"
    ordered_file.write_text("\n".join(scenario()) + "\n")
    in_order = ZoomEmulator(plan="pro", seed=1)
    first = run(in_order, ordered_file, ordered=ordered)
    expected = {("phoneNumber", n): 1 for n in NUMBERS[:5] if n != NUMBERS[2]}
    assert ours(in_order) == expected and first.dead_letters == {}

    # every event twice, newest first, with lines that used to stop the whole run
    lines = [line for event in reversed(scenario()) for line in (event, event)]
    bad_at = [3, 8, 9, 20]
    for position, bad in zip(bad_at, BAD_LINES, strict=True):
        lines.insert(position - 1, bad)
    chaos_file = tmp_path / "chaos.jsonl"
    chaos_file.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe not even utf-8\n")
    chaotic = ZoomEmulator(plan="pro", seed=1)

    summary = run(chaotic, chaos_file, ordered=ordered)

    assert ours(chaotic) == expected
    assert summary.events_read == len(lines) + 1
    assert sorted(r.line for r in summary.rejected_lines) == [*bad_at, len(lines) + 1]
    assert summary.events_rejected == len(BAD_LINES) + 1 and summary.dead_letters == {}
    # Scorers race: one that decided the reports before the not_spam was recorded may have had its block made
    # and then lifted by the unblock the other sent; such an entry was created, and is gone from Zoom.
    lifted = [b for b in summary.blocks if b["state"] == "removed"]
    assert all(b["phone_number"] == NUMBERS[2] for b in lifted)
    assert summary.blocks_created == len(expected) + len(lifted)


def test_an_ordered_run_makes_the_same_blocks_every_time(tmp_path):
    """A campaign inside the company's own exchange, tiled around its numbers: with pollers racing, which
    tiles a replay made depended on thread timing (the demo made 29 to 49 Zoom entries over eight runs)."""
    from local.traffic.generator import generate

    generated = generate(seed=2026, days=3)
    events, own = tmp_path / "events.jsonl", tmp_path / "own.txt"
    events.write_text(generated.jsonl())
    own.write_text(generated.own_numbers_text())
    made = []
    for _ in range(2):
        emulator = ZoomEmulator(plan="pro", seed=1)
        summary = run(emulator, events, own_numbers=own)
        made.append((ours(emulator), sorted((b["match_type"], b["phone_number"], b["state"]) for b in summary.blocks)))
    assert any(match_type == "prefix" for match_type, _ in made[0][0])
    assert made[0] == made[1]


class RevokesAfterFirstEntry(ZoomEmulator):
    """Zoom revokes every token right after it created the first entry: the other requests of that batch,
    and the other containers, still hold it."""

    revoked = False

    def __call__(self, environ, start_response):
        answer = super().__call__(environ, start_response)
        if not self.revoked and self.entries():
            self.revoked = True
            self.expire_tokens()
        return answer


def test_a_run_rides_out_a_scorer_killed_after_sending_and_a_revoked_token(tmp_path, monkeypatch):
    monkeypatch.setattr(local_aws, "LOCAL_VISIBILITY_S", 1)  # the killed batch comes back after 1 s, not 20
    emulator = RevokesAfterFirstEntry(plan="pro", seed=2)
    calls = Counter()
    lock = threading.Lock()
    real_scorer = scorer_module.lambda_handler

    def scorer_dies_once(event, context):
        result = real_scorer(event, context)
        with lock:
            calls["scorer"] += 1
            first = calls["scorer"] == 1
        if first:
            raise RuntimeError("Lambda runtime killed after sending block requests, before acknowledging")
        return result

    monkeypatch.setattr(scorer_module, "lambda_handler", scorer_dies_once)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(b for n in NUMBERS[:6] for b in reported_twice(n)) + "\n")

    summary = run(emulator, events)

    assert calls["scorer"] >= 2 and emulator.revoked
    assert ours(emulator) == {("phoneNumber", n): 1 for n in NUMBERS[:6]}  # the batch's requests came twice
    assert summary.blocks_created == 6 and summary.dead_letters == {} and summary.zoom_429s == 0
    unauthorized = [r for r in emulator.requests if r.status == 401]
    # each poller in flight with the revoked token is refused once, then the token is refreshed and shared
    assert 1 <= len(unauthorized) <= 4 and 2 <= emulator.stats()["tokens_issued"] <= 6


def test_a_run_rides_out_a_429_and_a_dropped_post(tmp_path):
    emulator = ZoomEmulator(plan="pro", seed=3)
    emulator.faults.inject("drop", route="POST /phone/blocked_list")
    emulator.faults.inject("429", route="POST /phone/blocked_list", retry_after="seconds", retry_after_s=1)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(b for n in NUMBERS[:6] for b in reported_twice(n)) + "\n")

    summary = run(emulator, events)

    assert not emulator.faults.pending()
    assert ours(emulator) == {("phoneNumber", n): 1 for n in NUMBERS[:6]}
    assert summary.blocks_created == 6 and summary.dead_letters == {}
    assert summary.zoom_429s == 1  # the injected one: the shared limiter kept Zoom's real limit
    assert summary.zoom_requests["POST /phone/blocked_list"] == 6 + 2


def test_events_too_large_for_sqs_are_rejected_and_large_ones_are_batched_within_its_limit(tmp_path):
    padded = [json.dumps({**json.loads(line), "padding": "x" * 120_000}) for line in scenario()[:10]]  # 5 numbers
    huge = json.dumps({**json.loads(scenario()[0]), "padding": "x" * 300_000})
    events = tmp_path / "large.jsonl"
    events.write_text("\n".join([huge, *padded]) + "\n")
    emulator = ZoomEmulator(plan="pro", seed=1)

    summary = run(emulator, events)

    assert [(r.line, r.reason) for r in summary.rejected_lines] == [
        (1, f"event of {len(huge):,} bytes: an SQS message holds at most 262,144")]
    assert ours(emulator) == {("phoneNumber", n): 1 for n in NUMBERS[:5]} and summary.dead_letters == {}


def _past_the_daily_limit(tmp_path: Path) -> tuple[ZoomEmulator, Path, io.StringIO]:
    """A Zoom whose daily limit is spent, and three numbers two people report each."""
    emulator = ZoomEmulator(plan="pro", seed=4)
    emulator.faults.inject("429", route="POST /phone/blocked_list", limit_type="Daily-limit", count=50)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(b for n in NUMBERS[:3] for b in reported_twice(n)) + "\n")
    return emulator, events, io.StringIO()


def test_block_requests_deferred_to_zoom_s_daily_reset_end_the_run_instead_of_holding_it(tmp_path):
    emulator, events, log = _past_the_daily_limit(tmp_path)

    summary = run(emulator, events, log, blocker_idle_limit_s=1.0)

    assert summary.blocks_created == 0 and summary.blocks_deferred == 3
    assert summary.zoom_429s == 1  # the first daily 429 is recorded; the others wait for the reset, unsent
    assert "3 block request(s) still waiting: deferred by Zoom's rate limits" in log.getvalue()


def test_an_ordered_run_goes_on_without_requests_deferred_to_the_daily_reset_and_says_so(tmp_path):
    emulator, events, log = _past_the_daily_limit(tmp_path)

    # batches of two events: each number's two reports, then the next number's, once the last is settled
    summary = run(emulator, events, log, blocker_idle_limit_s=1.0, scorer_batch_size=2, ordered_wait_s=0.3)

    assert summary.blocks_created == 0 and summary.blocks_deferred == 3
    assert "1 message(s) waited to come back without progress for 0.3 s" in log.getvalue()


@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "parallel"])
def test_a_429_on_every_post_ends_the_run_instead_of_retrying_forever(tmp_path, ordered):
    """Deferred requests the blocker takes again every second are not progress: the run ends and says so."""
    emulator = ZoomEmulator(plan="pro", seed=5)
    emulator.faults.inject("429", route="POST /phone/blocked_list", count=100_000)  # QPS, Retry-After 1 s
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(b for n in NUMBERS[:3] for b in reported_twice(n)) + "\n")
    log = io.StringIO()

    summary = run(emulator, events, log, blocker_idle_limit_s=1.0, scorer_batch_size=2, ordered_wait_s=0.3,
                  ordered=ordered)

    assert summary.blocks_created == 0 and summary.blocks_deferred == 3 and summary.blocks_requested == 3
    assert summary.zoom_429s >= 1 and summary.zoom_refused is None
    assert sorted(b["phone_number"] for b in summary.blocks) == NUMBERS[:3]  # each named, sent or not
    assert {b["state"] for b in summary.blocks} <= {"pending", "not_sent"}
    assert "3 block request(s) still waiting: deferred by Zoom's rate limits" in log.getvalue()


class RotatesSecretAfterFirstEntry(ZoomEmulator):
    """Someone rotates the app's client secret in the Marketplace while the run goes on."""

    def __call__(self, environ, start_response):
        answer = super().__call__(environ, start_response)
        if self.client_secret != "rotated" and self.entries():
            self.client_secret = "rotated"
            self.expire_tokens()
        return answer


def test_credentials_refused_during_the_run_end_it_naming_the_refusal(tmp_path):
    emulator = RotatesSecretAfterFirstEntry(plan="pro", seed=6)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(b for n in NUMBERS[:3] for b in reported_twice(n)) + "\n")
    log = io.StringIO()

    summary = run(emulator, events, log, blocker_idle_limit_s=1.0, scorer_batch_size=2, ordered_wait_s=0.3)

    assert len(emulator.entries()) == 1 and summary.blocks_deferred == 2
    assert summary.zoom_refused and "invalid_client" in summary.zoom_refused
    assert "still waiting: Zoom now refuses the credentials" in log.getvalue()


def test_a_listing_that_fails_at_start_is_read_again_from_the_start(tmp_path):
    """A 5xx (or a page token that expired) while the list is read at start: no duplicates, no exit 3."""
    emulator = ZoomEmulator(plan="pro", seed=7)
    emulator.add_entry(NUMBERS[0], comment="[spam-blocker] block: reported by 2 people")
    emulator.faults.inject("5xx", route="GET /phone/blocked_list", count=3)  # more than the client retries
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(b for n in NUMBERS[:2] for b in reported_twice(n)) + "\n")
    log = io.StringIO()

    summary = run(emulator, events, log)

    assert "reading it again from the start" in log.getvalue()
    assert summary.blocks_adopted == 1 and summary.blocks_created == 1
    assert ours(emulator) == Counter({("phoneNumber", NUMBERS[0]): 1, ("phoneNumber", NUMBERS[1]): 1})
