"""The pipeline on a virtual clock: IngestQueue -> scorer -> BlockQueue -> blocker -> Zoom, with nothing waited.

Real parts: moto's SQS queues (receipt handles, receive counts, redrive to the DLQs at template.yaml's
maxReceiveCount) and DynamoDB tables behind the real adapters; the real handlers (`functions.*.handler.handle`)
invoked by the local EventSourceMapping (`poll_once`: receive, invoke, delete what succeeded); the real
ZoomClient talking to the Zoom emulator in-process. One ManualClock drives the services, the Zoom client and
the emulator (its rate-limit window, token lifetimes), so a run is deterministic and takes no wall time.

What is virtual is SQS time. When the blocker changes a message's visibility (a deferral) or a handler
fails records without touching them (they come back after the queue's visibility timeout), the message is
really hidden for hours, and this harness remembers when, in virtual time, SQS would show it again. A
message sent with DelaySeconds is held back the same way. `drain()` polls both mappings until nothing is
visible, then moves the clock to the next due message and releases it - exactly the order AWS would
deliver in, without the waiting.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from spam_blocker.adapters.dynamo_blocks import from_item
from spam_blocker.adapters.sqs_queue import SqsQueue
from spam_blocker.adapters.tables import BLOCKS_TABLE, EVIDENCE_TABLE, RATE_LIMIT_TABLE, create_table
from spam_blocker.clock import ManualClock, iso
from spam_blocker.config.blocker import BlockerSettings
from spam_blocker.config.scorer import ScorerSettings
from spam_blocker.domain.block_request import BlockRequest
from spam_blocker.domain.block_state import ZOOM_TAG
from spam_blocker.wiring import blocker as blocker_wiring
from spam_blocker.wiring import scorer as scorer_wiring
from spam_blocker.zoom.client import ZoomClient

from functions.blocker.handler import handle as blocker_handle
from functions.scorer.handler import handle as scorer_handle
from local.emulator import ZoomEmulator
from local.esm_loop import EventSourceMapping

REGION = "us-east-1"
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ACCOUNT = ("dev-account", "dev-client-id", "dev-client-secret")
API_URL, OAUTH_URL = "https://api.zoom.us/v2", "https://zoom.us/oauth/token"
QUEUE_VISIBILITY_S = 360  # template.yaml: 6 x the function timeout, both queues
MAX_RECEIVES = {"ingest": 5, "block": 25}  # template.yaml's redrive policies
HIDDEN_S = 3_600  # how long a held-back message is really invisible (a test lasts seconds)


# --- events in the IngestQueue contract ------------------------------------------------------------------

def report(number: str, reporter: str, minutes: float = 0.0, kind: str = "spam_report") -> str:
    return json.dumps({"type": kind, "phone_number": number, "reporter": reporter,
                       "reported_at": iso(START - timedelta(hours=1) + timedelta(minutes=minutes)),
                       "reason": "robocall"})


def not_spam(number: str, reporter: str, minutes: float = 0.0) -> str:
    return report(number, reporter, minutes, kind="not_spam")


def reported_twice(number: str, minutes: float = 0.0) -> list[str]:
    """Two people report it: enough for a number block under the default policy."""
    return [report(number, "ext-1001", minutes), report(number, "ext-1002", minutes + 1)]


def block_request(number: str, **fields: Any) -> str:
    match_type = "phoneNumber" if number.startswith("+") else "prefix"
    return BlockRequest(match_type=match_type, phone_number=number, reason=fields.pop("reason", "spam reports"),
                        expires_at=START + timedelta(days=30), decided_at=START, **fields).to_body()


# --- SQS time --------------------------------------------------------------------------------------------

@dataclass
class _Held:
    due: datetime
    url: str
    receipt: str | None = None  # a hidden message
    body: str | None = None  # or one sent with a delay
    attributes: dict[str, str] | None = None


class SqsTime:
    def __init__(self, sqs: Any, clock: ManualClock) -> None:
        self._sqs = sqs
        self._clock = clock
        self._held: list[_Held] = []

    def hide(self, url: str, receipt: str, seconds: float) -> None:
        self._held = [h for h in self._held if h.receipt != receipt]
        self._sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=HIDDEN_S)
        self._held.append(_Held(self._clock.now() + timedelta(seconds=int(round(seconds))), url, receipt=receipt))

    def hidden(self, receipt: str) -> bool:
        return any(h.receipt == receipt for h in self._held)

    def delay(self, url: str, body: str, seconds: int, attributes: dict[str, str] | None) -> None:
        self._held.append(_Held(self._clock.now() + timedelta(seconds=seconds), url, body=body,
                                attributes=attributes))

    def next_due(self) -> datetime | None:
        return min((h.due for h in self._held), default=None)

    def release_due(self) -> int:
        now = self._clock.now()
        due, self._held = [h for h in self._held if h.due <= now], [h for h in self._held if h.due > now]
        for held in due:
            if held.receipt is not None:
                try:
                    self._sqs.change_message_visibility(QueueUrl=held.url, ReceiptHandle=held.receipt,
                                                        VisibilityTimeout=0)
                except self._sqs.exceptions.ClientError:
                    pass  # deleted meanwhile (a record that was deferred and then done)
            else:
                SqsQueue(self._sqs, held.url).send(held.body or "", attributes=held.attributes)
        return len(due)


class ClockedQueue(SqsQueue):
    """The blocker's own queue adapter, with visibility changes and delays on the virtual clock."""

    def __init__(self, client: Any, url: str, time: SqsTime) -> None:
        super().__init__(client, url)
        self._time = time
        self.visibility: list[int] = []
        self.resent: list[int] = []

    def change_visibility(self, receipt_handle: str, seconds: float) -> None:
        self.visibility.append(int(round(seconds)))
        self._time.hide(self.url, receipt_handle, seconds)

    def send(self, body: str, *, delay_s: int = 0, attributes: dict[str, str] | None = None) -> None:
        if delay_s:
            self.resent.append(delay_s)
            self._time.delay(self.url, body, delay_s, attributes)
        else:
            super().send(body, attributes=attributes)


# --- the world -------------------------------------------------------------------------------------------

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class World:
    """Queues, tables, Zoom and both functions; `instances` blocker containers take invocations in turn."""

    def __init__(self, *, instances: int = 1, emulator: ZoomEmulator | None = None, seed: int = 7,
                 blocker_env: dict[str, str] | None = None, scorer_batch: int = 10, blocker_batch: int = 10) -> None:
        self.clock = ManualClock(START)
        self.emulator = emulator or ZoomEmulator(plan="pro", clock=self.clock, seed=seed)
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        for name, shape in (("evidence", EVIDENCE_TABLE), ("blocks", BLOCKS_TABLE), ("rate", RATE_LIMIT_TABLE)):
            create_table(self.ddb, name, shape)
        self.urls: dict[str, str] = {}
        for name in ("ingest", "block"):
            dlq = self.sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.urls[f"{name}-dlq"] = dlq
            self.urls[name] = self.sqs.create_queue(QueueName=name, Attributes={
                "VisibilityTimeout": str(QUEUE_VISIBILITY_S),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(MAX_RECEIVES[name])}),
            })["QueueUrl"]
        self.time = SqsTime(self.sqs, self.clock)
        self._dead: dict[str, list[tuple[str, str | None]]] = {}
        self.scorer = scorer_wiring.build_deps(ScorerSettings.from_env({
            "EVIDENCE_TABLE": "evidence", "BLOCKS_TABLE": "blocks", "BLOCK_QUEUE_URL": self.urls["block"],
            "INGEST_DLQ_URL": self.urls["ingest-dlq"], "LISTS_CACHE_SECONDS": "0"}),
            dynamodb_client=self.ddb, sqs_client=self.sqs, clock=self.clock)
        self.settings = BlockerSettings.from_env({
            "BLOCKS_TABLE": "blocks", "RATE_LIMIT_TABLE": "rate", "BLOCK_QUEUE_URL": self.urls["block"],
            "BLOCK_DLQ_URL": self.urls["block-dlq"], "ZOOM_ACCOUNT_ID": ACCOUNT[0], "ZOOM_CLIENT_ID": ACCOUNT[1],
            "ZOOM_CLIENT_SECRET": ACCOUNT[2], **(blocker_env or {})})
        self.queue = ClockedQueue(self.sqs, self.urls["block"], self.time)
        self._seed = seed
        self.blockers = [self.blocker_instance(n) for n in range(instances)]
        self._turn = 0
        self.scorer_handler: Handler = lambda event, context: scorer_handle(event, context, self.scorer)
        self.blocker_handler: Handler = self._next_blocker
        self.scorer_map = EventSourceMapping(sqs=self.sqs, queue_url=self.urls["ingest"], function_name="scorer",
                                             handler=self._timed("ingest", lambda e, c: self.scorer_handler(e, c)),
                                             batch_size=scorer_batch, idle_sleep_s=0)
        self.blocker_map = EventSourceMapping(sqs=self.sqs, queue_url=self.urls["block"], function_name="blocker",
                                              handler=self._timed("block", lambda e, c: self.blocker_handler(e, c)),
                                              batch_size=blocker_batch, idle_sleep_s=0)

    def blocker_instance(self, n: int) -> Any:
        """Another blocker container: its own Zoom client, limiter cache and blocked-list index."""
        zoom = ZoomClient.create(API_URL, OAUTH_URL, *ACCOUNT, transport=self.emulator.transport(), clock=self.clock,
                                 sleep=lambda s: self.clock.advance(s), rng=random.Random(self._seed + n))
        return blocker_wiring.build_deps(self.settings, dynamodb=self.ddb, sqs=self.sqs, zoom=zoom, account=ACCOUNT[0],
                                         clock=self.clock, sleep=lambda s: self.clock.advance(s),
                                         rng=random.Random(self._seed * 31 + n), queue=self.queue)

    def _next_blocker(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        deps = self.blockers[self._turn % len(self.blockers)]
        self._turn += 1
        return blocker_handle(event, context, deps)

    def _timed(self, queue: str, handler: Handler) -> Handler:
        """What SQS does with records the invocation did not finish: the whole batch when the handler raises,
        the reported failures otherwise, come back after the queue's visibility timeout - unless the
        handler set their visibility itself."""
        url = self.urls[queue]

        def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
            receipts = {r["messageId"]: r["receiptHandle"] for r in event["Records"]}
            try:
                result = handler(event, context)
            except Exception:
                unfinished = list(receipts.values())
                raise
            else:
                unfinished = [receipts[f["itemIdentifier"]] for f in (result or {}).get("batchItemFailures", [])]
                return result
            finally:
                for receipt in unfinished:
                    if not self.time.hidden(receipt):
                        self.time.hide(url, receipt, QUEUE_VISIBILITY_S)

        return invoke

    # --- driving -------------------------------------------------------------------------------------

    def send(self, *bodies: str, queue: str = "ingest") -> None:
        SqsQueue(self.sqs, self.urls[queue]).send_many(bodies)

    def drain(self, *, max_steps: int = 2000, until: datetime | None = None) -> None:
        """Deliver until every queue is empty and nothing is held back (or the clock reaches `until`)."""
        for _ in range(max_steps):
            if self.scorer_map.poll_once() + self.blocker_map.poll_once():
                continue
            due = self.time.next_due()
            if due is None or (until is not None and due > until):
                if until is not None:
                    self.clock.set(max(self.clock.now(), until))
                return
            self.clock.set(max(self.clock.now(), due))
            self.time.release_due()
        raise AssertionError(f"not drained after {max_steps} steps: {self.depths()}")

    # --- looking ---------------------------------------------------------------------------------------

    def depths(self) -> dict[str, int]:
        out = {}
        for name, url in self.urls.items():
            attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            out[name] = int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
        return out

    def dead_letters(self, queue: str) -> list[tuple[str, str | None]]:
        """(body, reason attribute) of every message that reached a DLQ so far."""
        found = self._dead.setdefault(queue, [])
        while messages := self.sqs.receive_message(QueueUrl=self.urls[f"{queue}-dlq"], MaxNumberOfMessages=10,
                                                   MessageAttributeNames=["All"], VisibilityTimeout=HIDDEN_S
                                                   ).get("Messages", []):
            found.extend((m["Body"], m.get("MessageAttributes", {}).get("reason", {}).get("StringValue"))
                         for m in messages)
        return list(found)

    def blocks(self) -> dict[tuple[str, str], Any]:
        items = self.ddb.scan(TableName="blocks")["Items"]
        return {(r.key.match_type, r.key.phone_number): r for r in map(from_item, items)}

    def entries(self) -> Counter[tuple[str, str]]:
        return Counter((e["match_type"], e["phone_number"]) for e in self.emulator.entries())

    def requests(self, route: str | None = None) -> list[Any]:
        return [r for r in self.emulator.requests if r.category is not None and (route is None or r.route == route)]

    def posts(self) -> int:
        return len(self.requests("POST /phone/blocked_list"))

    def assert_blocked_once(self, numbers: list[str]) -> None:
        """Zoom holds exactly one entry of ours per number (none twice), and the Blocks table agrees."""
        entries = self.emulator.entries()
        counts = self.entries()
        assert all(n == 1 for n in counts.values()), f"duplicate entries: {counts}"
        rows = self.blocks()
        for number in numbers:
            found = [e for e in entries if e["match_type"] == "phoneNumber" and e["phone_number"] == number]
            assert len(found) == 1, f"{number}: {len(found)} entries"
            assert found[0]["comment"].startswith(ZOOM_TAG)
            row = rows[("phoneNumber", number)]
            assert str(row.state) == "active" and row.zoom_id == found[0]["id"], (number, row)
