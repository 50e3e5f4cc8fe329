"""The lifecycle stack on moto: tables, queues and the settings of every function, the Zoom emulator in
process, one ManualClock for everything. Shared by tests/integration/test_{lifecycle,expirer,reconciler,
backfill,unblock,explain}*.py (each defines its `stack` fixture over `open_stack`); the tests here check the stack's
own pieces: the settings each function reads and the sample payloads in events/.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from spam_blocker import wiring
from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
from spam_blocker.adapters.tables import (
    BLOCKS_TABLE,
    CHECKPOINTS_TABLE,
    EVIDENCE_TABLE,
    RATE_LIMIT_TABLE,
    create_table,
)
from spam_blocker.clock import ManualClock, iso
from spam_blocker.config import SettingsError
from spam_blocker.domain.backfill_plan import BackfillRequest
from spam_blocker.observability import metrics
from spam_blocker.wiring import backfill as backfill_wiring
from spam_blocker.wiring import blocker as blocker_wiring
from spam_blocker.wiring import expirer as expirer_wiring
from spam_blocker.wiring import reconciler as reconciler_wiring
from spam_blocker.wiring import scorer as scorer_wiring
from spam_blocker.wiring import zoom as zoom_wiring
from spam_blocker.zoom.auth import clear_token_cache
from spam_blocker.zoom.client import ZoomClient

from functions.backfill import handler as backfill_handler
from functions.blocker import handler as blocker_handler
from functions.expirer import handler as expirer_handler
from functions.reconciler import handler as reconciler_handler
from functions.scorer import handler as scorer_handler
from local.emulator import ZoomEmulator
from local.esm_loop import LambdaContext, sqs_record

EVENTS = Path(__file__).resolve().parents[2] / "events"
REGION = "us-east-1"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ZOOM_ENV = {"ZOOM_API_URL": "https://api.zoom.us/v2", "ZOOM_OAUTH_URL": "https://zoom.us/oauth/token",
            "ZOOM_ACCOUNT_ID": "dev-account", "ZOOM_CLIENT_ID": "dev-client-id",
            "ZOOM_CLIENT_SECRET": "dev-client-secret", "ZOOM_PLAN": "pro"}


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def report(number: str, at: datetime, reporter: str) -> str:
    return json.dumps({"type": "spam_report", "phone_number": number, "reporter": reporter,
                       "reported_at": iso(at)})


class Stack:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clock = ManualClock(T0)
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        for name, shape in (("blocks", BLOCKS_TABLE), ("evidence", EVIDENCE_TABLE), ("rate", RATE_LIMIT_TABLE),
                            ("checkpoints", CHECKPOINTS_TABLE)):
            create_table(self.ddb, name, shape)
        self.queues = {name: self.sqs.create_queue(QueueName=name)["QueueUrl"]
                       for name in ("ingest", "ingest-dlq", "block", "block-dlq")}
        env = {"BLOCKS_TABLE": "blocks", "EVIDENCE_TABLE": "evidence", "RATE_LIMIT_TABLE": "rate",
               "CHECKPOINTS_TABLE": "checkpoints", "INGEST_QUEUE_URL": self.queues["ingest"],
               "INGEST_DLQ_URL": self.queues["ingest-dlq"], "BLOCK_QUEUE_URL": self.queues["block"],
               "BLOCK_DLQ_URL": self.queues["block-dlq"], "AWS_DEFAULT_REGION": REGION, **ZOOM_ENV}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for name in ("ZOOM_SECRET_ARN", "DRY_RUN", "EXPIRY_ACTION", "MAX_PER_RUN"):
            monkeypatch.delenv(name, raising=False)
        self.monkeypatch = monkeypatch
        self.emulator = ZoomEmulator("pro", self.clock)
        zoom_wiring.set_zoom_transport(self.emulator.transport())
        self.zoom = ZoomClient.create(ZOOM_ENV["ZOOM_API_URL"], ZOOM_ENV["ZOOM_OAUTH_URL"], "dev-account",
                                      "dev-client-id", "dev-client-secret", transport=self.emulator.transport(),
                                      clock=self.clock, sleep=self.sleep)
        self.store = DynamoBlockStore(self.ddb, "blocks")
        self.context = LambdaContext(function_name="test", timeout_s=900)

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def setenv(self, **values: str) -> None:
        for name, value in values.items():
            self.monkeypatch.setenv(name, value)
        wiring.cache_clear()

    # --- the functions, composed with this stack's clock and Zoom client ----------------------------------

    def expirer_deps(self) -> expirer_wiring.ExpirerDeps:
        return expirer_wiring.build_deps(expirer_wiring.get_settings(), dynamodb=self.ddb, zoom=self.zoom,
                                         account="dev-account", clock=self.clock, sleep=self.sleep)

    def reconciler_deps(self) -> reconciler_wiring.ReconcilerDeps:
        return reconciler_wiring.build_deps(reconciler_wiring.get_settings(), dynamodb=self.ddb, zoom=self.zoom,
                                            account="dev-account", clock=self.clock, sleep=self.sleep)

    def backfill_deps(self) -> backfill_wiring.BackfillDeps:
        return backfill_wiring.build_deps(backfill_wiring.get_settings(), dynamodb=self.ddb, sqs=self.sqs,
                                          zoom=self.zoom, account="dev-account", clock=self.clock, sleep=self.sleep)

    def expire(self, event: dict[str, Any]) -> dict[str, Any]:
        return expirer_handler.handle(event, self.context, self.expirer_deps())

    def reconcile(self, event: dict[str, Any] | None = None) -> dict[str, Any]:
        return reconciler_handler.handle(event or load_event("reconciler_schedule.json"), self.context,
                                         self.reconciler_deps())

    def backfill(self, event: dict[str, Any], on_progress=None) -> dict[str, Any]:
        return backfill_handler.handle(event, LambdaContext(function_name="backfill", timeout_s=900,
                                                            aws_request_id=str(uuid.uuid4())),
                                       self.backfill_deps(), on_progress)

    def score(self, *bodies: str) -> dict[str, Any]:
        """The scorer on these IngestQueue bodies (one batch); block requests land on BlockQueue."""
        deps = scorer_wiring.build_deps(scorer_wiring.get_settings(), dynamodb_client=self.ddb, sqs_client=self.sqs,
                                        clock=self.clock)
        records = [sqs_record({"MessageId": str(uuid.uuid4()), "ReceiptHandle": "rh", "Body": body},
                              "arn:aws:sqs:us-east-1:123456789012:ingest", REGION) for body in bodies]
        return scorer_handler.handle({"Records": records}, self.context, deps)

    def block(self) -> list[dict[str, Any]]:
        """The blocker on everything waiting on BlockQueue; returns the block requests it handled."""
        deps = blocker_wiring.build_deps(blocker_wiring.get_settings(), dynamodb=self.ddb, sqs=self.sqs,
                                         zoom=self.zoom, account="dev-account", clock=self.clock, sleep=self.sleep)
        handled = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queues["block"], MaxNumberOfMessages=10,
                                                AttributeNames=["All"], MessageAttributeNames=["All"],
                                                VisibilityTimeout=0).get("Messages", [])
            if not messages:
                return handled
            event = {"Records": [sqs_record(m, "arn:aws:sqs:us-east-1:123456789012:block", REGION)
                                 for m in messages]}
            result = blocker_handler.handle(event, self.context, deps)
            assert result == {"batchItemFailures": []}, result
            for m in messages:
                self.sqs.delete_message(QueueUrl=self.queues["block"], ReceiptHandle=m["ReceiptHandle"])
                handled.append(json.loads(m["Body"]))

    # --- reading ------------------------------------------------------------------------------------------

    def rows(self) -> dict[str, Any]:
        return {r.key.as_id(): r for r in self._scan()}

    def _scan(self):
        from spam_blocker.adapters.dynamo_blocks import from_item

        return [from_item(item) for item in self.ddb.scan(TableName="blocks", ConsistentRead=True)["Items"]]

    def entries(self) -> dict[str, dict[str, str]]:
        """Zoom's entries by phone_number."""
        return {e["phone_number"]: e for e in self.emulator.entries()}

    def drain(self, queue: str = "ingest") -> list[dict[str, Any]]:
        bodies = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queues[queue], MaxNumberOfMessages=10,
                                                VisibilityTimeout=60).get("Messages", [])
            if not messages:
                return bodies
            for m in messages:
                bodies.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queues[queue], ReceiptHandle=m["ReceiptHandle"])

    def later(self, **delta: float) -> datetime:
        return T0 + timedelta(**delta)


def open_stack(monkeypatch):
    """The stack for one test (a generator for a fixture: `yield from open_stack(monkeypatch)`)."""
    clear_token_cache()
    metrics.clear_metrics()
    with mock_aws():
        wiring.cache_clear()
        built = Stack(monkeypatch)
        yield built
        built.zoom.close()
        zoom_wiring.set_zoom_transport(None)
        wiring.cache_clear()
    metrics.clear_metrics()
    clear_token_cache()


@pytest.fixture
def stack(monkeypatch):
    yield from open_stack(monkeypatch)


# --- the stack's own checks ----------------------------------------------------------------------------------

MY_EVENTS = sorted(p.name for p in EVENTS.glob("*.json") if p.name.startswith(("expirer", "reconciler", "backfill")))


def test_every_lifecycle_sample_payload_is_valid_for_its_function(stack):
    from spam_blocker.domain.backfill_plan import parse_request
    from spam_blocker.domain.invocation import as_payload, payload_flag, payload_now

    assert {"expirer_schedule.json", "reconciler_schedule.json", "backfill_range.json",
            "backfill_numbers.json"} <= set(MY_EVENTS)
    for name in MY_EVENTS:
        event = load_event(name)
        if name.startswith("backfill"):
            assert isinstance(parse_request(event), BackfillRequest)
        else:
            payload = as_payload(event)
            payload_flag(payload, "dry_run")
            assert payload_now(payload) is not None or "action" in payload


@pytest.mark.parametrize(("settings", "missing"), [
    (expirer_wiring.get_settings, "EVIDENCE_TABLE"),
    (reconciler_wiring.get_settings, "BLOCKS_TABLE"),
    (backfill_wiring.get_settings, "CHECKPOINTS_TABLE"),
])
def test_a_missing_resource_name_fails_at_cold_start_naming_it(stack, settings, missing):
    stack.monkeypatch.delenv(missing)
    wiring.cache_clear()
    with pytest.raises(SettingsError, match=missing):
        settings()


def test_no_zoom_credentials_is_a_settings_error(stack):
    for name in ("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET"):
        stack.monkeypatch.delenv(name)
    wiring.cache_clear()
    with pytest.raises(SettingsError, match="ZOOM_SECRET_ARN"):
        expirer_wiring.get_settings()
