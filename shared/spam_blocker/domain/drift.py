"""Drift between Zoom's blocked list and the Blocks table, and the repairs (pure: the reconciler applies them).

Zoom is the shared truth: people edit the list in the portal. For every block key that Zoom or the table
knows (only `active` Zoom entries block; inactive ones are ignored):

| table row                 | Zoom has (active)            | repair                                                  |
|---------------------------|------------------------------|---------------------------------------------------------|
| none                      | our tagged entry             | `adopt`: row `active` with its zoom_id                  |
| none                      | a person's entry (no tag)    | `external`: row `external` (blocks, never touched)      |
| active, zoom_id listed    | (that entry)                 | in sync                                                 |
| active, zoom_id not listed| another tagged entry         | `relink`: row keeps blocking with that entry's id       |
| active, zoom_id not listed| nothing of ours              | `removed` (a person deleted/deactivated it); not re-created unless new evidence |
| external                  | nothing                      | `external_removed`                                      |
| expired/removed/failed    | our tagged entry             | `readopt` (-> pending -> active), or `delete_stale` while the row's cool-down runs |
| expired/removed/failed    | a person's entry             | `external_unrecorded`: reported only (an ended row cannot move to `external`) |
| pending                   | anything                     | left to the blocker (it settles its own doubt)          |

Extra tagged entries for one key (a duplicate POST) are `delete_duplicate`d. "Missing from Zoom" is only
concluded from a complete listing, and never for a row written after the listing started (the blocker may
have just created it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.block_state import (
    BlockRecord,
    BlockState,
    comment_reason,
    comment_since,
    comment_until,
    zoom_digits,
)
from spam_blocker.domain.scoring import DEFAULT_POLICY

BLOCK_TYPES = frozenset({"inbound", "outbound"})
ENDED = frozenset({BlockState.EXPIRED, BlockState.REMOVED, BlockState.FAILED})
REPORT_ONLY = frozenset({"external_unrecorded"})
ZOOM_ONLY = frozenset({"delete_duplicate", "delete_stale"})


@dataclass(frozen=True)
class ZoomEntry:
    """A blocked-list entry as the reconciler sees it."""

    id: str
    key: BlockKey
    active: bool
    ours: bool
    comment: str = ""


def entry_key(match_type: str | None, phone_number: str | None, block_type: str | None) -> BlockKey | None:
    """Zoom's fields -> our block key ('+19075550123' for numbers, digits for prefixes), or None when the
    entry is not one we model (unknown match type, a 'threat' block type, no digits)."""
    digits = zoom_digits((phone_number or "").strip())
    if not digits.isdigit() or block_type not in BLOCK_TYPES:
        return None
    if match_type == "phoneNumber":
        return BlockKey("phoneNumber", "+" + digits, block_type)
    if match_type == "prefix":
        return BlockKey("prefix", digits, block_type)
    return None


@dataclass(frozen=True)
class AdoptionPolicy:
    number_days: float = DEFAULT_POLICY.number_block_days  # the expirer assesses an adopted entry after this
    prefix_days: float = DEFAULT_POLICY.prefix_block_days

    def expires_at(self, key: BlockKey, now: datetime) -> datetime:
        days = self.prefix_days if key.match_type == "prefix" else self.number_days
        return now + timedelta(days=days)


DEFAULT_ADOPTION = AdoptionPolicy()


@dataclass(frozen=True)
class Repair:
    kind: str  # adopt | external | relink | removed | external_removed | readopt | delete_duplicate |
    #            delete_stale | external_unrecorded
    key: BlockKey
    detail: str
    expected: BlockRecord | None = None  # the row as read (the conditional write's expectation)
    target: BlockRecord | None = None  # the row to write
    zoom_id: str | None = None  # the Zoom entry concerned


@dataclass(frozen=True)
class DriftPlan:
    repairs: tuple[Repair, ...] = ()
    in_sync: int = 0
    pending: int = 0  # rows the blocker is working on: left alone
    unverified: int = 0  # rows whose entry was not listed, but the listing was incomplete or the row newer
    ignored: int = 0  # inactive entries, and entries we do not model
    counts: dict[str, int] = field(default_factory=dict)


def _adopted_times(key: BlockKey, entry: ZoomEntry, now: datetime,
                   adoption: AdoptionPolicy) -> tuple[datetime, datetime]:
    """An adopted entry's decided_at and expires_at as its comment says (as it was decided), else counted
    from the adoption (the adoption policy's days)."""
    return comment_since(entry.comment) or now, comment_until(entry.comment) or adoption.expires_at(key, now)


def plan_repairs(entries: Iterable[ZoomEntry], records: Mapping[BlockKey, BlockRecord], *, now: datetime,
                 listing_started_at: datetime, complete: bool,
                 adoption: AdoptionPolicy = DEFAULT_ADOPTION) -> DriftPlan:
    """The repairs that bring the table in line with Zoom. `records` must hold the rows of every key listed
    in Zoom and every blocking (active/external) row of the table."""
    ours: dict[BlockKey, list[ZoomEntry]] = {}
    theirs: dict[BlockKey, list[ZoomEntry]] = {}
    ignored = 0
    for entry in entries:
        if not entry.active:
            ignored += 1
            continue
        (ours if entry.ours else theirs).setdefault(entry.key, []).append(entry)

    repairs: list[Repair] = []
    in_sync = pending = unverified = 0
    for key in sorted(set(ours) | set(theirs) | set(records)):
        mine, others = ours.get(key, []), theirs.get(key, [])
        record = records.get(key)
        if record is None:
            if mine:
                repairs.append(_adopt(key, mine[0], now, adoption))
                repairs += _duplicates(key, mine[1:])
            elif others:
                repairs.append(_external(key, others[0], now))
            continue
        state = record.state
        if state is BlockState.PENDING:
            pending += 1
        elif state is BlockState.ACTIVE:
            listed = next((e for e in mine if e.id == record.zoom_id), None)
            if listed is not None:
                in_sync += 1
                repairs += _duplicates(key, [e for e in mine if e is not listed])
            elif mine:
                target = replace(record, zoom_id=mine[0].id, updated_at=now)
                repairs.append(Repair("relink", key, f"our entry {record.zoom_id} is gone; Zoom holds our entry "
                                      f"{mine[0].id} for it", record, target, mine[0].id))
                repairs += _duplicates(key, mine[1:])
            elif _provably_missing(record, complete, listing_started_at):
                why = "deleted or deactivated in the Zoom portal (not in Zoom's blocked list)"
                if others:
                    why += f"; a person's entry {others[0].id} blocks it now"
                target = replace(record, state=BlockState.REMOVED, updated_at=now, ended_reason=why, owner=None,
                                 post_started_at=None)
                repairs.append(Repair("removed", key, why, record, target, record.zoom_id))
            else:
                unverified += 1
        elif state is BlockState.EXTERNAL:
            if mine or others:
                in_sync += 1
            elif _provably_missing(record, complete, listing_started_at):
                why = "the person's entry is no longer in Zoom's blocked list"
                target = replace(record, state=BlockState.REMOVED, updated_at=now, ended_reason=why)
                repairs.append(Repair("external_removed", key, why, record, target, record.zoom_id))
            else:
                unverified += 1
        elif state in ENDED:
            if mine and record.cooldown_until is not None and record.cooldown_until > now:
                repairs += [Repair("delete_stale", key, f"our entry {e.id} still blocks a number kept off the "
                                   f"list until {record.cooldown_until.isoformat()}", zoom_id=e.id) for e in mine]
            elif mine:
                decided, expires = _adopted_times(key, mine[0], now, adoption)
                target = replace(record, state=BlockState.ACTIVE, zoom_id=mine[0].id, updated_at=now,
                                 decided_at=decided, expires_at=expires, ended_reason=None,
                                 failure_reason=None, owner=None, post_started_at=None, last_error=None)
                repairs.append(Repair("readopt", key, f"the table says {state}, but our entry {mine[0].id} is "
                                      "active in Zoom", record, target, mine[0].id))
                repairs += _duplicates(key, mine[1:])
            elif others:
                repairs.append(Repair("external_unrecorded", key, f"a person's entry {others[0].id} blocks it, "
                                      f"but the row is {state} and cannot be marked external", record,
                                      zoom_id=others[0].id))
            else:
                in_sync += 1
    counts: dict[str, int] = {}
    for repair in repairs:
        counts[repair.kind] = counts.get(repair.kind, 0) + 1
    return DriftPlan(tuple(repairs), in_sync, pending, unverified, ignored, counts)


def _provably_missing(record: BlockRecord, complete: bool, listing_started_at: datetime) -> bool:
    return complete and (record.updated_at is None or record.updated_at <= listing_started_at)


def _adopt(key: BlockKey, entry: ZoomEntry, now: datetime, adoption: AdoptionPolicy) -> Repair:
    text = comment_reason(entry.comment)
    decided, expires = _adopted_times(key, entry, now, adoption)
    target = BlockRecord(key=key, state=BlockState.ACTIVE, zoom_id=entry.id,
                         reason=f"adopted from Zoom: {text}" if text else "adopted from Zoom",
                         evidence={"adopted_from_zoom": True, "zoom_comment": entry.comment},
                         decided_at=decided, expires_at=expires, updated_at=now)
    return Repair("adopt", key, f"our tagged entry {entry.id} was unknown to the table", None, target, entry.id)


def _external(key: BlockKey, entry: ZoomEntry, now: datetime) -> Repair:
    text = comment_reason(entry.comment)
    reason = "a person's entry in the Zoom portal" + (f": {text}" if text else "")
    target = BlockRecord(key=key, state=BlockState.EXTERNAL, zoom_id=entry.id, reason=reason,
                         evidence={"zoom_comment": entry.comment}, decided_at=now, updated_at=now)
    return Repair("external", key, f"a person's entry {entry.id}; counts as blocking, never touched", None, target,
                  entry.id)


def _duplicates(key: BlockKey, extra: list[ZoomEntry]) -> list[Repair]:
    return [Repair("delete_duplicate", key, f"a second entry of ours for the same block ({e.id})", zoom_id=e.id)
            for e in extra]
