"""`spam-blocker run` end to end, exactly as DESIGN.md's CLI contract says: the console script as a
subprocess, against the Zoom emulator started as a separate process over HTTP on 127.0.0.1.

The scenario mixes a robocaller, a rotating-number campaign inside one exchange, a bank line with short
calls that employees answer and call back, an allowlisted pharmacy that people reported by mistake, an
emergency caller, an internal call, malformed lines and a blank line; Zoom fails some POSTs (a 5xx, and a
"commit then fail" whose answer is lost) and already holds a person's entry.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).with_name("spam-blocker"))
T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
EMPLOYEES = [f"+1415555{1000 + i}" for i in range(20)]
ROBOCALLER = "+13125550199"
BANK = "+18005550123"
PHARMACY = "+12065550142"
PERSONS_ENTRY = "+17185550111"  # a number a person blocked in the portal; the scenario also flags it
CAMPAIGN = [f"+1907555{n}{(n * 37) % 10}{(n * 53) % 10}{n % 10}" for n in range(10)]


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _call(call_id: str, caller: str, callee: str, minutes: float, duration: int, result: str, *,
          direction: str = "inbound", caller_type: int = 2) -> dict:
    return {"type": "call_log", "call_log": {
        "id": call_id, "caller_number": caller, "caller_number_type": caller_type, "callee_number": callee,
        "callee_number_type": 1, "direction": direction, "duration": duration, "result": result,
        "date_time": _at(minutes)}}


def _report(number: str, reporter: str, minutes: float, kind: str = "spam_report") -> dict:
    return {"type": kind, "phone_number": number, "reporter": reporter, "reported_at": _at(minutes),
            "reason": "robocall"}


def scenario_lines() -> tuple[list[str], int]:
    """The JSONL lines and how many of them are malformed."""
    events: list[dict] = []
    n = iter(range(10_000))
    for k in range(8):  # a robocaller, written the way people write numbers
        events.append(_call(f"r{next(n)}", "+1 (312) 555-0199", EMPLOYEES[k], 10 + k * 30, 2, "No Answer"))
    events += [_report("13125550199", who, 20 + k * 40) for k, who in enumerate(["ext-1", "ext-2", "ext-3"])]
    for i, number in enumerate(CAMPAIGN):  # a campaign rotating numbers inside +1 907 555
        events += [_call(f"c{next(n)}", number, EMPLOYEES[(i + k) % 20], 300 + i * 20 + k, 3, "No Answer")
                   for k in range(2)]
        if i % 2 == 0:
            events.append(_report(number, f"ext-{10 + i}", 305 + i * 20))
    for k in range(10):  # a bank's fraud line: short calls, mostly answered, and called back
        events.append(_call(f"b{next(n)}", BANK, EMPLOYEES[k], 60 + k * 50, 40 if k % 3 else 5,
                            "Call connected" if k % 3 else "No Answer"))
    events.append(_call(f"b{next(n)}", EMPLOYEES[1], BANK, 400, 300, "Call connected", direction="outbound",
                        caller_type=1))
    for k in range(6):  # an allowlisted pharmacy, reported by mistake
        events.append(_call(f"p{next(n)}", PHARMACY, EMPLOYEES[k], 100 + k * 45, 3, "No Answer"))
    events += [_report(PHARMACY, who, 500) for who in ("ext-5", "ext-6", "ext-7")]
    for k in range(5):  # a caller a person already blocked in the Zoom portal
        events.append(_call(f"x{next(n)}", PERSONS_ENTRY, EMPLOYEES[k], 600 + k, 2, "No Answer"))
    events += [_report(PERSONS_ENTRY, who, 620) for who in ("ext-8", "ext-9")]
    events.append(_call("e1", "911", EMPLOYEES[0], 700, 60, "Call connected"))
    events.append(_call("i1", "1001", EMPLOYEES[2], 710, 60, "Call connected", caller_type=1))
    good = [json.dumps(e) for e in events]
    bad = [
        "{not json",
        json.dumps({"type": "mystery"}),
        json.dumps({"type": "spam_report", "reporter": "x", "reported_at": _at(1)}),
        json.dumps({"type": "spam_report", "phone_number": "not-a-number", "reporter": "x", "reported_at": _at(1)}),
        json.dumps({"type": "spam_report", "phone_number": "+13125550100", "reporter": "x",
                    "reported_at": "2026-11-16T10:00:00"}),
    ]
    lines = good[:5] + [bad[0]] + good[5:20] + ["", bad[1]] + good[20:40] + bad[2:] + good[40:]
    return lines, len(bad)


class Emulator:
    """`spam-blocker emulator --port 0` as its own process; URLs read from what it prints."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([CLI, "emulator", "--port", "0"], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=_clean_env())
        self.urls: dict[str, str] = {}
        ready = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                line = line.removeprefix("export ")
                if "=" in line and line.startswith("ZOOM_"):
                    key, _, value = line.strip().partition("=")
                    self.urls[key] = value
                if {"ZOOM_API_URL", "ZOOM_OAUTH_URL"} <= self.urls.keys():
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(20):
            self.process.kill()
            raise RuntimeError("the emulator did not start within 20 s")
        self.base = self.urls["ZOOM_API_URL"].removesuffix("/v2")
        self.http = httpx.Client(base_url=self.base, timeout=5)

    def env(self, **overrides: str) -> dict[str, str]:
        return {**_clean_env(), "ZOOM_API_URL": self.urls["ZOOM_API_URL"], "ZOOM_OAUTH_URL": self.urls["ZOOM_OAUTH_URL"],
                "ZOOM_ACCOUNT_ID": "dev-account", "ZOOM_CLIENT_ID": "dev-client-id",
                "ZOOM_CLIENT_SECRET": "dev-client-secret", **overrides}

    def entries(self) -> list[dict]:
        body = self.http.get("/_emulator/entries").json()
        return body["entries"] if isinstance(body, dict) else body

    def requests(self) -> list[dict]:
        body = self.http.get("/_emulator/requests").json()
        return body["requests"] if isinstance(body, dict) else body

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "AWS_"))}
    env["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    return env


@pytest.fixture(scope="module")
def emulator():
    server = Emulator()
    yield server
    server.close()


@pytest.fixture
def zoom(emulator):
    emulator.http.post("/_emulator/reset").raise_for_status()
    return emulator


@pytest.fixture
def files(tmp_path):
    lines, malformed = scenario_lines()
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    allow = tmp_path / "allow.txt"
    allow.write_text("# the pharmacy's reminder line\n+1 (206) 555-0142\n")
    return {"events": events, "allow": allow, "malformed": malformed,
            "read": sum(1 for line in lines if line.strip()), "dir": tmp_path}


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "run", "--quiet", *args], env=env, capture_output=True, text=True, timeout=timeout)


def _digits(value: str) -> str:
    return value.lstrip("+")


def _covered(number: str, entries: list[dict]) -> bool:
    digits = _digits(number)
    return any((e["match_type"] == "phoneNumber" and _digits(e["phone_number"]) == digits)
               or (e["match_type"] == "prefix" and digits.startswith(e["phone_number"]))
               for e in entries if e["status"] == "active" and e["block_type"] == "inbound")


def test_a_mixed_run_with_faults_blocks_what_it_should_once_and_loses_nothing(zoom, files):
    # Given a person's own entry, and Zoom failing the first POSTs in two different ways
    zoom.http.post("/_emulator/entries", json={"phone_number": PERSONS_ENTRY, "comment": "blocked by Dana"})
    zoom.http.post("/_emulator/faults", json={"kind": "5xx", "route": "POST /phone/blocked_list", "count": 1})
    zoom.http.post("/_emulator/faults", json={"kind": "commit_then_fail", "route": "POST /phone/blocked_list",
                                              "count": 1})
    summary_path = files["dir"] / "summary.json"

    # When the runner replays the file
    started = time.monotonic()
    result = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]),
                     "--summary-json", str(summary_path))

    # Then it succeeds, and the summary accounts for every line
    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["events_read"] == files["read"]
    assert summary["events_rejected"] == files["malformed"]
    assert sorted(r["line"] for r in summary["rejected_lines"]) == [6, 23, 44, 45, 46]
    assert summary["dead_letters"] == {}  # nothing failed for good: every block request reached Zoom
    assert 0 < summary["duration_s"] < time.monotonic() - started + 1
    # ... Zoom holds exactly one entry per target: no duplicates despite the lost answer and the 5xx
    entries = zoom.entries()
    targets = [(e["match_type"], _digits(e["phone_number"]), e["block_type"]) for e in entries]
    assert len(targets) == len(set(targets)), entries
    ours = [e for e in entries if e["comment"].startswith("[spam-blocker]")]
    assert len(entries) == len(ours) + 1  # and the person's entry, untouched
    # ... what should be blocked is blocked, in Zoom's forms
    assert _covered(ROBOCALLER, entries)
    assert all(_covered(number, entries) for number in CAMPAIGN)
    assert all(e["phone_number"].startswith("+") for e in ours if e["match_type"] == "phoneNumber")
    assert all(e["phone_number"].isdigit() for e in ours if e["match_type"] == "prefix")
    # ... and what must not be blocked is not: the bank, the allowlisted pharmacy, 911
    for number in (BANK, PHARMACY, "+1911"):
        assert not _covered(number, entries), number
    assert not any(e["phone_number"] == PERSONS_ENTRY for e in ours)  # the person's entry was enough
    # ... the counts agree with what Zoom saw
    assert summary["blocks_created"] == len(ours)
    posts = [r for r in zoom.requests() if r["route"] == "POST /phone/blocked_list"]
    assert summary["zoom_requests"]["POST /phone/blocked_list"] == len(posts)
    assert summary["zoom_429s"] == sum(1 for r in zoom.requests() if r["status"] == 429)
    assert set(summary["zoom_requests"]) <= {"GET /phone/blocked_list", "POST /phone/blocked_list",
                                              "GET /phone/blocked_list/{id}", "DELETE /phone/blocked_list/{id}",
                                              "PATCH /phone/blocked_list/{id}"}
    assert summary["blocks_requested"] >= len(ours)
    # ... each block says when it was decided (event time) and until when; those the file's own clock has
    # passed are counted, as they stay in Zoom until an expirer run
    active = [b for b in summary["blocks"] if b["state"] == "active"]
    assert active and all(b["decided_at"] < b["expires_at"] and b["decided_at"] <= summary["last_event_at"]
                          for b in active)
    assert summary["blocks_past_expiry"] == sum(1 for b in active if b["expires_at"] < summary["last_event_at"])
    # ... and the blocks later evidence lifted are the entries deleted from Zoom
    assert summary["blocks_removed"] == summary["zoom_requests"].get("DELETE /phone/blocked_list/{id}", 0)
    # ... and the human summary says why
    assert "why:" in result.stdout and "1907555" in result.stdout


def test_a_second_run_over_the_same_events_creates_nothing(zoom, files):
    first = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]))
    assert first.returncode == 0, first.stderr
    before = zoom.entries()
    summary_path = files["dir"] / "second.json"

    # the second run with racing pollers (--parallel): what is in Zoom is adopted all the same
    second = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]),
                     "--summary-json", str(summary_path), "--parallel")

    assert second.returncode == 0, second.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["blocks_created"] == 0
    assert "POST /phone/blocked_list" not in summary["zoom_requests"]
    assert zoom.entries() == before


def test_a_429_while_listing_at_start_is_waited_out_and_nothing_is_duplicated(zoom, files):
    first = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]))
    assert first.returncode == 0, first.stderr
    for n in range(250):  # a person's entries: the listing takes three pages
        zoom.http.post("/_emulator/entries", json={"phone_number": f"+1212555{n:04d}", "comment": "by hand"})
    before = zoom.entries()
    zoom.http.post("/_emulator/faults", json={"kind": "429", "route": "GET /phone/blocked_list", "count": 1})
    summary_path = files["dir"] / "after-429.json"

    second = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]),
                     "--summary-json", str(summary_path))

    assert second.returncode == 0, second.stderr
    summary = json.loads(summary_path.read_text())
    ours = [e for e in before if e.get("comment", "").startswith("[spam-blocker]")]
    assert summary["blocks_created"] == 0 and summary["blocks_adopted"] == len(ours)
    pages = -(-len(before) // 100)
    assert summary["zoom_429s"] == 1 and summary["zoom_requests"]["GET /phone/blocked_list"] == pages + 1  # page asked again
    assert zoom.entries() == before


def test_our_blocks_over_numbers_now_allowlisted_or_own_are_lifted_before_any_work(zoom, files):
    first = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]))
    assert first.returncode == 0, first.stderr
    assert _covered(ROBOCALLER, zoom.entries()) and _covered(CAMPAIGN[3], zoom.entries())
    allow = files["dir"] / "allow-more.txt"
    allow.write_text(files["allow"].read_text() + "+1 (312) 555-0199\n")
    own = files["dir"] / "own.txt"
    own.write_text(CAMPAIGN[3] + "\n")  # inside the campaign's range block
    summary_path = files["dir"] / "lifted.json"
    before = zoom.entries()

    preview = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(allow),
                      "--own-numbers", str(own), "--dry-run", "--summary-json", str(summary_path))
    assert preview.returncode == 0, preview.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["blocks_lifted"] == 0 and summary["blocks_would_lift"] >= 2 and zoom.entries() == before
    # ... and previews what the real run then blocks instead: the campaign around the own number
    assert summary["blocks_requested"] > 0 and any(b["state"] == "would_block" for b in summary["blocks"])
    second = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(allow),
                     "--own-numbers", str(own), "--summary-json", str(summary_path))

    assert second.returncode == 0, second.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["blocks_lifted"] >= 2 and summary["blocks_would_lift"] == 0
    # every request counts, the lifts' DELETEs before any event included
    assert summary["zoom_requests"]["DELETE /phone/blocked_list/{id}"] >= summary["blocks_lifted"]
    # ... and the lifts at start are not "removed by later evidence"
    assert summary["blocks_removed"] == summary["zoom_requests"]["DELETE /phone/blocked_list/{id}"] - summary["blocks_lifted"]
    assert not _covered(ROBOCALLER, zoom.entries()) and not _covered(CAMPAIGN[3], zoom.entries())
    assert _covered(CAMPAIGN[0], zoom.entries())  # the campaign is blocked again, around the own number


def test_a_range_block_inside_a_wider_allowlisted_prefix_is_lifted(zoom, files):
    first = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]))
    assert first.returncode == 0, first.stderr
    assert _covered(CAMPAIGN[0], zoom.entries())
    allow = files["dir"] / "allow-area.txt"
    allow.write_text(files["allow"].read_text() + "+1907*\n")  # the whole area code around the campaign

    second = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(allow))

    assert second.returncode == 0, second.stderr
    assert not any(_covered(n, zoom.entries()) for n in CAMPAIGN)


def test_a_dry_run_adopts_but_never_deletes_a_duplicate_in_zoom(zoom, files):
    first = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]))
    assert first.returncode == 0, first.stderr
    ours = next(e for e in zoom.entries() if e.get("comment", "").startswith("[spam-blocker]"))
    zoom.http.post("/_emulator/entries", json={k: ours[k] for k in ("phone_number", "match_type", "comment")})
    before, sent_before = zoom.entries(), len(zoom.requests())

    result = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]), "--dry-run")

    assert result.returncode == 0, result.stderr
    assert zoom.entries() == before
    assert all(r["method"] == "GET" or r["path"].endswith("/oauth/token") for r in zoom.requests()[sent_before:])


@pytest.mark.parametrize("how", ["--dry-run", "DRY_RUN=true"])
def test_dry_run_reads_zoom_but_never_writes(zoom, files, how):
    env = zoom.env(**({"DRY_RUN": "true"} if how == "DRY_RUN=true" else {}))
    flags = ["--dry-run"] if how == "--dry-run" else []
    result = run_cli(env, "--events", str(files["events"]), *flags, "--summary-json", str(files["dir"] / "dry.json"))

    assert result.returncode == 0, result.stderr
    summary = json.loads((files["dir"] / "dry.json").read_text())
    assert summary["blocks_created"] == 0 and summary["blocks_requested"]
    assert zoom.entries() == []
    would = {b["phone_number"]: b for b in summary["blocks"] if b["state"] == "would_block"}
    assert _digits(ROBOCALLER) in {_digits(n) for n in would} and all(b["reason"] for b in would.values())
    assert "would be blocked (dry run)" in result.stdout
    assert all(r["method"] == "GET" or r["path"].endswith("/oauth/token") for r in zoom.requests())
    assert summary["zoom_requests"] == {"GET /phone/blocked_list": 1}
    assert summary["rehearsal_zoom_requests"]["POST /phone/blocked_list"] >= summary["blocks_would_create"]


def test_a_dry_run_previews_exactly_what_the_real_run_then_does(zoom, files):
    preview = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]),
                      "--expire-at", "2026-11-25T00:00:00Z", "--dry-run", "--summary-json", str(files["dir"] / "p.json"))
    real = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]),
                   "--expire-at", "2026-11-25T00:00:00Z", "--summary-json", str(files["dir"] / "r.json"))

    assert preview.returncode == real.returncode == 0, preview.stderr + real.stderr
    p, r = (json.loads((files["dir"] / name).read_text()) for name in ("p.json", "r.json"))
    assert (p["blocks_would_create"], p["blocks_requested"], p["blocks_would_expire"]) == (
        r["blocks_created"], r["blocks_requested"], r["blocks_expired"])
    shown = {"would_block": "active", "would_be_removed": "removed", "would_expire": "expired"}
    assert sorted((b["phone_number"], shown.get(b["state"], b["state"])) for b in p["blocks"]) == sorted(
        (b["phone_number"], b["state"]) for b in r["blocks"])


def test_expire_at_removes_the_blocks_from_zoom(zoom, files):
    summary_path = files["dir"] / "expire.json"

    result = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]),
                     "--expire-at", "2027-06-01T00:00:00Z", "--summary-json", str(summary_path))

    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["blocks_created"]
    assert summary["blocks_expired"] == summary["blocks_created"]
    assert [e for e in zoom.entries() if e["status"] == "active"] == []
    assert summary["blocks_past_expiry"] == 0


def test_expire_at_goes_on_after_429s_until_every_due_block_is_gone(zoom, files):
    # One expirer invocation stops at a 429; the run invokes it again after Zoom's Retry-After.
    zoom.http.post("/_emulator/faults", json={"kind": "429", "route": "DELETE /phone/blocked_list/{id}", "count": 3,
                                              "retry_after_s": 2})
    summary_path = files["dir"] / "expire-429.json"

    result = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]),
                     "--expire-at", "2027-06-01T00:00:00Z", "--summary-json", str(summary_path))

    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["zoom_429s"] == 3 and summary["blocks_not_expired"] == 0
    assert summary["blocks_expired"] == summary["blocks_created"]
    assert [e for e in zoom.entries() if e["status"] == "active"] == []


def test_blocks_adopted_from_zoom_count_from_event_time_too(zoom, files):
    events = files["dir"] / "2021.jsonl"
    lines = [_call(f"old{k}", ROBOCALLER, EMPLOYEES[k], k * 10, 2, "No Answer") for k in range(5)]
    lines += [_report(ROBOCALLER, who, 60) for who in ("ext-1", "ext-2")]
    events.write_text("".join(json.dumps(e).replace("2026-11-16", "2021-03-01") + "\n" for e in lines))
    first = run_cli(zoom.env(), "--events", str(events))
    assert first.returncode == 0, first.stderr
    assert _covered(ROBOCALLER, zoom.entries())
    summary_path = files["dir"] / "2021-expire.json"

    second = run_cli(zoom.env(), "--events", str(events), "--expire-at", "2021-06-01T00:00:00Z",
                     "--summary-json", str(summary_path))

    assert second.returncode == 0, second.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["blocks_adopted"] == 1 and summary["blocks_expired"] == 1
    assert not _covered(ROBOCALLER, zoom.entries())


def test_a_dry_run_with_expire_at_says_what_would_expire_and_removes_nothing(zoom, files):
    first = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]))
    assert first.returncode == 0, first.stderr
    before, sent_before = zoom.entries(), len(zoom.requests())
    summary_path = files["dir"] / "dry-expire.json"

    result = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]),
                     "--dry-run", "--expire-at", "2027-06-01T00:00:00Z", "--summary-json", str(summary_path))

    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["blocks_expired"] == 0 and summary["blocks_would_expire"] == summary["blocks_adopted"]
    assert {b["zoom_id"] for b in summary["blocks"]} <= {e["id"] for e in before}  # Zoom's ids, not the copy's
    assert zoom.entries() == before
    assert all(r["method"] == "GET" or r["path"].endswith("/oauth/token") for r in zoom.requests()[sent_before:])


@pytest.mark.parametrize("overrides, code, message", [
    ({"ZOOM_CLIENT_SECRET": "wrong"}, 3, "refused the credentials"),
    ({"ZOOM_API_URL": "http://127.0.0.1:9/v2", "ZOOM_OAUTH_URL": "http://127.0.0.1:9/oauth/token"}, 3, "unreachable"),
    ({"ZOOM_CLIENT_ID": ""}, 2, "ZOOM_CLIENT_ID"),
])
def test_zoom_problems_stop_the_run_before_any_work(zoom, files, overrides, code, message):
    result = run_cli(zoom.env(**overrides), "--events", str(files["events"]))

    assert result.returncode == code
    assert message in result.stderr
    assert [r for r in zoom.requests() if r["route"].startswith("POST /phone")] == []


@pytest.mark.parametrize("url, wrong, message, dry", [
    ("ZOOM_API_URL", "/v2", "blocked list is not at", ()),
    ("ZOOM_API_URL", "/v2", "is ZOOM_API_URL=", ("--dry-run",)),
    ("ZOOM_OAUTH_URL", "/oauth/token", "no OAuth token endpoint at", ()),
])
def test_a_wrong_zoom_url_stops_the_run_at_once_naming_it(zoom, files, url, wrong, message, dry):
    """A 404 is no outage: asking again gets the same answer, so the run says which URL is wrong at once."""
    env = zoom.env()
    env[url] = env[url].replace(wrong, "/nowhere")

    result = run_cli(env, "--events", str(files["events"]), *dry)

    assert result.returncode == 3 and message in result.stderr and "/nowhere" in result.stderr
    assert "refused the credentials" not in result.stderr and "trying again" not in result.stderr


@pytest.mark.parametrize("overrides, message", [
    ({"NUMBER_BLOCK_SCORE": "-1"}, "the scorer's settings: NUMBER_BLOCK_SCORE"),
    ({"PACING_MAX_WAIT_MS": "-1"}, "the blocker's settings: PACING_MAX_WAIT_MS"),
    ({"RENEW_MIN_REPORTS": "0"}, "the expirer's settings: RENEW_MIN_REPORTS"),
    ({"ZOOM_PLAN": "bogus"}, "ZOOM_PLAN must be one of pro, business"),
])
def test_a_setting_a_function_would_refuse_stops_the_run_before_any_work(zoom, files, overrides, message):
    result = run_cli(zoom.env(**overrides), "--events", str(files["events"]), timeout=60)

    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert zoom.requests() == []


def test_a_one_off_refusal_of_the_token_request_is_tried_again(zoom, files):
    zoom.http.post("/_emulator/faults", json={"kind": "429", "route": "POST /oauth/token", "count": 1})
    zoom.http.post("/_emulator/faults", json={"kind": "5xx", "route": "POST /oauth/token", "count": 1})

    result = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(files["allow"]))

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("did not answer the token request") == 2 and zoom.entries()


def test_bad_usage_and_unreadable_files_exit_2(zoom, files):
    bad_allow = files["dir"] / "bad-allow.txt"
    bad_allow.write_text("+19075550123\nnot a number at all\n")

    missing = run_cli(zoom.env(), "--events", str(files["dir"] / "missing.jsonl"))
    bad_list = run_cli(zoom.env(), "--events", str(files["events"]), "--allowlist", str(bad_allow))
    no_events = subprocess.run([CLI, "run"], env=zoom.env(), capture_output=True, text=True, timeout=60)
    bad_time = run_cli(zoom.env(), "--events", str(files["events"]), "--expire-at", "tomorrow")
    bad_region = run_cli(zoom.env(), "--events", str(files["events"]), "--region", "XX")
    no_folder = run_cli(zoom.env(), "--events", str(files["events"]), "--summary-json",
                        str(files["dir"] / "nowhere" / "s.json"))
    bad_wait = run_cli({**zoom.env(), "RUN_ORDERED_WAIT_S": "soon"}, "--events", str(files["events"]))
    bad_dry = run_cli({**zoom.env(), "DRY_RUN": "maybe"}, "--events", str(files["events"]))

    assert missing.returncode == 2 and "missing.jsonl" in missing.stderr
    assert bad_list.returncode == 2 and "bad-allow.txt" in bad_list.stderr and ":2" in bad_list.stderr
    assert no_events.returncode == 2 and "--events" in no_events.stderr
    assert bad_time.returncode == 2 and "--expire-at" in bad_time.stderr
    assert bad_region.returncode == 2 and "unknown region 'XX'" in bad_region.stderr
    assert no_folder.returncode == 2 and "nowhere" in no_folder.stderr
    assert bad_wait.returncode == 2 and "RUN_ORDERED_WAIT_S must be a number of seconds" in bad_wait.stderr
    assert bad_dry.returncode == 2 and "DRY_RUN must be true or false" in bad_dry.stderr
    assert zoom.entries() == []


def test_an_interrupted_run_still_writes_its_summary_so_far(zoom, tmp_path):
    """SIGTERM (or Ctrl-C) mid-run: exit 130, and --summary-json records what was done, marked interrupted."""
    from local.traffic import generate

    events = tmp_path / "events.jsonl"
    events.write_text(generate(5, days=7).jsonl())
    summary_path = tmp_path / "summary.json"
    process = subprocess.Popen([CLI, "run", "--events", str(events), "--summary-json", str(summary_path)],
                               env=zoom.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:  # the progress line: events are flowing
            if line.startswith("events [") and " 0/" not in line:
                break
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode == 130 and "interrupted" in err
    summary = json.loads(summary_path.read_text())
    assert summary["interrupted"] is True and 0 < summary["events_read"]
    assert summary["zoom_requests"].get("GET /phone/blocked_list", 0) >= 1  # the listing at start, at least
    made = [r for r in zoom.requests() if r["route"] == "POST /phone/blocked_list" and r["status"] in (200, 201)]
    assert summary["blocks_created"] == len(made) and summary["blocks_requested"] >= len(made)
