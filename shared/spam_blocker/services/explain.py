"""Use case: "why was this blocked?" — for any number, the decision, the evidence and the Zoom entry, in words.

    facts = gather(number, blocks=..., evidence=..., lists=..., zoom=..., permits=..., now=...)
    text = render(facts)                      # pure formatting over what the stores returned

`gather` asks the stores: the number's rows and every covering prefix's (inbound and outbound), the
evidence of the number's whole exchange (what a range decision looks at), the allowlist and own numbers,
and Zoom for each entry a row names (one Light permit each; Zoom being unavailable is said, not fatal).
The decision is the scorer's own `decide` on that evidence as of `now`: what the scorer would decide now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from spam_blocker.clock import Clock, iso
from spam_blocker.domain import phone
from spam_blocker.domain.allowlist import ListEntry
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import BlockRecord, BlockState, is_ours
from spam_blocker.domain.evidence import NumberEvidence, exchange_of, from_epoch
from spam_blocker.domain.scoring import DEFAULT_POLICY, Decision, Policy, decide
from spam_blocker.ports import BlockStore, EvidenceStore, ListSource, RateLimiter, ZoomPhone
from spam_blocker.services.coverage import key_and_covering
from spam_blocker.services.permits import Permits
from spam_blocker.zoom.errors import ZoomError, ZoomNotFound, ZoomRateLimited
from spam_blocker.zoom.models import BlockedEntry

BLOCK_TYPES = ("inbound", "outbound")
SHOWN_CONTRIBUTIONS = 5


class ExplainInputError(ValueError):
    """Not a phone number (bad usage: the CLI exits 2)."""


@dataclass(frozen=True)
class ExplainFacts:
    number: str
    now: datetime
    decision: Decision
    evidence: NumberEvidence | None
    neighbours: int  # other numbers with evidence in the same exchange
    allow: ListEntry | None
    own: ListEntry | None
    blocks: tuple[BlockRecord, ...]  # the number's rows and covering prefixes' rows
    zoom: Mapping[str, BlockedEntry | str] = field(default_factory=dict)  # zoom_id -> entry, or why not shown


def gather(raw_number: str, *, blocks: BlockStore, evidence: EvidenceStore, lists: ListSource, zoom: ZoomPhone | None,
           permits: Permits | None, now: datetime, policy: Policy = DEFAULT_POLICY, region: str = "US") -> ExplainFacts:
    if raw_number.strip().endswith("*"):
        raise ExplainInputError(f"{raw_number!r} is a prefix: explain takes one number; explain a number inside the "
                                "range to see the range's blocks that cover it and why")
    try:
        if phone.is_emergency_or_short(raw_number, region):
            raise phone.InvalidNumber("an emergency or short code")
        number = phone.normalize(raw_number, region)
    except phone.InvalidNumber as exc:
        raise ExplainInputError(f"{raw_number!r} is not a phone number we could block: {exc}") from None
    keys: list[BlockKey] = []
    for block_type in BLOCK_TYPES:
        keys += key_and_covering(BlockKey("phoneNumber", number, block_type))
    rows = blocks.get_many(keys)
    found = tuple(rows[k] for k in keys if k in rows)
    view = evidence.query_exchange(exchange_of(number))
    protected = lists.current()
    decision = decide(number, view, protected, now, policy)
    return ExplainFacts(
        number=number, now=now, decision=decision, evidence=view.get(number),
        neighbours=len([n for n in view if n != number]), allow=protected.allow_entry_for(number),
        own=protected.own_entry_for(number), blocks=found, zoom=_zoom_entries(found, zoom, permits))


GONE_FROM_ZOOM = "Zoom has no such entry any more (removed in the portal? the reconciler will notice)"


def _zoom_entries(rows: tuple[BlockRecord, ...], zoom: ZoomPhone | None,
                  permits: Permits | None) -> dict[str, BlockedEntry | str]:
    shown: dict[str, BlockedEntry | str] = {}
    for row in rows:
        if not row.zoom_id or row.zoom_id in shown or row.state not in (BlockState.ACTIVE, BlockState.EXTERNAL):
            continue
        if zoom is None:
            shown[row.zoom_id] = "not asked (no Zoom access)"
            continue
        if permits is not None:
            grant = permits.take("Light")
            if not grant.granted:
                shown[row.zoom_id] = f"not asked: rate limit ({grant.reason})"
                continue
        try:
            shown[row.zoom_id] = zoom.get_blocked(row.zoom_id)
        except ZoomNotFound:
            shown[row.zoom_id] = GONE_FROM_ZOOM
        except ZoomRateLimited as exc:
            if permits is not None:
                permits.penalize(exc.category, exc.retry_at, exc.limit_type)
            shown[row.zoom_id] = f"not asked: Zoom answered 429 ({exc.limit_type})"
        except ZoomError as exc:
            shown[row.zoom_id] = f"Zoom could not be asked: {type(exc).__name__}: {exc.message}"
    return shown


# --- words (pure) -------------------------------------------------------------------------------------------


def render(facts: ExplainFacts) -> str:
    lines = [f"{facts.number} — as of {iso(facts.now)}", ""]
    lines += _status(facts)
    lines += ["", "Decision now:", f"  {facts.decision.action}: {facts.decision.explanation}"]
    for refusal in facts.decision.refusals:
        lines.append(f"  safety rail {refusal.rule}: {refusal.detail}")
    lines += ["", "Evidence:"] + [f"  {line}" for line in _evidence(facts)]
    lines += ["", "Blocks:"]
    if not facts.blocks:
        lines.append("  none: no row in the Blocks table for this number or any prefix covering it")
    for row in facts.blocks:
        lines += [f"  {line}" for line in _block(row, facts)]
    lines += ["", "Lists:", f"  allowlist: {facts.allow.describe() if facts.allow else 'not on it'}",
              f"  own numbers: {facts.own.describe() if facts.own else 'not one of them'}"]
    return "\n".join(lines)


def as_data(facts: ExplainFacts) -> dict[str, Any]:
    """The same facts as JSON-ready data (for the ops function's return value)."""
    return {
        "number": facts.number, "now": iso(facts.now), "blocked": _blocked_by(facts) is not None,
        "decision": {"action": facts.decision.action, "target": facts.decision.target,
                     "explanation": facts.decision.explanation, "evidence": dict(facts.decision.evidence)},
        "blocks": [{"block": r.key.as_id(), "state": r.state.value, "zoom_id": r.zoom_id, "reason": r.reason,
                    "expires_at": iso(r.expires_at) if r.expires_at else None,
                    "cooldown_until": iso(r.cooldown_until) if r.cooldown_until else None,
                    "ended_reason": r.ended_reason} for r in facts.blocks],
        "zoom": {k: v.model_dump() if isinstance(v, BlockedEntry) else v for k, v in facts.zoom.items()},
        "allowlisted": facts.allow.describe() if facts.allow else None,
        "own_number": facts.own.describe() if facts.own else None,
        "text": render(facts),
    }


def _blocked_by(facts: ExplainFacts) -> BlockRecord | None:
    return next((r for r in _blocking_rows(facts) if not _gone(r, facts)), None)


def _blocking_rows(facts: ExplainFacts) -> list[BlockRecord]:
    return [r for r in facts.blocks if r.is_blocking and r.key.block_type == "inbound"]


def _gone(row: BlockRecord, facts: ExplainFacts) -> bool:
    """Zoom, asked just now, has no active entry behind this row (the table has not caught up yet)."""
    live = facts.zoom.get(row.zoom_id or "")
    return live == GONE_FROM_ZOOM or (isinstance(live, BlockedEntry) and live.status == "inactive")


def _status(facts: ExplainFacts) -> list[str]:
    row = _blocked_by(facts)
    if row is None and _blocking_rows(facts):
        stale = _blocking_rows(facts)[0]
        return [f"NOT BLOCKED: the table says {_what(stale, facts)} is {stale.state}, but Zoom has no active entry "
                "for it any more (removed or deactivated in the portal?); the reconciler will record that."]
    if row is None:
        ended = [r for r in facts.blocks if r.state in (BlockState.EXPIRED, BlockState.REMOVED)]
        if ended:
            last = max(ended, key=lambda r: r.updated_at or facts.now)
            return [f"NOT BLOCKED. It was: {_what(last, facts)} is {last.state}"
                    + (f" ({last.ended_reason})" if last.ended_reason else "") + "."]
        return ["NOT BLOCKED by any entry the table knows."]
    who = "by a person's entry in the Zoom portal" if row.state is BlockState.EXTERNAL else "by us"
    return [f"BLOCKED {who}: {_what(row, facts)}."]


def _what(row: BlockRecord, facts: ExplainFacts) -> str:
    if row.key.match_type == "prefix":
        return f"prefix {row.key.phone_number} ({row.key.block_type}, covers {facts.number})"
    return f"number {row.key.phone_number} ({row.key.block_type})"


def _block(row: BlockRecord, facts: ExplainFacts) -> list[str]:
    lines = [f"{_what(row, facts)}: {row.state}"]
    if row.reason:
        lines.append(f"  why: {row.reason}")
    first = row.evidence.get("first_reason") if isinstance(row.evidence, dict) else None
    if first:
        renewals = row.evidence.get("renewals", 0)
        lines.append(f"  first decided {row.evidence.get('first_decided_at', '?')}: {first} "
                     f"(renewed {renewals} time{'' if renewals == 1 else 's'})")
    if row.decided_at:
        lines.append(f"  decided at {iso(row.decided_at)}")
    if row.expires_at and row.state is BlockState.ACTIVE:
        lines.append(f"  expires at {iso(row.expires_at)} (then renewed only if the evidence is fresh)")
    if row.ended_reason and row.state not in (BlockState.ACTIVE, BlockState.EXTERNAL):
        lines.append(f"  ended: {row.ended_reason}")
    if row.failure_reason:
        lines.append(f"  failure: {row.failure_reason}")
    if row.cooldown_until and row.cooldown_until > facts.now:
        lines.append(f"  kept off the list until {iso(row.cooldown_until)}")
    if row.zoom_id:
        entry = facts.zoom.get(row.zoom_id)
        if isinstance(entry, BlockedEntry):
            mark = "our tag" if is_ours(entry.comment) else "no tag of ours"
            lines.append(f"  Zoom entry {entry.id}: {entry.match_type} {entry.phone_number} {entry.block_type} "
                         f"{entry.status or 'active'}, {mark}, comment {entry.comment or ''!r}")
        elif entry is not None:
            lines.append(f"  Zoom entry {row.zoom_id}: {entry}")
        else:
            lines.append(f"  Zoom entry {row.zoom_id} (not looked up: the row no longer blocks)")
    return lines


def _evidence(facts: ExplainFacts) -> list[str]:
    ev = facts.evidence
    lines: list[str] = []
    if ev is None or ev.is_empty:
        lines.append("nothing stored for this number")
    else:
        if ev.reports:
            recent = sorted(ev.reports, key=lambda r: r[1], reverse=True)[:SHOWN_CONTRIBUTIONS]
            shown = ", ".join(f"{who} at {iso(from_epoch(t))}" for who, t in recent)
            lines.append(f"{len(ev.reports)} reporter(s): {shown}")
        if ev.not_spam:
            shown = ", ".join(f"{who} at {iso(from_epoch(t))}" for who, t in ev.not_spam[:SHOWN_CONTRIBUTIONS])
            lines.append(f"not_spam from {len(ev.not_spam)} {'person' if len(ev.not_spam) == 1 else 'people'}: {shown}")
        if ev.calls:
            answered = sum(1 for c in ev.calls if c.answered)
            callees = len({c.callee for c in ev.calls if c.callee})
            last = max(c.at for c in ev.calls)
            lines.append(f"{len(ev.calls)} inbound call(s), {answered} answered, to {callees} employee(s); "
                         f"last at {iso(from_epoch(last))}")
        if ev.outbound:
            lines.append(f"{len(ev.outbound)} call(s) from employees to it")
    lines.append(f"{facts.neighbours} other number(s) with evidence in its exchange {exchange_of(facts.number)}")
    return lines


class Explainer:
    """`gather` with its stores bound (what the ops function holds per container)."""

    def __init__(self, *, blocks: BlockStore, evidence: EvidenceStore, lists: ListSource, zoom: ZoomPhone | None,
                 limiter: RateLimiter | None, clock: Clock, policy: Policy = DEFAULT_POLICY, region: str = "US",
                 sleep: Callable[[float], None] | None = None, max_wait_s: float = 0.0) -> None:
        self.blocks = blocks
        self.evidence = evidence
        self.lists = lists
        self.zoom = zoom
        self.limiter = limiter
        self.clock = clock
        self.policy = policy
        self.region = region
        self.sleep = sleep
        self.max_wait_s = max_wait_s if sleep is not None else 0.0

    def facts(self, number: str, now: datetime) -> ExplainFacts:
        permits = (Permits(self.limiter, self.clock, max_wait_s=self.max_wait_s, sleep=self.sleep)
                   if self.limiter is not None else None)
        return gather(number, blocks=self.blocks, evidence=self.evidence, lists=self.lists, zoom=self.zoom,
                      permits=permits, now=now, policy=self.policy, region=self.region)
