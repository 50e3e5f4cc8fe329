"""`spam-blocker emulator` as a real subprocess on a free loopback port, and the CLI's command list."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from local import cli
from local.commands import emulator as emulator_command

STARTUP_DEADLINE_S = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spam_blocker() -> list[str]:
    script = Path(sys.executable).parent / "spam-blocker"
    return [str(script)] if script.exists() else [sys.executable, "-m", "local.cli"]


def _start(port: int, env_overrides: dict[str, str | None]) -> subprocess.Popen[str]:
    env = dict(os.environ)
    for name, value in env_overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.Popen([*_spam_blocker(), "emulator", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_until_serving(process: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"emulator exited early ({process.returncode}): {process.stdout.read()}")
        try:
            if httpx.get(f"{base}/_emulator/stats", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail("emulator did not start serving in time")


def _terminate(process: subprocess.Popen[str]) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return process.returncode, output


def test_emulator_command_serves_zoom_with_credentials_from_the_environment():
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = _start(port, {"ZOOM_ACCOUNT_ID": "acct-42", "ZOOM_CLIENT_ID": "cid-42",
                            "ZOOM_CLIENT_SECRET": "very-secret-42"})
    try:
        _wait_until_serving(process, base)
        form = {"grant_type": "account_credentials", "account_id": "acct-42"}
        refused = httpx.post(f"{base}/oauth/token", auth=("dev-client-id", "dev-client-secret"), data=form)
        token = httpx.post(f"{base}/oauth/token", auth=("cid-42", "very-secret-42"), data=form).json()["access_token"]
        created = httpx.post(f"{base}/v2/phone/blocked_list", json={"phone_number": "+19075550123"},
                             headers={"Authorization": f"Bearer {token}"})
        entries = httpx.get(f"{base}/_emulator/entries").json()["entries"]
    finally:
        returncode, output = _terminate(process)

    assert refused.status_code == 400
    assert created.status_code == 201
    assert [e["id"] for e in entries] == [created.json()["id"]]
    assert returncode == 0
    assert f"ZOOM_OAUTH_URL={base}/oauth/token" in output
    assert f"ZOOM_API_URL={base}/v2" in output
    assert "ZOOM_ACCOUNT_ID=acct-42" in output
    assert "very-secret-42" not in output


def test_emulator_command_prints_and_accepts_the_development_credentials():
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = _start(port, {"ZOOM_ACCOUNT_ID": None, "ZOOM_CLIENT_ID": None, "ZOOM_CLIENT_SECRET": None})
    try:
        _wait_until_serving(process, base)
        response = httpx.post(f"{base}/oauth/token", auth=("dev-client-id", "dev-client-secret"),
                              data={"grant_type": "account_credentials", "account_id": "dev-account"})
    finally:
        returncode, output = _terminate(process)

    assert response.status_code == 200
    assert returncode == 0
    for line in ("ZOOM_ACCOUNT_ID=dev-account", "ZOOM_CLIENT_ID=dev-client-id", "ZOOM_CLIENT_SECRET=dev-client-secret"):
        assert line in output


def test_emulator_command_on_a_port_in_use_exits_2_saying_so():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _start(port, {})
        output, _ = process.communicate(timeout=STARTUP_DEADLINE_S)

    assert process.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in output and "Traceback" not in output


def test_cli_registers_commands_from_its_list():
    assert emulator_command in cli.COMMANDS
    args = cli.build_parser().parse_args(["emulator", "--port", "8123", "--plan", "business"])

    assert (args.port, args.host, args.plan, args.func) == (8123, "127.0.0.1", "business", emulator_command.run)


def test_cli_without_a_command_is_a_usage_error(capsys):
    assert cli.main([]) == 2
    assert "emulator" in capsys.readouterr().err


def test_unknown_plan_is_refused_by_argparse():
    with pytest.raises(SystemExit) as exited:
        cli.main(["emulator", "--plan", "enterprise"])
    assert exited.value.code == 2


def test_credentials_fall_back_to_development_values_per_variable():
    assert emulator_command.credentials({"ZOOM_CLIENT_ID": "mine", "ZOOM_CLIENT_SECRET": ""}) == {
        "ZOOM_ACCOUNT_ID": "dev-account", "ZOOM_CLIENT_ID": "mine", "ZOOM_CLIENT_SECRET": "dev-client-secret"}
