"""Use case: ops unblock — let a number (or a prefix) call again now, and keep it off the list for a while.

    Unblock(...).run("+19075550123", now=..., dry_run=False) -> UnblockReport    # also "1907555*"

1. The blocks that stop the target: its own key and every covering prefix (services/coverage), inbound; for
   a prefix also our active prefix blocks inside it (a range blocked as tiles around protected numbers).
   Our number blocks inside a prefix stay: each has evidence of its own (unblock them one by one).
2. Each of our blocks (active, or pending) goes through the blocker's own unblock path
   (ExecuteBlock with an `action: "unblock"` request): removed from Zoom and marked `removed` with
   `cooldown_until`, a pending one cancelled, an ended one given the cool-down. A person's entry
   (`external`) is never touched: the report names it so ops can remove it in the portal.
3. For a number, a `not_spam` contribution from the operator is written to its evidence (the scorer's
   merge, idempotent), so the scorer's safety rails refuse to block it again, alone or inside a range,
   until the cool-down ends, even if it had no row of its own.

Every step is reported in words. `dry_run` reads and says what would be done; it changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from spam_blocker.clock import Clock, iso
from spam_blocker.domain import phone
from spam_blocker.domain.allowlist import parse_entry
from spam_blocker.domain.block_request import BlockKey, BlockRequest
from spam_blocker.domain.block_state import BlockRecord, BlockState
from spam_blocker.domain.evidence import Contribution, NumberEvidence, epoch, merge
from spam_blocker.observability import logger, metrics
from spam_blocker.ports import BlockStore, EvidenceStore, RateLimiter, StoreConflict
from spam_blocker.services.coverage import key_and_covering
from spam_blocker.services.execute_block import ExecuteBlock
from spam_blocker.services.outcomes import UNSETTLED, Outcome, Result
from spam_blocker.services.permits import Permits
from spam_blocker.services.remove_block import ALREADY_GONE

BLOCK_TYPE = "inbound"
WRITE_ATTEMPTS = 4


class UnblockInputError(ValueError):
    """Not a number or a prefix (bad usage: the CLI exits 2)."""


@dataclass
class UnblockReport:
    target: str
    dry_run: bool = False
    cooldown_until: str | None = None
    actions: list[dict[str, str]] = field(default_factory=list)  # one per block found, plus the evidence step
    complete: bool = True  # every block dealt with (False: a rate limit or a Zoom failure; run it again)

    @property
    def text(self) -> str:
        lines = [f"{'Dry run: ' if self.dry_run else ''}unblock {self.target}"]
        if not any(a["kind"] == "block" for a in self.actions):
            lines.append("  no block of ours or anyone's stops it in the table")
        lines += [f"  - {a['text']}" for a in self.actions]
        if not self.complete:
            lines.append("  NOT COMPLETE: run the command again (see above)")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}


def parse_target(raw: str, region: str = "US") -> tuple[BlockKey, str | None]:
    """'+1 907 555 0123' -> (phoneNumber key, the E.164 number); '+1907555*' -> (prefix key, None)."""
    try:
        entry = parse_entry(raw, region)
    except ValueError as exc:
        raise UnblockInputError(f"{raw!r} is not a phone number or a prefix ending in '*': {exc}") from None
    if entry.is_prefix:
        return BlockKey("prefix", entry.value, BLOCK_TYPE), None
    return BlockKey("phoneNumber", entry.value, BLOCK_TYPE), entry.value


class Unblock:
    def __init__(self, *, store: BlockStore, executor: ExecuteBlock, evidence: EvidenceStore, limiter: RateLimiter,
                 clock: Clock, cooldown: timedelta, sleep: Callable[[float], None] | None = None,
                 max_wait_s: float = 0.0, region: str = "US") -> None:
        self.store = store
        self.executor = executor
        self.evidence = evidence
        self.limiter = limiter
        self.clock = clock
        self.cooldown = cooldown
        self.sleep = sleep
        self.max_wait_s = max_wait_s if sleep is not None else 0.0
        self.region = region

    def run(self, target: str, *, now: datetime, dry_run: bool = False, reporter: str = "ops") -> UnblockReport:
        key, number = parse_target(target, self.region)
        until = now + self.cooldown
        report = UnblockReport(target=key.phone_number + ("*" if number is None else ""), dry_run=dry_run,
                               cooldown_until=iso(until))
        keys = key_and_covering(key)
        records = self.store.get_many(keys)
        if number is None:  # a range blocked as narrower prefixes around protected numbers: those too
            for inside in self.store.active_within(key.phone_number, key.block_type, "prefix"):
                if inside.key not in records:
                    keys.append(inside.key)
                    records[inside.key] = inside
        permits = Permits(self.limiter, self.clock, max_wait_s=self.max_wait_s, sleep=self.sleep)
        for k in keys:
            record = records.get(k)
            if record is not None:
                self._one(record, key, until, now, permits, dry_run, report)
        if number is not None:
            self._not_spam(number, now, reporter, dry_run, report)
        if not dry_run:
            metrics.add_metric(name="OpsUnblocks", unit="Count", value=1)
        return report

    def _one(self, record: BlockRecord, target: BlockKey, until: datetime, now: datetime, permits: Permits,
             dry_run: bool, report: UnblockReport) -> None:
        what = _describe_key(record.key, target)
        if record.state is BlockState.EXTERNAL:
            report.actions.append(_action(record, "left alone", (
                f"{what} is blocked by a person's entry in the Zoom portal (id {record.zoom_id}); never touched "
                "by this tool: remove it in the portal if it should go")))
            return
        if dry_run:
            if record.state in (BlockState.ACTIVE, BlockState.PENDING):
                verb = "remove it from Zoom" if record.state is BlockState.ACTIVE else "cancel it"
                text = f"would {verb} ({what}, {record.state}{_zoom(record)}) and keep it off until {iso(until)}"
            else:
                text = f"{what} is already {record.state}; would keep it off until {iso(until)}"
            report.actions.append(_action(record, "would unblock", text))
            return
        request = BlockRequest(action="unblock", cooldown_until=until, match_type=record.key.match_type,
                               phone_number=record.key.phone_number, block_type=record.key.block_type,
                               reason=f"ops unblock of {report.target}", expires_at=until, decided_at=now)
        outcome = self.executor.execute(request, attempt_id=f"ops-{uuid.uuid4().hex[:12]}", permits=permits)
        report.actions.append(_action(record, outcome.result.value, _outcome_text(what, record, outcome, until)))
        if outcome.result in UNSETTLED or outcome.result is Result.FAILED:
            report.complete = False
        logger.info("ops unblock", extra={"block_id": record.key.as_id(), "result": outcome.result.value,
                                          "detail": outcome.detail})

    def _not_spam(self, number: str, now: datetime, reporter: str, dry_run: bool, report: UnblockReport) -> None:
        who = f"ops:{reporter}"
        if dry_run:
            report.actions.append({"kind": "evidence", "result": "would record", "text": (
                f"would record not_spam for {number} from {who}: the scorer keeps it (and any range over it) "
                f"off the list during its cool-down")})
            return
        contribution = Contribution("not_spam", number, epoch(now), who)
        for _ in range(WRITE_ATTEMPTS):
            current = self.evidence.get_many([number]).get(number) or NumberEvidence(number)
            merged = merge(current, [contribution])
            if merged == current:
                break
            try:
                self.evidence.put(merged)
                break
            except StoreConflict:
                continue
        else:
            report.complete = False
            report.actions.append({"kind": "evidence", "result": "failed",
                                   "text": f"could not record not_spam for {number}: its evidence kept changing"})
            return
        report.actions.append({"kind": "evidence", "result": "recorded", "text": (
            f"recorded not_spam for {number} from {who}: the scorer will not block it again, alone or inside a "
            f"range, during its cool-down")})


def _describe_key(key: BlockKey, target: BlockKey) -> str:
    if key == target:
        return f"{'number' if key.match_type == 'phoneNumber' else 'prefix'} block {key.phone_number}"
    if key.phone_number.startswith(target.phone_number):
        return f"prefix block {key.phone_number} (inside {target.phone_number})"
    return f"covering prefix block {key.phone_number} ({phone.digits(target.phone_number)} starts with it)"


def _zoom(record: BlockRecord) -> str:
    return f", Zoom entry {record.zoom_id}" if record.zoom_id else ""


def _action(record: BlockRecord, result: str, text: str) -> dict[str, str]:
    return {"kind": "block", "block": record.key.as_id(), "state": record.state.value, "result": result,
            "text": text}


def _outcome_text(what: str, record: BlockRecord, outcome: Outcome, until: datetime) -> str:
    result = outcome.result
    if result is Result.REMOVED and ALREADY_GONE in outcome.detail:
        return f"{what}: {ALREADY_GONE} (entry {record.zoom_id}); kept off the list until {iso(until)}"
    if result is Result.REMOVED:
        return f"removed {what} from Zoom (entry {record.zoom_id}); kept off the list until {iso(until)}"
    if result is Result.NOTHING_TO_REMOVE:
        return f"{what}: {outcome.detail}; kept off the list until {iso(until)}"
    if result is Result.NOT_OURS:
        return f"{what}: {outcome.detail} (Zoom entry {outcome.zoom_id}); remove it in the portal if it should go"
    if result is Result.LIMITED:
        when = f" until {iso(outcome.retry_at)}" if outcome.retry_at else ""
        return f"{what}: NOT removed yet: rate limit ({outcome.detail}){when}"
    if result is Result.IN_PROGRESS:
        return f"{what}: NOT removed yet: the blocker is working on it ({outcome.detail})"
    return f"{what}: NOT removed: {outcome.detail}"

