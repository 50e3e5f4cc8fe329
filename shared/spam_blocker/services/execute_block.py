"""Turning a block request into exactly one Zoom entry, and an unblock request into none.

Block:
 1. Read the block and every covering prefix block (one BatchGetItem). Already active or external,
    covered by an active prefix block, or decided inside a cool-down: done, no Zoom call. A live
    `pending` held by another attempt: IN_PROGRESS (the message comes back later).
 2. Doubt: `post_started_at` set means an earlier POST may have created the entry (a crash between
    POST and the state write, a lost answer, a 5xx after commit). Claim the block (pending, owner =
    this attempt), then look for the entry in Zoom (BlockedListIndex): ours found -> adopt it (active,
    no POST); nothing found -> go on, absence proven.
 3. Claim: pending, owner = this attempt, post_started_at = now, one conditional write from the
    state and version read in step 1. Of two instances only one wins; the other reads again and sees
    a live pending. (Skipped, LIMITED, when a refusal is already known: this batch's, or one certain
    from the limiter's cached window.)
 4. Take a Light permit from the shared limiter just before the POST, so the request reaches Zoom
    when the limiter counted it (a write between permit and POST would delay it by a variable amount
    and bunch requests in Zoom's window); none -> the claim is released, LIMITED.
 5. POST with our tag. Success -> active with Zoom's id (conditional on our claim).
    429 -> the category is penalized for every instance, the claim released, LIMITED.
    ZoomInvalid -> failed, with Zoom's message for ops.
    5xx / malformed answer / transport error that may have committed -> claim released *keeping the
    doubt*, RETRY: the next attempt looks before it posts. Transport that provably never left (or an
    auth refusal) -> released without doubt.
 A crash anywhere leaves a pending with post_started_at; once it is older than `stale_after` (longer
 than any attempt can live) the next attempt takes it over through step 2.

Unblock: only our active block is removed (services/remove_block.py), a doubtful one is first
settled through step 2; an external entry is never touched; a pending one is cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from spam_blocker.clock import Clock, iso
from spam_blocker.domain.block_request import UNBLOCK_REASON_PREFIX, BlockKey, BlockRequest
from spam_blocker.domain.block_state import BlockRecord, BlockState, is_ours, tag_comment
from spam_blocker.observability import logger, metrics
from spam_blocker.ports import BlockStateStore, StoreConflict, StoreUnavailable, ZoomPhone
from spam_blocker.services.blocked_list_index import SETTLE, BlockedListIndex
from spam_blocker.services.blocked_list_pages import LIST_CATEGORY
from spam_blocker.services.coverage import PREFIX, key_and_covering
from spam_blocker.services.outcomes import UNSETTLED, Outcome, Result
from spam_blocker.services.permits import Permits
from spam_blocker.services.range_guard import RangeGuard
from spam_blocker.services.remove_block import WRITE_CATEGORY, BlockRemover, describe, limited, throttled
from spam_blocker.zoom.auth import OAUTH_ROUTE
from spam_blocker.zoom.errors import (
    PermitExpired,
    ZoomAuthFailed,
    ZoomError,
    ZoomInvalid,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomTransportError,
    is_duplicate,
)

DEFAULT_SUMMARY = "blocked as a spam caller"
UNSAFE_REASON_PREFIX = "not created: "  # a range RangeGuard refused: its row's failure_reason
PERSONS_ENTRY_REASON_PREFIX = "held by a person's inactive entry"  # Zoom refused ours as its duplicate


@dataclass(frozen=True)
class BlockerPolicy:
    # A pending claim older than this is abandoned and taken over: it must exceed the function timeout
    # plus the blocked-list index's settle time (its POST, if any, is over and visible in Zoom's list).
    stale_after: timedelta = timedelta(minutes=15)
    max_attempts: int = 10  # Zoom attempts per pending episode before the block is failed
    retire_covered_numbers: bool = False
    dry_run: bool = False
    # Another attempt's young claim is normally a POST in flight: look again soon. One older than
    # `in_progress_patience` has probably died: look again when it goes stale.
    in_progress_retry: timedelta = timedelta(seconds=1)
    in_progress_patience: timedelta = timedelta(seconds=10)
    conflict_rounds: int = 3
    # Zoom refused our entry as a duplicate of a person's inactive one: requests for the key are answered
    # from the row (no Zoom call) for this long, then Zoom is asked again (the person may have removed it).
    persons_entry_recheck: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class _Settled:
    record: BlockRecord  # active (adopted), pending ours (proven absent), or failed (someone else's entry)
    duplicates_removed: int = 0
    theirs: str | None = None


@dataclass(frozen=True)
class StateSnapshot:
    """Blocks rows read together for a whole batch (one BatchGetItem instead of one per record). `keys`
    were all read, so a key missing from `records` has no row. As fresh as `read_at`."""

    keys: frozenset[BlockKey]
    records: Mapping[BlockKey, BlockRecord]
    read_at: datetime

    def lookup(self, keys: Iterable[BlockKey]) -> dict[BlockKey, BlockRecord] | None:
        wanted = list(keys)
        if not all(k in self.keys for k in wanted):
            return None
        return {k: self.records[k] for k in wanted if k in self.records}


class ExecuteBlock:
    def __init__(self, *, store: BlockStateStore, zoom: ZoomPhone, clock: Clock, index: BlockedListIndex,
                 remover: BlockRemover, policy: BlockerPolicy | None = None, guard: RangeGuard | None = None) -> None:
        self._guard = guard
        self._store = store
        self._zoom = zoom
        self._clock = clock
        self._index = index
        self._remover = remover
        self._policy = policy or BlockerPolicy()

    def snapshot(self, requests: Iterable[BlockRequest]) -> StateSnapshot | None:
        """The Blocks rows of a batch's block requests and of every prefix over them, in one read (None if
        the table is unavailable: each record then reads its own)."""
        keys = frozenset(k for r in requests if r.action != "unblock" for k in key_and_covering(r.key))
        if not keys:
            return None
        try:
            read_at = self._clock.now()
            return StateSnapshot(keys, self._store.get_many(keys), read_at)
        except StoreUnavailable:
            return None

    def execute(self, request: BlockRequest, *, attempt_id: str, permits: Permits,
                snapshot: StateSnapshot | None = None) -> Outcome:
        """`snapshot` serves the first look at the block only; every write stays conditional, and a lost
        race reads again."""
        try:
            for _ in range(self._policy.conflict_rounds):
                try:
                    if request.action == "unblock":
                        return self._unblock_once(request, attempt_id, permits)
                    first_look, snapshot = snapshot, None
                    return self._block_once(request, attempt_id, permits, first_look)
                except StoreConflict:
                    logger.info("block moved meanwhile; reading it again", extra={"block_id": request.key.as_id()})
        except StoreUnavailable as exc:
            return Outcome(Result.RETRY, detail=f"Blocks table unavailable: {exc}")
        return Outcome(Result.RETRY, detail="the block kept moving under us")

    # --- block ---------------------------------------------------------------------------------------

    def _block_once(self, request: BlockRequest, attempt_id: str, permits: Permits,
                    snapshot: StateSnapshot | None = None) -> Outcome:
        now = self._clock.now()
        key = request.key
        looked_at = key_and_covering(key)
        covering = looked_at[1:]
        found = snapshot.lookup(looked_at) if snapshot is not None else None
        if found is None:
            found = self._store.get_many(looked_at)
        record = found.get(key)
        if record is not None and record.is_blocking:
            done = Outcome(Result.ALREADY_BLOCKED, detail=f"already {record.state}", zoom_id=record.zoom_id)
            return self._retire_covered(done, record, permits)
        cover = next((found[k] for k in covering if k in found and found[k].is_blocking), None)
        if cover is not None:
            return Outcome(Result.COVERED, detail=f"covered by {cover.key.as_id()}", zoom_id=cover.zoom_id)
        if record is not None and record.cooldown_until is not None and request.decided_at < record.cooldown_until:
            return Outcome(Result.COOLDOWN, detail=f"in cool-down until {iso(record.cooldown_until)}")
        held = self._held_elsewhere(record, now) or self._held_by_person(record, now)
        if held is not None:
            return held
        if self._policy.dry_run:
            return Outcome(Result.DRY_RUN, detail="would create a Zoom entry")
        if record is not None and record.state is BlockState.PENDING and record.attempts >= self._policy.max_attempts:
            return self._give_up(record, now)
        if record is not None and record.post_started_at is not None:
            claimed = self._claim(record, attempt_id, now, request=request, doubt=True)
            settled = self._settle(record, claimed, permits)
            if isinstance(settled, Outcome):
                return settled
            if settled.theirs is not None:
                return Outcome(Result.ALREADY_BLOCKED, detail="by an entry we did not make", zoom_id=settled.theirs)
            if settled.record.state is BlockState.ACTIVE:
                adopted = Outcome(Result.ADOPTED, zoom_id=settled.record.zoom_id,
                                  detail=f"found in Zoom; {settled.duplicates_removed} duplicates removed")
                return self._retire_covered(adopted, settled.record, permits)
            unsafe = self._unsafe(settled.record, request)
            if unsafe is not None:
                return unsafe
            grant = self._permit_for(settled.record, permits)
            if not grant.granted:
                self._release(settled.record, doubt=None, refund=True)
                return limited(grant, WRITE_CATEGORY)
            return self._post(settled.record, request, permits, grant.send_by)
        refused = permits.foreseen(WRITE_CATEGORY)
        if refused is not None:  # known without asking the limiter: no claim to write and release
            return limited(refused, WRITE_CATEGORY)
        claimed = self._claim(record, attempt_id, now, request=request, doubt=False)
        unsafe = self._unsafe(claimed, request)  # after the claim: see services/range_guard.py
        if unsafe is not None:
            return unsafe
        grant = self._permit_for(claimed, permits)  # just before the POST: it reaches Zoom when it was counted
        if not grant.granted:
            self._release(claimed, doubt=None, refund=True)
            return limited(grant, WRITE_CATEGORY)
        return self._post(claimed, request, permits, grant.send_by)

    def _unsafe(self, claimed: BlockRecord, request: BlockRequest) -> Outcome | None:
        """A range the evidence now forbids (RangeGuard) ends `failed` with the reason, never sent; the
        scorer decides the campaign again with its next call, around the protected number."""
        if self._guard is None:
            return None
        try:
            why = self._guard.refusal(request)
        except StoreUnavailable as exc:  # nothing was sent: give the claim back
            self._release(claimed, doubt=None, refund=True)
            return Outcome(Result.RETRY, detail=f"range check: evidence unavailable: {exc}")
        if why is None:
            return None
        reason = f"{UNSAFE_REASON_PREFIX}{why}"
        self._store.transition(claimed, replace(claimed, state=BlockState.FAILED, owner=None, post_started_at=None,
                                                failure_reason=reason, updated_at=self._clock.now()))
        logger.info("range refused before it reached Zoom", extra={"block_id": claimed.key.as_id(), "why": why})
        return Outcome(Result.UNSAFE, detail=reason)

    def _permit_for(self, claimed: BlockRecord, permits: Permits):
        """A Light permit for the POST of `claimed`. If the limiter's table fails, the claim is given back
        first (nothing reached Zoom), so the retry need not wait for the claim to go stale."""
        try:
            return permits.take(WRITE_CATEGORY)
        except StoreUnavailable:
            self._release(claimed, doubt=None, refund=True)
            raise

    def _post(self, claimed: BlockRecord, request: BlockRequest, permits: Permits,
              send_by: datetime | None = None) -> Outcome:
        key = claimed.key
        try:
            zoom_id = self._zoom.create_blocked(match_type=key.match_type, phone_number=key.phone_number,
                                                block_type=key.block_type,
                                                comment=tag_comment(request.reason or DEFAULT_SUMMARY, since=request.decided_at,
                                                                    until=request.expires_at),
                                                send_by=send_by)
        except PermitExpired as exc:  # never sent: the permit aged past the margin on its way out
            self._release(claimed, doubt=None, refund=True)
            logger.info("permit ran out before the POST left; not sent", extra={"block_id": key.as_id()})
            metrics.add_metric(name="PermitsUnusedLate", unit="Count", value=1)
            return Outcome(Result.LIMITED, detail=describe(exc), retry_at=self._clock.now(), category=WRITE_CATEGORY,
                           limit_reason="qps")
        except ZoomRateLimited as exc:
            self._release(claimed, doubt=None, refund=True)  # a 429 created nothing
            return throttled(exc, permits)
        except (ZoomInvalid, ZoomNotFound) as exc:
            if is_duplicate(exc):
                return self._duplicate(claimed, permits, exc)
            reason = f"Zoom refused the entry: {describe(exc)}"
            self._store.transition(claimed, replace(claimed, state=BlockState.FAILED, owner=None, post_started_at=None,
                                                    failure_reason=reason, updated_at=self._clock.now()))
            return Outcome(Result.FAILED, detail=reason)
        except (ZoomTransportError, ZoomAuthFailed) as exc:
            sent = isinstance(exc, ZoomTransportError) and exc.may_have_committed
            self._release(claimed, doubt=claimed.post_started_at if sent else None, error=describe(exc))
            return Outcome(Result.RETRY, detail=describe(exc))
        except ZoomError as exc:  # 5xx, malformed answer: the entry may exist, unless the token request failed
            sent = exc.route != OAUTH_ROUTE
            self._release(claimed, doubt=claimed.post_started_at if sent else None, error=describe(exc), refund=not sent)
            return Outcome(Result.RETRY, detail=describe(exc), retry_at=getattr(exc, "retry_at", None))
        try:
            active = self._activate(claimed, zoom_id)
        except StoreConflict:
            return self._lost_claim(claimed, zoom_id, permits)
        return self._retire_covered(Outcome(Result.CREATED, zoom_id=zoom_id), active, permits)

    def _duplicate(self, claimed: BlockRecord, permits: Permits, exc: ZoomError) -> Outcome:
        """Zoom refused the POST as a duplicate (a Zoom that does so: 400 code 13601, or 409): an entry for
        the key exists, maybe inactive, which our listing of active entries did not count. Ours is
        adopted (set active again when inactive); a person's active entry blocks it already; a person's
        inactive one is theirs to switch on, never ours."""
        key = claimed.key
        lookup = self._index.lookup(key, not_before=self._clock.now() - self._index.settle, permits=permits)
        if lookup.wait is not None:
            self._release(claimed, doubt=None, refund=True)
            if lookup.wait.reason == SETTLE:
                return Outcome(Result.IN_PROGRESS, detail="letting Zoom's list settle", retry_at=lookup.wait.retry_at)
            return limited(lookup.wait, LIST_CATEGORY)
        now = self._clock.now()
        if lookup.ours:
            self._activate(claimed, lookup.ours[0].id)
            return Outcome(Result.ADOPTED, zoom_id=lookup.ours[0].id, detail="Zoom already held our entry")
        if lookup.theirs:
            self._record_theirs(claimed, lookup.theirs[0].id, now)
            return Outcome(Result.ALREADY_BLOCKED, zoom_id=lookup.theirs[0].id, detail="by an entry we did not make")
        mine = [e for e in lookup.inactive if is_ours(e.comment)]
        if mine:
            grant = permits.take(WRITE_CATEGORY)
            if not grant.granted:
                self._release(claimed, doubt=None, refund=True)
                return limited(grant, WRITE_CATEGORY)
            try:
                self._zoom.update_blocked(mine[0].id, status="active")
            except ZoomRateLimited as limited_exc:
                self._release(claimed, doubt=None, refund=True)
                return throttled(limited_exc, permits)
            except ZoomError as update_exc:
                self._release(claimed, doubt=None, error=describe(update_exc))
                return Outcome(Result.RETRY, detail=f"setting our inactive entry active: {describe(update_exc)}")
            self._activate(claimed, mine[0].id)
            logger.info("our inactive entry set active again", extra={"block_id": key.as_id(), "zoom_id": mine[0].id})
            return Outcome(Result.ADOPTED, zoom_id=mine[0].id, detail="our inactive entry, set active again")
        refused = f"Zoom refused a second entry ({describe(exc)})"
        reason = (f"{PERSONS_ENTRY_REASON_PREFIX} (id {lookup.inactive[0].id}); switch it on in the portal. {refused}"
                  if lookup.inactive else f"{refused}, and its listing shows none")
        self._store.transition(claimed, replace(claimed, state=BlockState.FAILED, owner=None, post_started_at=None,
                                                failure_reason=reason, updated_at=now))
        return Outcome(Result.FAILED, detail=reason)

    def _held_by_person(self, record: BlockRecord | None, now: datetime) -> Outcome | None:
        """A person's inactive entry refused ours lately: a spammer's every call would otherwise cost a POST
        and a listing to learn it again."""
        if (record is None or record.state is not BlockState.FAILED or record.updated_at is None
                or not (record.failure_reason or "").startswith(PERSONS_ENTRY_REASON_PREFIX)):
            return None
        again = record.updated_at + self._policy.persons_entry_recheck
        if now >= again:
            return None
        return Outcome(Result.NOT_OURS, detail=f"{record.failure_reason} (Zoom asked again after {iso(again)})")

    def _lost_claim(self, claimed: BlockRecord, zoom_id: str, permits: Permits) -> Outcome:
        """Our POST worked but the claim was taken over meanwhile (we outlived `stale_after`)."""
        current = self._store.get(claimed.key)
        if current is not None and current.is_blocking:
            if current.zoom_id == zoom_id:  # the attempt that took over adopted our entry
                return Outcome(Result.ADOPTED, zoom_id=zoom_id, detail="adopted by the attempt that took over")
            removed = self._delete_duplicates([zoom_id], permits)
            return Outcome(Result.ALREADY_BLOCKED, zoom_id=current.zoom_id,
                           detail=f"another attempt finished first; {removed} duplicate removed")
        return Outcome(Result.RETRY, zoom_id=zoom_id, detail="created, but the claim was taken over; it will be adopted")

    # --- unblock -------------------------------------------------------------------------------------

    def _unblock_once(self, request: BlockRequest, attempt_id: str, permits: Permits) -> Outcome:
        now = self._clock.now()
        record = self._store.get(request.key)
        if record is None:
            return self._hold_cooldown(request, now)
        if record.state is BlockState.EXTERNAL:
            return Outcome(Result.NOT_OURS, detail="an entry a person made; never touched", zoom_id=record.zoom_id)
        held = self._held_elsewhere(record, now)
        if held is not None:
            return held
        if self._policy.dry_run:
            return Outcome(Result.DRY_RUN, detail="would remove the block")
        if record.state is not BlockState.ACTIVE and record.post_started_at is not None:
            claimed = self._claim(record, attempt_id, now, request=None, doubt=True)
            settled = self._settle(record, claimed, permits)
            if isinstance(settled, Outcome):
                return settled
            if settled.theirs is not None:
                return Outcome(Result.NOT_OURS, detail="an entry we did not make; never touched", zoom_id=settled.theirs)
            record = settled.record
            if record.state is BlockState.PENDING:
                return self._cancel(record, request)
        if record.state is BlockState.ACTIVE:
            ended = (f"unblocked: {request.reason.removeprefix(UNBLOCK_REASON_PREFIX)}" if request.reason
                     else "unblocked")
            return self._remover.remove(record, to_state=BlockState.REMOVED, ended_reason=ended, permits=permits,
                                        cooldown_until=request.cooldown_until)
        if record.state is BlockState.PENDING:
            return self._cancel(record, request)
        if request.cooldown_until is not None and (record.cooldown_until is None
                                                   or record.cooldown_until < request.cooldown_until):
            self._store.set_cooldown(record, request.cooldown_until, now)
        return Outcome(Result.NOTHING_TO_REMOVE, detail=f"already {record.state}")

    def _hold_cooldown(self, request: BlockRequest, now: datetime) -> Outcome:
        """No block yet: remember the cool-down anyway, for a block request already on its way (decided by a
        scorer that saw the reports but not this not_spam) must find it and be refused."""
        if request.cooldown_until is None:
            return Outcome(Result.NOTHING_TO_REMOVE, detail="no such block")
        if self._policy.dry_run:
            return Outcome(Result.DRY_RUN, detail=f"would keep it off the list until {iso(request.cooldown_until)}")
        self._store.transition(None, BlockRecord(
            key=request.key, state=BlockState.REMOVED, reason=request.reason, evidence=request.evidence,
            decided_at=request.decided_at, updated_at=now, cooldown_until=request.cooldown_until,
            ended_reason="not_spam before any block: kept off the list"))
        return Outcome(Result.NOTHING_TO_REMOVE,
                       detail=f"no block yet; kept off the list until {iso(request.cooldown_until)}")

    def _cancel(self, pending: BlockRecord, request: BlockRequest) -> Outcome:
        cooldown = max(filter(None, (pending.cooldown_until, request.cooldown_until)), default=None)
        self._store.transition(pending, replace(
            pending, state=BlockState.FAILED, owner=None, post_started_at=None, cooldown_until=cooldown,
            failure_reason="cancelled: unblocked before it reached Zoom", updated_at=self._clock.now()))
        return Outcome(Result.NOTHING_TO_REMOVE, detail="cancelled before it reached Zoom")

    # --- the steps -----------------------------------------------------------------------------------

    def _held_elsewhere(self, record: BlockRecord | None, now: datetime) -> Outcome | None:
        if record is None or record.state is not BlockState.PENDING or record.owner is None:
            return None
        if record.updated_at is None or now >= record.updated_at + self._policy.stale_after:
            return None  # abandoned: take it over
        stale_at = record.updated_at + self._policy.stale_after
        young = now - record.updated_at < self._policy.in_progress_patience
        return Outcome(Result.IN_PROGRESS, detail=f"held by attempt {record.owner}",
                       retry_at=min(stale_at, now + self._policy.in_progress_retry) if young else stale_at)

    def _claim(self, record: BlockRecord | None, attempt_id: str, now: datetime, *,
               request: BlockRequest | None, doubt: bool) -> BlockRecord:
        """pending, owned by this attempt; raises StoreConflict if the block moved since it was read."""
        continues = record is not None and record.state is BlockState.PENDING
        source = {"reason": request.reason, "evidence": request.evidence, "expires_at": request.expires_at,
                  "decided_at": request.decided_at} if request is not None else {
                  "reason": record.reason, "evidence": record.evidence, "expires_at": record.expires_at,
                  "decided_at": record.decided_at}
        target = BlockRecord(
            key=(request.key if request is not None else record.key), state=BlockState.PENDING, **source,
            updated_at=now, attempts=(record.attempts if continues else 0) + 1, owner=attempt_id,
            post_started_at=(record.post_started_at if doubt else now),
            cooldown_until=record.cooldown_until if record is not None else None,
            last_error=record.last_error if continues else None,
        )
        return self._store.transition(record, target)

    def _settle(self, before: BlockRecord, claimed: BlockRecord, permits: Permits) -> _Settled | Outcome:
        """Find out whether the doubtful POST created the entry. The listing must start once that POST is
        over (plus the index's settle time): after the release that recorded the doubt; for an abandoned
        claim, by the time it went stale (`stale_after` covers an attempt's life and the settle time)."""
        if before.owner is not None and before.updated_at is not None:
            not_before = before.updated_at + self._policy.stale_after - self._index.settle
        else:
            not_before = before.updated_at or claimed.updated_at
        try:
            lookup = self._index.lookup(claimed.key, not_before=not_before, permits=permits)
        except ZoomRateLimited as exc:
            self._release(claimed, doubt=claimed.post_started_at, refund=True)
            return throttled(exc, permits)
        except ZoomError as exc:
            self._release(claimed, doubt=claimed.post_started_at, error=describe(exc))
            return Outcome(Result.RETRY, detail=f"listing Zoom's blocked list: {describe(exc)}")
        if lookup.wait is not None:
            self._release(claimed, doubt=claimed.post_started_at, refund=True)
            if lookup.wait.reason == SETTLE:
                return Outcome(Result.IN_PROGRESS, detail="letting Zoom's list settle", retry_at=lookup.wait.retry_at)
            return limited(lookup.wait, LIST_CATEGORY)
        now = self._clock.now()
        if lookup.ours:
            keep, extras = lookup.ours[0], lookup.ours[1:]
            active = self._activate(claimed, keep.id)
            logger.info("adopted a Zoom entry", extra={"block_id": claimed.key.as_id(), "zoom_id": keep.id,
                                                       "duplicates": len(extras)})
            return _Settled(active, self._delete_duplicates([e.id for e in extras], permits))
        if lookup.theirs:  # a person blocked it in the portal: it counts as blocked, and is never ours
            entry = lookup.theirs[0]
            return _Settled(self._record_theirs(claimed, entry.id, now), theirs=entry.id)
        return _Settled(claimed)

    def _record_theirs(self, claimed: BlockRecord, entry_id: str, now: datetime) -> BlockRecord:
        """Our claim gives way to a person's active entry for the same key: the row records it as external."""
        reason = f"Zoom already blocks this with an entry we did not make (id {entry_id}); not adding a second"
        failed = self._store.transition(claimed, replace(
            claimed, state=BlockState.FAILED, owner=None, post_started_at=None, failure_reason=reason, updated_at=now))
        return self._store.transition(failed, replace(  # pending -> external is not a move: via failed
            failed, state=BlockState.EXTERNAL, zoom_id=entry_id, failure_reason=None, updated_at=now))

    def _activate(self, claimed: BlockRecord, zoom_id: str) -> BlockRecord:
        return self._store.transition(claimed, replace(
            claimed, state=BlockState.ACTIVE, zoom_id=zoom_id, owner=None, post_started_at=None, last_error=None,
            failure_reason=None, ended_reason=None, updated_at=self._clock.now()))

    def _release(self, claimed: BlockRecord, *, doubt: datetime | None, error: str | None = None,
                 refund: bool = False) -> None:
        """Give the claim up so the next attempt need not wait for it to go stale. `doubt` keeps (or
        clears) post_started_at; `refund` does not count an attempt that never reached Zoom."""
        target = replace(claimed, owner=None, post_started_at=doubt, last_error=error or claimed.last_error,
                         attempts=max(0, claimed.attempts - 1) if refund else claimed.attempts,
                         updated_at=self._clock.now())
        try:
            self._store.transition(claimed, target)
        except (StoreConflict, StoreUnavailable) as exc:
            logger.warning("could not release a claim; it will go stale", extra={
                "block_id": claimed.key.as_id(), "error": str(exc)})

    def _give_up(self, record: BlockRecord, now: datetime) -> Outcome:
        reason = f"gave up after {record.attempts} attempts: {record.last_error or 'no answer'}"
        self._store.transition(record, replace(record, state=BlockState.FAILED, owner=None, failure_reason=reason,
                                               updated_at=now))
        return Outcome(Result.FAILED, detail=reason)

    def _delete_duplicates(self, zoom_ids: list[str], permits: Permits) -> int:
        """Best effort: our own extra entries for one block (left to the reconciler if this fails)."""
        removed = 0
        for zoom_id in zoom_ids:
            if not permits.take(WRITE_CATEGORY).granted:
                break
            try:
                self._zoom.delete_blocked(zoom_id)
            except ZoomNotFound:
                pass
            except ZoomRateLimited as exc:
                throttled(exc, permits)
                break
            except ZoomError as exc:
                logger.warning("could not delete a duplicate entry", extra={"zoom_id": zoom_id, "error": describe(exc)})
                break
            self._index.forget(zoom_id)
            removed += 1
        return removed

    def _retire_covered(self, outcome: Outcome, record: BlockRecord, permits: Permits) -> Outcome:
        """With RETIRE_COVERED_NUMBERS: our active number blocks inside an active prefix block are
        redundant; remove them from Zoom. Deferred work is returned as `outcome.then`."""
        if (not self._policy.retire_covered_numbers or record.key.match_type != PREFIX
                or record.state is not BlockState.ACTIVE):
            return outcome
        retired = 0
        for number in self._store.active_within(record.key.phone_number, record.key.block_type):
            result = self._remover.remove(number, to_state=BlockState.REMOVED, permits=permits,
                                          ended_reason=f"covered by prefix {record.key.phone_number}")
            if result.result is Result.REMOVED:
                retired += 1
            elif result.result in UNSETTLED:
                return replace(outcome, retired=retired, then=result)
        return replace(outcome, retired=retired)
