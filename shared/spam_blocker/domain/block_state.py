"""A block's life: pending -> active -> expired | removed, plus failed; and how we tag Zoom entries.

`external` marks an entry a person made in the Zoom portal: it counts as blocking, and is never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from spam_blocker.domain.block_request import BlockKey


class BlockState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"
    REMOVED = "removed"
    FAILED = "failed"
    EXTERNAL = "external"


ALLOWED_MOVES: dict[BlockState, frozenset[BlockState]] = {
    # pending -> external: a doubtful POST's lookup found a person's entry for the same target instead.
    BlockState.PENDING: frozenset({BlockState.ACTIVE, BlockState.FAILED, BlockState.PENDING, BlockState.EXTERNAL}),
    BlockState.ACTIVE: frozenset({BlockState.EXPIRED, BlockState.REMOVED, BlockState.ACTIVE}),
    # A block may start again after it ended (spam resumed, or a retry after a permanent failure), and a
    # person may have blocked the same target in the portal since (the reconciler records it as external).
    BlockState.EXPIRED: frozenset({BlockState.PENDING, BlockState.EXTERNAL}),
    BlockState.REMOVED: frozenset({BlockState.PENDING, BlockState.EXTERNAL}),
    BlockState.FAILED: frozenset({BlockState.PENDING, BlockState.EXTERNAL}),
    BlockState.EXTERNAL: frozenset({BlockState.REMOVED}),
}

BLOCKING_STATES = frozenset({BlockState.ACTIVE, BlockState.EXTERNAL})


def can_move(current: BlockState | None, target: BlockState) -> bool:
    if current is None:
        # absent -> removed: a not_spam that arrived before any block holds its cool-down in the table, so a
        # block request decided earlier (by a scorer that had not seen the not_spam yet) is refused.
        return target in (BlockState.PENDING, BlockState.ACTIVE, BlockState.EXTERNAL, BlockState.REMOVED)
    return target in ALLOWED_MOVES[current]


# Every Zoom entry we create carries this tag at the start of its comment, so it can be found again
# and told apart from entries a person made.
ZOOM_TAG = "[spam-blocker]"
COMMENT_MAX = 255


_STAMP = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"
_UNTIL = re.compile(re.escape(ZOOM_TAG) + rf"(?: from {_STAMP})? until {_STAMP}(?:: |$)")


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tag_comment(summary: str, *, since: datetime | None = None, until: datetime | None = None) -> str:
    """Our entry's comment: the tag, when the block was decided and when it ends (so a later run adopting
    it from Zoom keeps both, and a person in the portal sees them), and why."""
    when = ""
    if until is not None:
        when = (f" from {_stamp(since)}" if since is not None else "") + f" until {_stamp(until)}:"
    text = f"{ZOOM_TAG}{when} {' '.join(summary.split())}".strip()
    if len(text) <= COMMENT_MAX:
        return text
    cut = text[: COMMENT_MAX - 1]
    space = cut.rfind(" ")
    if space > COMMENT_MAX // 2:  # end on a whole word: never in the middle of a number
        cut = cut[:space].rstrip(" ,;:")
    return cut + "…"


def comment_until(comment: str | None) -> datetime | None:
    """The end our comment gives a block (tag_comment's `until`), or None (an older entry, a person's)."""
    found = _UNTIL.match(comment or "")
    return _parse_stamp(found.group(2)) if found else None


def comment_since(comment: str | None) -> datetime | None:
    """When our comment says the block was decided (tag_comment's `since`), or None."""
    found = _UNTIL.match(comment or "")
    return _parse_stamp(found.group(1)) if found and found.group(1) else None


def _parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def comment_reason(comment: str) -> str:
    """Our comment without the tag and the end."""
    found = _UNTIL.match(comment)
    if found:
        return comment[found.end():].strip()
    return comment[len(ZOOM_TAG):].strip() if comment.startswith(ZOOM_TAG) else comment.strip()


def is_ours(comment: str | None) -> bool:
    return bool(comment) and comment.startswith(ZOOM_TAG)


def zoom_digits(value: str) -> str:
    """Zoom may echo a number with or without '+': compare digits."""
    return value.lstrip("+")


@dataclass(frozen=True)
class BlockRecord:
    """One row of the Blocks table, as the domain sees it (adapters map to/from DynamoDB items)."""

    key: BlockKey
    state: BlockState
    zoom_id: str | None = None
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None
    decided_at: datetime | None = None
    updated_at: datetime | None = None
    attempts: int = 0
    failure_reason: str | None = None
    owner: str | None = None  # attempt id of the instance holding a pending block
    post_started_at: datetime | None = None  # set just before POST: a stale pending with it may exist in Zoom
    cooldown_until: datetime | None = None  # after an unblock/not_spam: not re-blocked before this
    version: int = 0
    last_error: str | None = None  # the last transient failure (5xx, transport...), for ops; not a state
    ended_reason: str | None = None  # why an active block ended: 'unblocked: ...', 'covered by prefix ...'

    @property
    def is_blocking(self) -> bool:
        return self.state in BLOCKING_STATES

    @property
    def only_holds_cooldown(self) -> bool:
        """A row a not_spam wrote before any block existed: never in Zoom, it only keeps the number off."""
        return self.state is BlockState.REMOVED and self.zoom_id is None
