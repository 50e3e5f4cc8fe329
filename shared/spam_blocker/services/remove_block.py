"""Taking one of our active blocks out of Zoom and ending it in the table (unblock, retire; the expirer too).

    remove(record, to_state=REMOVED|EXPIRED, ended_reason, permits, cooldown_until=None) -> Outcome

- Only our active blocks (state `active` with a Zoom id): an `external` entry is never touched.
- One Light permit, then DELETE (or PATCH status=inactive with `deactivate=True`). Zoom saying the entry
  does not exist (ZoomNotFound) counts as done: someone removed it already.
- Then one conditional move active -> `to_state` (keeping the Zoom id for history). If the record moved
  meanwhile and no longer blocks, that is done too.
- 429 -> the category is penalized, LIMITED; 5xx/transport/auth -> RETRY (DELETE is idempotent); other
  refusals (ZoomInvalid) -> FAILED with Zoom's message, the record left active for ops to look at.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from spam_blocker.clock import Clock
from spam_blocker.domain.block_state import BlockRecord, BlockState
from spam_blocker.observability import logger
from spam_blocker.ports import BlockStateStore, StoreConflict, ZoomPhone
from spam_blocker.services.outcomes import Outcome, Result
from spam_blocker.services.permits import Permits
from spam_blocker.zoom.errors import ZoomError, ZoomInvalid, ZoomNotFound, ZoomRateLimited

WRITE_CATEGORY = "Light"


def limited(grant, category: str) -> Outcome:
    return Outcome(Result.LIMITED, detail=f"no {category} permit ({grant.reason})", retry_at=grant.retry_at,
                   category=category, limit_reason=grant.reason)


def throttled(exc: ZoomRateLimited, permits: Permits) -> Outcome:
    """Zoom answered 429: every instance stops asking for that category until Zoom's retry time."""
    permits.penalize(exc.category, exc.retry_at, exc.limit_type)
    reason = "daily" if exc.is_daily else "penalty"
    return Outcome(Result.LIMITED, detail=f"Zoom 429 ({exc.limit_type})", retry_at=exc.retry_at,
                   category=exc.category, limit_reason=reason, throttled=True)


def describe(exc: ZoomError) -> str:
    parts = [type(exc).__name__]
    if exc.status is not None:
        parts.append(str(exc.status))
    if exc.code is not None:
        parts.append(f"code {exc.code}")
    return f"{' '.join(parts)}: {exc.message}"[:500]


ALREADY_GONE = "Zoom had no such entry any more (removed in the portal?)"


class BlockRemover:
    def __init__(self, store: BlockStateStore, zoom: ZoomPhone, clock: Clock, *, deactivate: bool = False) -> None:
        self._store = store
        self._zoom = zoom
        self._clock = clock
        self._deactivate = deactivate

    def remove(self, record: BlockRecord, *, to_state: BlockState, ended_reason: str, permits: Permits,
               cooldown_until: datetime | None = None) -> Outcome:
        if record.state is not BlockState.ACTIVE or not record.zoom_id:
            raise ValueError(f"only our active blocks are removed from Zoom, not {record.state} {record.key.as_id()}")
        if to_state not in (BlockState.REMOVED, BlockState.EXPIRED):
            raise ValueError(f"a removal ends in removed or expired, not {to_state}")
        grant = permits.take(WRITE_CATEGORY)
        if not grant.granted:
            return limited(grant, WRITE_CATEGORY)
        gone = False
        try:
            if self._deactivate:
                self._zoom.update_blocked(record.zoom_id, status="inactive")
            else:
                self._zoom.delete_blocked(record.zoom_id)
        except ZoomNotFound:
            gone = True
            logger.info("Zoom entry already gone", extra={"block_id": record.key.as_id(), "zoom_id": record.zoom_id})
        except ZoomRateLimited as exc:
            return throttled(exc, permits)
        except ZoomInvalid as exc:
            return Outcome(Result.FAILED, detail=f"Zoom refused the removal: {describe(exc)}", zoom_id=record.zoom_id)
        except ZoomError as exc:  # 5xx, transport, auth: DELETE is idempotent, try again later
            return Outcome(Result.RETRY, detail=describe(exc), retry_at=getattr(exc, "retry_at", None))
        ended = self._end(record, to_state, ended_reason, cooldown_until)
        if gone and ended.result is Result.REMOVED:
            return replace(ended, detail=f"{ended.detail}; {ALREADY_GONE}")
        return ended

    def _end(self, record: BlockRecord, to_state: BlockState, ended_reason: str,
             cooldown_until: datetime | None) -> Outcome:
        now = self._clock.now()
        cooldown = max(filter(None, (record.cooldown_until, cooldown_until)), default=None)
        target = replace(record, state=to_state, updated_at=now, owner=None, post_started_at=None,
                         last_error=None, ended_reason=ended_reason, cooldown_until=cooldown)
        try:
            self._store.transition(record, target)
        except StoreConflict:
            current = self._store.get(record.key)
            if current is not None and current.is_blocking:
                return Outcome(Result.RETRY, detail="the block moved while it was being removed")
            if current is not None and cooldown_until is not None and (
                    current.cooldown_until is None or current.cooldown_until < cooldown_until):
                self._store.set_cooldown(current, cooldown_until, now)
        return Outcome(Result.REMOVED, detail=ended_reason, zoom_id=record.zoom_id)
