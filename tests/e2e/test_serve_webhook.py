"""`spam-blocker serve-webhook` as a subprocess, driven by a plain httpx client over 127.0.0.1."""

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.unit.ingest.builders import call_log, call_log_payload, zoom_signature

pytestmark = pytest.mark.e2e

SECRET = "e2e-webhook-secret"
START_TIMEOUT_S = 20.0


def _command() -> list[str]:
    script = Path(sys.executable).parent / "spam-blocker"
    return [str(script)] if script.exists() else [sys.executable, "-m", "local.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM_WEBHOOK_")}
    env.update(extra)
    return env


def _wait_until_listening(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"serve-webhook exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"serve-webhook did not listen within {START_TIMEOUT_S} s")


def _signed(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    return {"content-type": "application/json", "x-zm-request-timestamp": ts,
            "x-zm-signature": zoom_signature(SECRET, ts, body)}


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([*_command(), "serve-webhook", "--port", str(port)], cwd=tmp_path,
                            env=_env(ZOOM_WEBHOOK_SECRET_TOKEN=SECRET),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_listening(proc, url)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_signed_deliveries_are_enqueued_and_printed_unsigned_ones_refused(server):
    proc, url = server
    records = [call_log(1), call_log(2, caller_number="+19075550999")]
    body = json.dumps(call_log_payload(records, event_ts=int(time.time() * 1000))).encode()

    accepted = httpx.post(url, content=body, headers=_signed(body))
    redelivered = httpx.post(url, content=body, headers=_signed(body))
    unsigned = httpx.post(url, content=body, headers={"content-type": "application/json"})
    forged = httpx.post(url, content=body, headers={**_signed(body), "x-zm-signature": "v0=" + "0" * 64})

    assert accepted.status_code == 200 and accepted.json() == {"status": "accepted", "enqueued": 2}
    assert redelivered.status_code == 200 and redelivered.json() == {"status": "duplicate"}
    assert unsigned.status_code == 401 and forged.status_code == 401

    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    printed = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert printed == [{"type": "call_log", "call_log": r} for r in records]  # once: the redelivery added nothing
    assert "listening on http://127.0.0.1:" in stderr and SECRET not in stderr + stdout


def test_the_url_validation_challenge_is_answered_over_http(server):
    proc, url = server
    body = json.dumps({"event": "endpoint.url_validation", "event_ts": 1, "payload": {"plainToken": "tok"}}).encode()
    response = httpx.post(url, content=body, headers=_signed(body))
    assert response.status_code == 200
    assert response.json() == {"plainToken": "tok",
                               "encryptedToken": hmac.new(SECRET.encode(), b"tok", hashlib.sha256).hexdigest()}
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0


def test_without_the_secret_it_exits_2_and_says_why(tmp_path):
    done = subprocess.run([*_command(), "serve-webhook", "--port", str(_free_port())], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "ZOOM_WEBHOOK_SECRET_TOKEN is not set" in done.stderr


def test_deliveries_and_appended_reports_feed_the_pipeline_to_a_block_in_zoom(tmp_path):
    """serve-webhook runs the scorer and the blocker (DESIGN.md): a robocaller's calls through signed
    deliveries, two spam reports appended to --events-file, one entry in Zoom."""
    from tests.e2e.test_run_cli import Emulator

    zoom = Emulator()
    try:
        reports = tmp_path / "reports.jsonl"
        reports.write_text("")
        port = _free_port()
        proc = subprocess.Popen([*_command(), "serve-webhook", "--port", str(port), "--events-file", str(reports)],
                                cwd=tmp_path, env={**zoom.env(), "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{port}/"
        _wait_until_listening(proc, url)
        robo = "+13125550199"
        for n in range(8):
            record = call_log(100 + n, caller_number=robo, callee_number=f"+1415555{100 + n:04d}",
                              date_time=f"2026-11-20T14:{n:02d}:00Z")
            body = json.dumps(call_log_payload([record], event_ts=int(time.time() * 1000))).encode()
            assert httpx.post(url, content=body, headers=_signed(body)).status_code == 200
        with reports.open("a") as out:
            for who in ("ext-1", "ext-2"):
                out.write(json.dumps({"type": "spam_report", "phone_number": "312-555-0199", "reporter": who,
                                      "reported_at": "2026-11-20T14:20:00Z"}) + "\n")
            out.write("not json\n")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not zoom.entries():
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr
        assert [(e["phone_number"], e["status"]) for e in zoom.entries()] == [(robo, "active")]
        # one report with the robocall pattern is enough; whether the second shares its batch is timing
        assert f"block requested: {robo}: block {robo}: reported by " in stderr
        assert "reports.jsonl:3: rejected: bad JSON" in stderr and "Blocks: 0 prefix(es), 1 number(s)" in stderr
        assert "serve-webhook: 11 events in " in stderr and "(8 from webhook deliveries, 3 from the events file)" in stderr
    finally:
        zoom.close()
