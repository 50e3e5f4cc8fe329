"""The real `lambda_handler` with the real wiring (settings from the environment, boto3 clients, Zoom
credentials from Secrets Manager or env) on moto, reaching the emulator in-process."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from spam_blocker import wiring
from spam_blocker.adapters.dynamo_blocks import from_item
from spam_blocker.adapters.tables import BLOCKS_TABLE, RATE_LIMIT_TABLE, create_table
from spam_blocker.config import SettingsError
from spam_blocker.domain.block_state import ZOOM_TAG, BlockState
from spam_blocker.observability import metrics
from spam_blocker.wiring import zoom as zoom_wiring
from spam_blocker.wiring.blocker import get_deps
from spam_blocker.zoom.auth import clear_token_cache

from functions.blocker.handler import lambda_handler
from local.emulator import ZoomEmulator
from local.esm_loop import LambdaContext

EVENT = json.loads((Path(__file__).resolve().parents[2] / "events" / "blocker_sqs.json").read_text())
REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch):
    clear_token_cache()
    metrics.clear_metrics()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        create_table(ddb, "blocks", BLOCKS_TABLE)
        create_table(ddb, "rate", RATE_LIMIT_TABLE)
        queue = sqs.create_queue(QueueName="block")["QueueUrl"]
        dlq = sqs.create_queue(QueueName="block-dlq")["QueueUrl"]
        for name, value in {"BLOCKS_TABLE": "blocks", "RATE_LIMIT_TABLE": "rate", "BLOCK_QUEUE_URL": queue,
                            "BLOCK_DLQ_URL": dlq, "ZOOM_API_URL": "https://api.zoom.us/v2",
                            "ZOOM_OAUTH_URL": "https://zoom.us/oauth/token", "AWS_DEFAULT_REGION": REGION}.items():
            monkeypatch.setenv(name, value)
        for name in ("ZOOM_SECRET_ARN", "ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET", "DRY_RUN"):
            monkeypatch.delenv(name, raising=False)
        emulator = ZoomEmulator(plan="pro")
        zoom_wiring.set_zoom_transport(emulator.transport())
        wiring.cache_clear()
        yield ddb, sqs, dlq, emulator
        zoom_wiring.set_zoom_transport(None)
        wiring.cache_clear()
    metrics.clear_metrics()


def use_env_credentials(monkeypatch):
    monkeypatch.setenv("ZOOM_ACCOUNT_ID", "dev-account")
    monkeypatch.setenv("ZOOM_CLIENT_ID", "dev-client-id")
    monkeypatch.setenv("ZOOM_CLIENT_SECRET", "dev-client-secret")


def test_the_sample_event_blocks_unblocks_and_dead_letters_the_poison_body(aws, monkeypatch):
    ddb, sqs, dlq, emulator = aws
    use_env_credentials(monkeypatch)
    seen = []
    zoom_wiring.add_request_observer(seen.append)
    try:
        result = lambda_handler(EVENT, LambdaContext(function_name="blocker"))
    finally:
        zoom_wiring.remove_request_observer(seen.append)
    assert result == {"batchItemFailures": []}
    entries = {e["phone_number"]: e for e in emulator.entries()}
    assert set(entries) == {"+19075550123", "1907212"}
    assert entries["1907212"]["match_type"] == "prefix"
    assert all(e["comment"].startswith(ZOOM_TAG) for e in entries.values())
    rows = {r.key.as_id(): r for r in map(from_item, ddb.scan(TableName="blocks")["Items"])}
    assert {k: r.state for k, r in rows.items()} == {
        "phoneNumber#+19075550123#inbound": BlockState.ACTIVE, "prefix#1907212#inbound": BlockState.ACTIVE,
        "phoneNumber#+18005550199#inbound": BlockState.REMOVED}  # unblocked before any block: holds the cool-down
    assert rows["phoneNumber#+18005550199#inbound"].cooldown_until is not None
    assert rows["prefix#1907212#inbound"].zoom_id == entries["1907212"]["id"]
    dead = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert len(dead) == 1 and dead[0]["Body"] == EVENT["Records"][3]["body"]
    assert dead[0]["MessageAttributes"]["reason"]["StringValue"].startswith("invalid block request")
    assert [(r.route, r.status) for r in seen] == [("POST /phone/blocked_list", 201)] * 2


def test_credentials_come_from_secrets_manager_once_per_container(aws, monkeypatch):
    ddb, sqs, dlq, emulator = aws
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secrets.create_secret(Name="zoom", SecretString=json.dumps(
        {"account_id": "dev-account", "client_id": "dev-client-id", "client_secret": "dev-client-secret"}))["ARN"]
    monkeypatch.setenv("ZOOM_SECRET_ARN", arn)
    first = json.loads(json.dumps(EVENT))
    first["Records"] = first["Records"][:1]
    assert lambda_handler(first, LambdaContext(function_name="blocker")) == {"batchItemFailures": []}
    secrets.update_secret(SecretId=arn, SecretString="{}")  # a warm container does not read it again
    second = json.loads(json.dumps(EVENT))
    second["Records"] = second["Records"][1:2]
    assert lambda_handler(second, LambdaContext(function_name="blocker")) == {"batchItemFailures": []}
    assert len(emulator.entries()) == 2
    assert "dev-client-secret" not in repr(get_deps().settings) + repr(zoom_wiring.zoom_credentials(get_deps().settings))


def test_deps_are_built_once_for_concurrent_first_invocations(aws, monkeypatch):
    use_env_credentials(monkeypatch)
    built = []
    barrier = threading.Barrier(6)

    def first_call():
        barrier.wait(5)
        built.append(get_deps())

    threads = [threading.Thread(target=first_call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(built) == 6 and len({id(d) for d in built}) == 1


def test_dry_run_reads_but_never_writes(aws, monkeypatch):
    ddb, sqs, dlq, emulator = aws
    use_env_credentials(monkeypatch)
    monkeypatch.setenv("DRY_RUN", "true")
    assert lambda_handler(EVENT, LambdaContext(function_name="blocker")) == {"batchItemFailures": []}
    assert emulator.entries() == [] and ddb.scan(TableName="blocks")["Items"] == []


def test_a_missing_setting_fails_loudly_with_its_name(aws, monkeypatch):
    monkeypatch.delenv("BLOCKS_TABLE")
    use_env_credentials(monkeypatch)
    with pytest.raises(SettingsError, match="BLOCKS_TABLE"):
        lambda_handler(EVENT, LambdaContext(function_name="blocker"))
