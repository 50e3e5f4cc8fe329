"""Use case: score a batch of IngestQueue events and send block requests.

    batch = scorer.start_batch()          # one per Lambda invocation (the scorer itself is shared)
    batch.accept(message_id, body)        # per record: parse, validate, classify; poison -> DLQ with reason
    outcome = batch.finish()              # evidence read/merged/written once per number, decisions, requests

`accept` never raises for a bad message: it dead-letters it (and only raises if the DLQ itself cannot be
reached, so that the record is retried rather than lost). `finish` reports the message ids whose work could
not be completed (store or queue unavailable); they are redelivered, and redelivery is harmless because
evidence is a set of distinct contributions.

Reads per batch: one Query per exchange with a suspicious event (the candidate's whole range), one
BatchGetItem round for the other numbers, one for the Blocks keys. Writes: at most one per number whose
evidence changed.

An exchange whose suspicious numbers all sit under a prefix block already in place is not queried: those
numbers are read alone (no range to find; whatever is decided for them is covered). The scorer remembers
the prefix blocks it has read, and confirms the ones it relies on with one small Blocks read first. Live,
Zoom drops such calls before they reach the logs; a replay of old logs (`run`, backfill) is full of them,
and a campaign's exchange holds hundreds of numbers.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from spam_blocker.clock import Clock, iso
from spam_blocker.domain.allowlist import ListEntry, ProtectedLists
from spam_blocker.domain.block_request import UNBLOCK_REASON_PREFIX, BlockKey, BlockRequest
from spam_blocker.domain.block_state import BlockRecord, BlockState
from spam_blocker.domain.events import InvalidEvent, parse_ingest_event
from spam_blocker.domain.evidence import (
    Contribution,
    Ignored,
    NumberEvidence,
    account_numbers,
    contribution_from,
    exchange_of,
    from_epoch,
    merge,
)
from spam_blocker.domain.scoring import (
    DEFAULT_POLICY,
    REASON_MAX,
    Decision,
    Policy,
    covering_keys,
    decide,
    lifts_blocks,
)
from spam_blocker.observability import logger, metrics
from spam_blocker.ports import (
    BlockStore,
    DeadLetterSink,
    EvidenceStore,
    ListSource,
    OwnNumberSink,
    Queue,
    StoreConflict,
    StoreUnavailable,
)

LEARNED_OWN_SOURCE = "call logs"  # an own number's source when the scorer saw it on the account's side of a call

# A block in one of these states already blocks (or is about to block) what it covers: never request again.
COVERING_STATES = frozenset({BlockState.ACTIVE, BlockState.EXTERNAL, BlockState.PENDING})
# Our own blocks that a not_spam removes (a person's entry in the portal is never touched).
UNBLOCKABLE_STATES = frozenset({BlockState.ACTIVE, BlockState.PENDING})
WRITE_ATTEMPTS = 4


@dataclass(frozen=True)
class ScorerOptions:
    region: str = "US"  # default region for numbers written without a country code
    shadow_mode: bool = False  # decide and log, never send block requests
    # When set, events dated later than the clock's now + this are rejected (a guard for deployments whose
    # clock is the wall clock; off by default, as the pipeline's clock is event time).
    future_tolerance: timedelta | None = None
    # When set, a block whose expires_at is already past by the clock is not requested: a backfill of old
    # call logs (or a redelivery after a long outage) would otherwise create Zoom entries for campaigns that
    # ended days ago, for the expirer to delete within the hour. Off by default, as for future_tolerance.
    skip_expired: bool = False


@dataclass
class BatchOutcome:
    failed_message_ids: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    requests: list[BlockRequest] = field(default_factory=list)  # sent (or, in shadow mode, only logged)
    accepted: int = 0
    ignored: int = 0
    rejected: int = 0
    evidence_writes: int = 0
    already_covered: int = 0  # block decisions skipped: an active or pending block already covers them
    expired_skipped: int = 0  # block decisions not requested: already expired by the clock (skip_expired)
    exchanges_skipped: int = 0  # exchange queries not made: a prefix block covers every suspicious number
    own_numbers_learned: int = 0  # the account's numbers first seen in this batch's call logs, now own numbers


class ScoreEvents:
    """The scorer's use case, shared by every invocation of a container (thread-safe: no batch state)."""

    def __init__(self, *, evidence: EvidenceStore, blocks: BlockStore, block_queue: Queue,
                 dead_letters: DeadLetterSink, lists: ListSource, clock: Clock,
                 policy: Policy = DEFAULT_POLICY, options: ScorerOptions = ScorerOptions(),
                 own_numbers: OwnNumberSink | None = None) -> None:
        self.evidence = evidence
        self.blocks = blocks
        self.block_queue = block_queue
        self.dead_letters = dead_letters
        self.lists = lists
        self.own_numbers = own_numbers
        self.clock = clock
        self.policy = policy
        self.options = options
        self._prefix_blocks: dict[str, BlockKey] = {}  # prefix digits -> key: seen covering, to confirm before use
        self._prefix_lock = threading.Lock()
        self.max_prefix_blocks_remembered = 10_000

    def start_batch(self) -> ScoringBatch:
        return ScoringBatch(self)

    def learn_prefix_blocks(self, read: Iterable[BlockKey], records: Mapping[BlockKey, BlockRecord]) -> None:
        """After a Blocks read of the keys `read`: remember the prefix blocks found covering, forget the rest."""
        with self._prefix_lock:
            for key in read:
                if key.match_type != "prefix":
                    continue
                record = records.get(key)
                if record is not None and record.state in COVERING_STATES and key.block_type == "inbound":
                    if len(self._prefix_blocks) < self.max_prefix_blocks_remembered:
                        self._prefix_blocks[key.phone_number] = key
                else:
                    self._prefix_blocks.pop(key.phone_number, None)

    def remembered_prefix_blocks(self, number: str) -> list[BlockKey]:
        digits = number.lstrip("+")
        with self._prefix_lock:
            return [self._prefix_blocks[digits[:n]] for n in range(1, len(digits)) if digits[:n] in self._prefix_blocks]


class ScoringBatch:
    def __init__(self, scorer: ScoreEvents) -> None:
        self._s = scorer
        self._contributions: list[tuple[str, Contribution]] = []
        self._account_numbers: set[str] = set()
        self._outcome = BatchOutcome()

    # -- per record ---------------------------------------------------------------------------------------

    def accept(self, message_id: str, body: str) -> str:
        """'accepted' | 'ignored' | 'rejected'. Raises only when a rejected message cannot be dead-lettered."""
        try:
            event = parse_ingest_event(body)
            tolerance = self._s.options.future_tolerance
            if tolerance is not None and event.occurred_at > self._s.clock.now() + tolerance:
                raise InvalidEvent(f"event time {iso(event.occurred_at)} is in the future")
            result = contribution_from(event, self._s.options.region)
            self._account_numbers.update(account_numbers(event, self._s.options.region))
        except InvalidEvent as exc:
            self._s.dead_letters.reject(body, exc.reason, message_id=message_id)
            metrics.add_metric(name="EventsRejected", unit="Count", value=1)
            self._outcome.rejected += 1
            return "rejected"
        if isinstance(result, Ignored):
            logger.debug("event ignored", extra={"message_id": message_id, "reason": result.reason})
            self._outcome.ignored += 1
            return "ignored"
        self._contributions.append((message_id, result))
        self._outcome.accepted += 1
        return "accepted"

    # -- per batch ----------------------------------------------------------------------------------------

    def finish(self) -> BatchOutcome:
        outcome = self._outcome
        by_number: dict[str, list[Contribution]] = defaultdict(list)
        ids: dict[str, set[str]] = defaultdict(set)
        for message_id, c in self._contributions:
            by_number[c.number].append(c)
            ids[c.number].add(message_id)
        failed: set[str] = set()
        self._learn_account_numbers(outcome)
        if by_number:
            views = self._load_and_record(by_number, failed, outcome)
            decisions = self._decide(by_number, views, failed)
            outcome.decisions.extend(decisions)
            self._request_blocks(decisions, by_number, failed, outcome)
        outcome.failed_message_ids = sorted({m for n in failed for m in ids[n]})
        self._publish_metrics(outcome)
        return outcome

    def _learn_account_numbers(self, outcome: BatchOutcome) -> None:
        """The account's numbers this batch's call logs show, not yet listed, become own numbers before
        anything is decided (so no range covers them, whether or not anyone gave an own-numbers list)."""
        s = self._s
        if s.own_numbers is None or not self._account_numbers:
            return
        try:
            lists = s.lists.current()
            new = sorted(n for n in self._account_numbers if lists.own_entry_for(n) is None)
            if not new:
                return
            outcome.own_numbers_learned += s.own_numbers.add_own_numbers(new, source=LEARNED_OWN_SOURCE,
                                                                          now=s.clock.now())
        except Exception:  # this batch's decisions still protect them (_with_account_numbers); the next records them
            logger.exception("own numbers from call logs not recorded", extra={"numbers": len(self._account_numbers)})
            return
        invalidate = getattr(s.lists, "invalidate", None)
        if invalidate is not None:
            invalidate()
        logger.info("own numbers learned from call logs", extra={"numbers": new})

    def _with_account_numbers(self, lists: ProtectedLists) -> ProtectedLists:
        """This batch's own numbers protect its decisions even where recording them failed or a cache lags."""
        if self._s.own_numbers is None:
            return lists
        missing = [ListEntry(n, source=LEARNED_OWN_SOURCE) for n in sorted(self._account_numbers)
                   if lists.own_entry_for(n) is None]
        return ProtectedLists.of(allow=lists.allow, own=(*lists.own, *missing)) if missing else lists

    def _load_and_record(self, by_number: Mapping[str, list[Contribution]], failed: set[str],
                         outcome: BatchOutcome) -> dict[str, dict[str, NumberEvidence]]:
        """Read each number's evidence (its whole exchange when it has a suspicious event), merge this
        batch's contributions, write what changed. Returns number -> the view to decide it on."""
        s = self._s
        ranged = {exchange_of(n) for n, cs in by_number.items() if any(c.is_suspicious for c in cs)}
        covered = self._covered_exchanges(ranged, by_number)
        outcome.exchanges_skipped += len(covered)
        ranged -= covered
        exchange_views: dict[str, dict[str, NumberEvidence]] = {}
        for exchange in sorted(ranged):
            try:
                exchange_views[exchange] = s.evidence.query_exchange(exchange)
            except Exception:
                logger.exception("evidence query failed", extra={"exchange": exchange})
                failed.update(n for n in by_number if exchange_of(n) == exchange)
        singles = [n for n in by_number if exchange_of(n) not in ranged]
        single_records: dict[str, NumberEvidence] = {}
        if singles:
            try:
                single_records = s.evidence.get_many(singles)
            except Exception:
                logger.exception("evidence read failed", extra={"numbers": len(singles)})
                failed.update(singles)

        views: dict[str, dict[str, NumberEvidence]] = {}
        for number in sorted(by_number):
            if number in failed:
                continue
            exchange = exchange_of(number)
            view = exchange_views[exchange] if exchange in exchange_views else {}
            existing = view.get(number) or single_records.get(number) or NumberEvidence(number)
            try:
                stored, wrote = self._save(existing, by_number[number])
            except Exception:
                logger.exception("evidence write failed", extra={"phone_number": number})
                failed.add(number)
                continue
            outcome.evidence_writes += wrote
            if exchange in exchange_views:
                view[number] = stored
                views[number] = view
            else:
                views[number] = {number: stored}
        return views

    def _covered_exchanges(self, ranged: set[str], by_number: Mapping[str, list[Contribution]]) -> set[str]:
        """The exchanges of `ranged` whose every suspicious number of this batch a prefix block (remembered,
        then confirmed by one Blocks read) already covers."""
        s = self._s
        hinted: dict[str, dict[str, list[BlockKey]]] = {}
        for exchange in ranged:
            suspicious = [n for n, cs in by_number.items()
                          if exchange_of(n) == exchange and any(c.is_suspicious for c in cs)]
            hints = {n: s.remembered_prefix_blocks(n) for n in suspicious}
            if hints and all(hints.values()):
                hinted[exchange] = hints
        if not hinted:
            return set()
        keys = {key for hints in hinted.values() for keys in hints.values() for key in keys}
        try:
            records = s.blocks.get_many(keys)
        except Exception:
            logger.exception("blocks read failed", extra={"keys": len(keys)})
            return set()
        s.learn_prefix_blocks(keys, records)
        confirmed = {key for key in keys if key in records and records[key].state in COVERING_STATES}
        return {exchange for exchange, hints in hinted.items()
                if all(any(key in confirmed for key in keys) for keys in hints.values())}

    def _save(self, existing: NumberEvidence, contributions: list[Contribution]) -> tuple[NumberEvidence, int]:
        """Merge and write conditionally on the version read; on a conflict re-read and merge again."""
        s = self._s
        current = existing
        writes = 0
        for _ in range(WRITE_ATTEMPTS):
            merged = merge(current, contributions, s.policy.retention)
            if merged == current:
                return current, writes
            writes += 1
            try:
                return s.evidence.put(merged), writes
            except StoreConflict:
                current = s.evidence.get_many([existing.number]).get(existing.number) or NumberEvidence(existing.number)
        raise StoreUnavailable(f"{existing.number}: still conflicting after {WRITE_ATTEMPTS} attempts")

    def _decide(self, by_number: Mapping[str, list[Contribution]], views: Mapping[str, dict[str, NumberEvidence]],
                failed: set[str]) -> list[Decision]:
        s = self._s
        if not views:
            return []
        try:
            lists = self._with_account_numbers(s.lists.current())
        except Exception:
            logger.exception("allowlist read failed")
            failed.update(views)
            return []
        latest_by_view: dict[int, int] = {}
        decisions = []
        for number, view in views.items():
            key = id(view)
            if key not in latest_by_view:  # the decision's time: the latest event time known in its view
                latest_by_view[key] = max((e.last_seen or 0) for e in view.values())
            now = from_epoch(max(latest_by_view[key], max(c.at for c in by_number[number])))
            decision = decide(number, view, lists, now, s.policy)
            decisions.append(decision)
            # blocks, refusals by a rail and lifts at INFO (the "why" record); plain watch/ignore at DEBUG
            log = logger.info if decision.is_block or decision.refusals or decision.unblock else logger.debug
            if decision.action != "ignore" or decision.refusals:
                log("decision", extra={"phone_number": number, "action": decision.action,
                                               "target": decision.target, "explanation": decision.explanation,
                                               "evidence": dict(decision.evidence), "shadow": s.options.shadow_mode,
                                               "decided_at": iso(decision.decided_at)})
        return decisions

    def _request_blocks(self, decisions: list[Decision], by_number: Mapping[str, list[Contribution]],
                        failed: set[str], outcome: BatchOutcome) -> None:
        s = self._s
        wanted: dict[BlockKey, Decision] = {}
        for d in decisions:
            for key in d.block_keys:  # a tiled range has several
                if key not in wanted or d.decided_at > wanted[key].decided_at:
                    wanted[key] = d
        if s.options.skip_expired:  # before the Blocks read: an expired decision needs no row
            now = s.clock.now()
            for key, d in list(wanted.items()):
                if d.expires_at is not None and d.expires_at <= now:
                    logger.info("block not requested: already expired", extra={
                        "target": key.as_id(), "decided_at": iso(d.decided_at), "expires_at": iso(d.expires_at)})
                    outcome.expired_skipped += 1
                    del wanted[key]
        unblocks = [d for d in decisions if d.unblock and any(lifts_blocks(c) for c in by_number[d.candidate])]
        if not wanted and not unblocks:
            return
        keys: set[BlockKey] = set()
        for key in wanted:
            keys.update(covering_keys(key.match_type, key.phone_number))
        for d in unblocks:
            keys.update(covering_keys("phoneNumber", d.candidate))
        involved = {d.candidate for d in wanted.values()} | {d.candidate for d in unblocks}
        try:
            records = s.blocks.get_many(keys)
        except Exception:
            logger.exception("blocks read failed", extra={"keys": len(keys)})
            failed.update(involved)
            return
        s.learn_prefix_blocks(keys, records)

        requests: list[tuple[BlockRequest, str]] = []
        for key, d in sorted(wanted.items()):
            if any(k in wanted for k in covering_keys(key.match_type, key.phone_number)[1:]):
                continue  # a wider block requested in this batch covers it
            blocker = _covering_record(records, key)
            if blocker is not None:
                logger.info("already blocked", extra={"target": key.as_id(), "by": blocker.key.as_id(),
                                                      "state": str(blocker.state)})
                outcome.already_covered += 1
                continue
            exact = records.get(key)
            if exact is not None and exact.cooldown_until is not None and exact.cooldown_until > d.decided_at:
                logger.info("block refused: cool-down", extra={"target": key.as_id(),
                                                                "cooldown_until": iso(exact.cooldown_until)})
                continue
            requests.append((BlockRequest(match_type=key.match_type, phone_number=key.phone_number,
                                          block_type=key.block_type, reason=d.reason, evidence=dict(d.evidence),
                                          expires_at=d.expires_at, decided_at=d.decided_at), d.candidate))
        for d in unblocks:
            requests.extend((r, d.candidate) for r in self._unblock_requests(d, records))
        if not requests:
            return
        if not s.options.shadow_mode:
            try:
                s.block_queue.send_many(r.to_body() for r, _ in requests)
            except Exception:
                logger.exception("block requests not sent", extra={"requests": len(requests)})
                failed.update(candidate for _, candidate in requests)
                return
        outcome.requests.extend(r for r, _ in requests)
        for r, _ in requests:
            logger.info("block request" + (" (shadow)" if s.options.shadow_mode else ""),
                        extra={"action": r.action, "block_id": r.key.as_id(), "reason": r.reason})

    @staticmethod
    def _unblock_requests(decision: Decision, records: Mapping[BlockKey, BlockRecord]) -> list[BlockRequest]:
        number = decision.candidate
        until = decision.cooldown_until  # set after not_spam: the number stays off the list until then
        requests = []
        for key in covering_keys("phoneNumber", number):
            record = records.get(key)
            # After not_spam the number's own key is always sent, block or not: a block request another scorer
            # decided before it saw this not_spam may still be on its way, and the blocker must refuse it.
            holds_cooldown = record is None and until is not None and key.match_type == "phoneNumber"
            if not holds_cooldown and (record is None or record.state not in UNBLOCKABLE_STATES):
                if record is not None and record.state == BlockState.EXTERNAL:
                    logger.warning("not_spam for a number blocked by a person's entry; left alone",
                                   extra={"phone_number": number, "block_id": key.as_id()})
                continue
            requests.append(BlockRequest(
                action="unblock", cooldown_until=until, match_type=key.match_type, phone_number=key.phone_number,
                block_type=key.block_type, reason=f"{UNBLOCK_REASON_PREFIX}{decision.reason}"[:REASON_MAX],
                evidence={"phone_number": number, **dict(decision.evidence)},
                expires_at=until or decision.decided_at, decided_at=decision.decided_at,
            ))
        return requests

    def _publish_metrics(self, outcome: BatchOutcome) -> None:
        metrics.add_metric(name="EventsScored", unit="Count", value=outcome.accepted)
        if outcome.ignored:
            metrics.add_metric(name="EventsIgnored", unit="Count", value=outcome.ignored)
        metrics.add_metric(name="EvidenceWrites", unit="Count", value=outcome.evidence_writes)
        if outcome.exchanges_skipped:
            metrics.add_metric(name="ExchangeReadsSkipped", unit="Count", value=outcome.exchanges_skipped)
        if outcome.own_numbers_learned:
            metrics.add_metric(name="OwnNumbersLearned", unit="Count", value=outcome.own_numbers_learned)
        blocks = sum(1 for r in outcome.requests if r.action == "block")
        if blocks:
            metrics.add_metric(name="BlockRequestsSent", unit="Count", value=blocks)
        if len(outcome.requests) - blocks:
            metrics.add_metric(name="UnblockRequestsSent", unit="Count", value=len(outcome.requests) - blocks)
        if outcome.already_covered:
            metrics.add_metric(name="BlocksAlreadyCovered", unit="Count", value=outcome.already_covered)
        if outcome.expired_skipped:
            metrics.add_metric(name="ExpiredBlocksSkipped", unit="Count", value=outcome.expired_skipped)
        if outcome.failed_message_ids:
            metrics.add_metric(name="ScoringFailures", unit="Count", value=len(outcome.failed_message_ids))


def _covering_record(records: Mapping[BlockKey, BlockRecord], key: BlockKey) -> BlockRecord | None:
    for k in covering_keys(key.match_type, key.phone_number, key.block_type):
        record = records.get(k)
        if record is not None and record.state in COVERING_STATES:
            return record
    return None
