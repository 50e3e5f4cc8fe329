"""The ops commands: `spam-blocker backfill | expire | reconcile | unblock | explain | allow | disallow | own`.

In process (`local.cli.main`) on moto with the Zoom emulator behind wiring.zoom's transport: every command,
its output and exit codes. As subprocesses over 127.0.0.1 against a `moto_server` (AWS_ENDPOINT_URL) and
the emulator on a socket: the commands as ops run them against a deployed stack. With `--function-name`:
boto3 `lambda.invoke`, answered by botocore's Stubber.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from moto import mock_aws
from spam_blocker import wiring
from spam_blocker.adapters.tables import (
    BLOCKS_TABLE,
    CHECKPOINTS_TABLE,
    EVIDENCE_TABLE,
    RATE_LIMIT_TABLE,
    create_table,
)
from spam_blocker.domain.block_state import ZOOM_TAG
from spam_blocker.observability import metrics
from spam_blocker.wiring import zoom as zoom_wiring
from spam_blocker.zoom.auth import clear_token_cache

from local.cli import build_parser, main
from local.commands import backfill as backfill_command
from local.commands import expire as expire_command
from local.commands import unblock as unblock_command
from local.emulator import ZoomEmulator, serve, stop

REGION = "us-east-1"
NUMBER = "+19075550123"
TABLES = {"blocks": BLOCKS_TABLE, "evidence": EVIDENCE_TABLE, "rate": RATE_LIMIT_TABLE,
          "checkpoints": CHECKPOINTS_TABLE}
CREDENTIALS = {"ZOOM_ACCOUNT_ID": "dev-account", "ZOOM_CLIENT_ID": "dev-client-id",
               "ZOOM_CLIENT_SECRET": "dev-client-secret"}


def _today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _call_logs(days_ago: int, count: int) -> list[dict]:
    day = _today() - timedelta(days=days_ago)
    return [{"id": f"log-{days_ago}-{n}", "caller_number": f"+1907555{days_ago:02d}{n:02d}", "caller_number_type": 2,
             "callee_number": "+14155550100", "direction": "inbound", "duration": 2, "result": "No Answer",
             "date_time": (day + timedelta(hours=10, minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")} for n in range(count)]


def _resources(ddb, sqs) -> dict[str, str]:
    for name, shape in TABLES.items():
        create_table(ddb, name, shape)
    ingest = sqs.create_queue(QueueName="ingest")["QueueUrl"]
    return {"BLOCKS_TABLE": "blocks", "EVIDENCE_TABLE": "evidence", "RATE_LIMIT_TABLE": "rate",
            "CHECKPOINTS_TABLE": "checkpoints", "INGEST_QUEUE_URL": ingest, "AWS_DEFAULT_REGION": REGION}


# --- in process --------------------------------------------------------------------------------------------


class Here:
    def __init__(self, monkeypatch, capsys):
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.env = _resources(self.ddb, self.sqs)
        for name, value in {**self.env, **CREDENTIALS, "ZOOM_API_URL": "https://api.zoom.us/v2",
                            "ZOOM_OAUTH_URL": "https://zoom.us/oauth/token"}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("ZOOM_SECRET_ARN", raising=False)
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.emulator = ZoomEmulator("pro")
        zoom_wiring.set_zoom_transport(self.emulator.transport())

    def cli(self, *argv: str) -> tuple[int, str, str]:
        wiring.cache_clear()
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, out, err

    def queued(self) -> list[dict]:
        bodies = []
        while messages := self.sqs.receive_message(QueueUrl=self.env["INGEST_QUEUE_URL"], MaxNumberOfMessages=10,
                                                   VisibilityTimeout=60).get("Messages", []):
            bodies += [json.loads(m["Body"]) for m in messages]
        return bodies


@pytest.fixture
def here(monkeypatch, capsys):
    clear_token_cache()
    metrics.clear_metrics()
    with mock_aws():
        yield Here(monkeypatch, capsys)
        zoom_wiring.set_zoom_transport(None)
        wiring.cache_clear()
    clear_token_cache()
    metrics.clear_metrics()


def test_reconcile_explain_unblock_and_expire(here):
    here.emulator.add_entry(NUMBER, comment=f"{ZOOM_TAG} block {NUMBER}: reported by 3 people")
    here.emulator.add_entry("1415555", match_type="prefix", comment="telemarketers")

    code, out, err = here.cli("reconcile", "--dry-run")
    assert code == 0 and json.loads(out)["adopted"] == 1 and "(would be)" in err
    code, out, err = here.cli("reconcile")
    report = json.loads(out)
    assert code == 0 and (report["adopted"], report["external_recorded"]) == (1, 1)
    assert "2 drift repaired" in err

    code, out, _ = here.cli("explain", "907-555-0123")
    assert code == 0 and out.startswith(f"{NUMBER} — as of ") and "BLOCKED by us" in out
    code, out, _ = here.cli("explain", "+14155550199", "--json")
    assert code == 0 and json.loads(out)["blocked"] and "a person's entry" in json.loads(out)["text"]

    code, out, _ = here.cli("unblock", NUMBER, "--dry-run")
    assert code == 0 and out.startswith(f"Dry run: unblock {NUMBER}") and len(here.emulator.entries()) == 2
    code, out, _ = here.cli("unblock", NUMBER, "--reporter", "ops-jane")
    assert code == 0 and f"removed number block {NUMBER} from Zoom" in out
    assert [e["phone_number"] for e in here.emulator.entries()] == ["1415555"]

    code, out, err = here.cli("expire", "--now", "2099-01-01T00:00:00Z")
    assert code == 0 and json.loads(out)["due"] == 0 and err.startswith("expire at 2099-01-01T00:00:00Z: 0 due")


def test_backfill_pages_with_progress_then_is_a_no_op_and_takes_numbers(here, tmp_path):
    here.emulator.add_call_logs(_call_logs(3, 4) + _call_logs(2, 3))
    day_from, day_to = ((_today() - timedelta(days=d)).date().isoformat() for d in (5, 1))

    code, out, err = here.cli("backfill", "--from", day_from, "--to", day_to, "--dry-run")
    assert code == 0 and json.loads(out)["estimate"]["call_logs_in_range"] == 7 and here.queued() == []
    code, out, err = here.cli("backfill", "--from", day_from, "--to", day_to)
    result = json.loads(out)
    assert code == 0 and result["status"] == "done" and result["call_logs_enqueued"] == 7
    assert "7 call logs enqueued" in err and "backfill: done" in err
    assert sorted(e["call_log"]["id"] for e in here.queued()) == sorted(r["id"] for r in _call_logs(3, 4) + _call_logs(2, 3))
    code, out, err = here.cli("backfill", "--from", day_from, "--to", day_to)
    assert code == 0 and json.loads(out)["already_done"] and "already done before" in err

    numbers = tmp_path / "numbers.txt"
    numbers.write_text("# campaign\n+19075550123\n907-555-0124  # the second\n\n")
    code, out, err = here.cli("backfill", "--numbers", str(numbers), "--reporter", "ops-jane", "--reason", "robocall")
    assert code == 0 and json.loads(out)["reports_enqueued"] == 2 and "2/2 spam reports enqueued" in err
    assert {(e["phone_number"], e["reporter"], e["reason"]) for e in here.queued()} == {
        ("+19075550123", "ops-jane", "robocall"), ("+19075550124", "ops-jane", "robocall")}


def test_a_backfill_stopped_by_sigterm_releases_its_checkpoint_and_resumes(here):
    here.emulator.add_call_logs(_call_logs(3, 4) + _call_logs(2, 3))
    day_from, day_to = ((_today() - timedelta(days=d)).date().isoformat() for d in (5, 1))
    here.monkeypatch.setenv("BACKFILL_PAGE_SIZE", "2")

    def terminated_after_one_page():
        return lambda progress: os.kill(os.getpid(), signal.SIGTERM)

    with here.monkeypatch.context() as patch:
        patch.setattr(backfill_command, "progress_printer", terminated_after_one_page)
        code, out, err = here.cli("backfill", "--from", day_from, "--to", day_to)
    assert (code, out) == (130, "") and "interrupted" in err and len(here.queued()) == 2

    code, out, err = here.cli("backfill", "--from", day_from, "--to", day_to)
    assert code == 0 and json.loads(out)["status"] == "done" and json.loads(out)["call_logs_enqueued"] == 7


@pytest.mark.parametrize("argv, message", [
    (["expire", "--now", "tomorrow"], "'now' is not an ISO-8601 time"),
    (["backfill"], "give --from D and --to D"),
    (["backfill", "--from", "2020-01-01", "--to", "2020-01-31"], "older than Zoom keeps call logs"),
    (["backfill", "--from", "2026-11-07", "--to", "2026-11-01"], "before 'from'"),
    (["backfill", "--numbers", "/nonexistent/numbers.txt"], "cannot read /nonexistent/numbers.txt"),
    (["unblock", "hello"], "'hello' is not a phone number"),
    (["explain", "911"], "'911' is not a phone number"),
    (["allow", "+1907212*", "not a number"], "<command line>:2"),
])
def test_bad_usage_and_input_exit_2_with_a_clear_message(here, argv, message):
    code, out, err = here.cli(*argv)
    assert code == 2 and message in err and out == ""


def test_a_bad_number_in_a_backfill_file_is_named_with_its_line(here, tmp_path):
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("# campaign\n+19075550123\n911\nnot-a-number\n")
    code, out, err = here.cli("backfill", "--numbers", str(numbers))
    assert code == 2 and out == "" and f"{numbers}:3: '911' cannot be reported as spam" in err
    assert here.queued() == []


def test_a_missing_setting_exits_2_naming_it(here):
    here.monkeypatch.delenv("RATE_LIMIT_TABLE")
    code, _, err = here.cli("reconcile")
    assert code == 2 and "RATE_LIMIT_TABLE" in err
    assert "docs/operations.md" in err and "--summary-json" in err  # and where a local run's reasons are


def test_zoom_refusing_the_credentials_or_unreachable_exits_3_before_any_work(here):
    here.emulator.add_entry(NUMBER, comment=f"{ZOOM_TAG} ours")
    here.monkeypatch.setenv("ZOOM_CLIENT_SECRET", "wrong")
    code, _, err = here.cli("reconcile")
    assert code == 3 and "Zoom refused the credentials" in err and here.queued() == []
    here.monkeypatch.setenv("ZOOM_CLIENT_SECRET", CREDENTIALS["ZOOM_CLIENT_SECRET"])
    zoom_wiring.set_zoom_transport(None)
    here.monkeypatch.setenv("ZOOM_API_URL", "http://127.0.0.1:9/v2")
    here.monkeypatch.setenv("ZOOM_OAUTH_URL", "http://127.0.0.1:9/oauth/token")
    clear_token_cache()
    code, _, err = here.cli("expire")
    assert code == 3 and "Zoom is unreachable" in err
    assert here.ddb.scan(TableName="blocks")["Items"] == []


def test_allow_own_and_disallow_manage_the_lists_the_scorer_reads(here, tmp_path):
    listing = tmp_path / "allow.txt"
    listing.write_text("+1 907 212 0000  # the bank\n+1800555*\n")
    assert here.cli("allow", "(907) 555-0100", "--file", str(listing))[0] == 0
    assert here.cli("own", "+14155550100")[0] == 0
    code, out, err = here.cli("allow")
    assert code == 0 and out.splitlines() == ["+19072120000  # allow.txt:1", "+19075550100  # cli",
                                               "1800555*  # allow.txt:2"]
    assert "3 entries on the allowlist" in err
    code, out, err = here.cli("disallow", "+19075550100", "+19075550999")
    assert code == 0 and "removed 1 entries from the allowlist; not on it: +19075550999" in err
    assert out.splitlines() == ["+19075550100"]  # what was removed
    assert here.cli("disallow", "--own", "+14155550100")[0] == 0
    from spam_blocker.adapters.dynamo_allowlist import DynamoListStore

    lists = DynamoListStore(here.ddb, "evidence").current()
    assert [e.key for e in lists.allow] == ["+19072120000", "1800555*"] and lists.own == ()
    assert lists.allow[0].source == "allow.txt:1" and lists.allow[0].note == "the bank"
    here.monkeypatch.delenv("EVIDENCE_TABLE")
    code, _, err = here.cli("own", "+14155550100")
    assert code == 2 and "EVIDENCE_TABLE is not set" in err


# --- --function-name: the deployed Lambda ------------------------------------------------------------------


def _stubbed_lambda(payload: dict, *, error: bool = False):
    client = boto3.client("lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    stubber = Stubber(client)
    raw = json.dumps(payload).encode()
    response = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw))}
    if error:
        response["FunctionError"] = "Unhandled"
    stubber.add_response("invoke", response, {"FunctionName": "prod-expirer", "InvocationType": "RequestResponse",
                                              "Payload": ANY})
    stubber.activate()
    return client, stubber


def test_function_name_invokes_the_deployed_lambda_with_the_same_payload(capsys):
    summary = {"now": "2026-12-21T13:00:00Z", "due": 2, "renewed": 1, "expired": 1, "deferred": 0, "failed": 0}
    client, stubber = _stubbed_lambda(summary)
    args = build_parser().parse_args(["expire", "--now", "2026-12-21T13:00:00Z", "--function-name", "prod-expirer"])
    assert expire_command.run(args, lambda_client=client) == 0
    stubber.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert json.loads(out) == summary and "renewed/expired 1/1" in err


def test_function_name_without_an_aws_region_says_so(capsys, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    args = build_parser().parse_args(["expire", "--function-name", "prod-expirer"])
    assert expire_command.run(args) == 2
    assert "needs the AWS region" in capsys.readouterr().err


@pytest.mark.parametrize("error_type, code", [("UnblockInputError", 2), ("ZoomAuthFailed", 3), ("KeyError", 1)])
def test_a_deployed_functions_error_maps_to_the_exit_codes(capsys, error_type, code):
    client, _ = _stubbed_lambda({"errorType": error_type, "errorMessage": "it went wrong"}, error=True)
    args = build_parser().parse_args(["unblock", NUMBER, "--function-name", "prod-expirer"])
    assert unblock_command.run(args, lambda_client=client) == code
    assert f"prod-expirer failed: {error_type}: it went wrong" in capsys.readouterr().err


# --- subprocesses over 127.0.0.1: moto_server and the emulator on sockets ------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command() -> list[str]:
    script = Path(sys.executable).parent / "spam-blocker"
    return [str(script)] if script.exists() else [sys.executable, "-m", "local.cli"]


@pytest.fixture
def deployed():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    emulator = ZoomEmulator("pro")
    zoom_server, zoom_thread = serve(emulator, "127.0.0.1", 0)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        kwargs = {"region_name": REGION, "endpoint_url": endpoint}
        env = _resources(boto3.client("dynamodb", **kwargs), boto3.client("sqs", **kwargs))
        env.update(CREDENTIALS, AWS_ENDPOINT_URL=endpoint, ZOOM_API_URL=f"{zoom_server.base_url}/v2",
                   ZOOM_OAUTH_URL=f"{zoom_server.base_url}/oauth/token", AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing")
        yield emulator, {**{k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "AWS_PROFILE"))}, **env}
    finally:
        stop(zoom_server, zoom_thread)
        server.stop()


def _run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([*_command(), *argv], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.e2e
def test_the_commands_as_subprocesses_against_moto_server_and_the_emulator(deployed):
    emulator, env = deployed
    emulator.add_entry(NUMBER, comment=f"{ZOOM_TAG} block {NUMBER}")
    emulator.add_call_logs(_call_logs(2, 3))

    done = _run(env, "reconcile")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["adopted"] == 1
    explained = _run(env, "explain", NUMBER)
    assert explained.returncode == 0 and "BLOCKED by us" in explained.stdout
    day = (_today() - timedelta(days=2)).date().isoformat()
    backfilled = _run(env, "backfill", "--from", day, "--to", day)
    assert backfilled.returncode == 0, backfilled.stderr
    assert json.loads(backfilled.stdout)["call_logs_enqueued"] == 3 and "3 call logs enqueued" in backfilled.stderr
    unblocked = _run(env, "unblock", NUMBER)
    assert unblocked.returncode == 0 and "removed number block" in unblocked.stdout and emulator.entries() == []

    unreachable = _run({**env, "ZOOM_API_URL": "http://127.0.0.1:9/v2", "ZOOM_OAUTH_URL": "http://127.0.0.1:9/oauth/token"},
                       "reconcile")
    assert unreachable.returncode == 3 and "Zoom is unreachable" in unreachable.stderr


def test_local_aws_sets_up_a_moto_server_for_the_ops_commands(tmp_path):
    """docs/operations.md, "Against a moto_server": the exports, the same on a second run, and a command
    that works with them."""
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen([str(bin_dir / "moto_server"), "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(endpoint, timeout=0.5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.1)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["AWS_ENDPOINT_URL"] = endpoint
        runs = [subprocess.run([sys.executable, "-m", "local.local_aws"], env=env, capture_output=True, text=True,
                               timeout=60, cwd=Path(__file__).resolve().parents[2]) for _ in range(2)]
        assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
        assert runs[0].stdout == runs[1].stdout
        exports = dict(line.removeprefix("export ").split("=", 1) for line in runs[0].stdout.splitlines())
        assert exports["AWS_ENDPOINT_URL"] == endpoint and exports["EVIDENCE_TABLE"] == "evidence"
        added = subprocess.run([str(bin_dir / "spam-blocker"), "allow", "+19075550100"],
                               env={**env, **exports}, capture_output=True, text=True, timeout=60)
        assert added.returncode == 0 and "1 entries on the allowlist" in added.stderr
    finally:
        server.terminate()
        server.wait(10)
