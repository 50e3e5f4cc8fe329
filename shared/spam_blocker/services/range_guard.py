"""Check a range block against the evidence once more, just before the blocker creates it.

    RangeGuard(evidence, lists, policy).refusal(request) -> str | None

Scorer instances run side by side and SQS keeps no order, so the batch that decides a campaign's range may
not yet see a legitimate caller inside it: its evidence is being written by another batch at that moment
(an answered long call, an employee's call back, a not_spam). That batch then looks for blocks over the
caller to lift (Blocks table, strongly consistent) and finds none yet: the request is still on BlockQueue.
The blocker closes the gap. It claims the block (a `pending` row) first and reads the evidence afterwards,
so either it sees the legitimate caller here and refuses, or the caller's evidence was written after the
claim and its scorer found the `pending` row and sent an unblock. Number blocks need no guard: a number's
own evidence is decided in one batch.
"""

from __future__ import annotations

from spam_blocker.domain.block_request import BlockRequest
from spam_blocker.domain.evidence import epoch, summarise
from spam_blocker.domain.renewal import PREFIX, evidence_exchanges
from spam_blocker.domain.safety import prefix_conflict
from spam_blocker.domain.scoring import DEFAULT_POLICY, Policy
from spam_blocker.ports import EvidenceStore, ListSource


class RangeGuard:
    def __init__(self, evidence: EvidenceStore, lists: ListSource, policy: Policy = DEFAULT_POLICY) -> None:
        self._evidence = evidence
        self._lists = lists
        self._policy = policy

    @property
    def policy(self) -> Policy:
        return self._policy

    def refusal(self, request: BlockRequest) -> str | None:
        """Why this block must not be created now (one sentence), or None. Raises StoreUnavailable when
        the evidence or the lists cannot be read (the caller retries)."""
        key = request.key
        if key.match_type != PREFIX:
            return None
        lists = self._lists.current()
        view = {}
        for exchange in evidence_exchanges(key):
            view.update(self._evidence.query_exchange(exchange))
        # As of the latest event known (event time, as the scorer decides): later evidence counts too.
        now_s = max([epoch(request.decided_at), *(e.last_seen or 0 for e in view.values())])
        signals = {n: summarise(e, now_s, self._policy) for n, e in view.items()}
        conflict = prefix_conflict(key.phone_number, lists, signals, now_s, self._policy)
        return conflict.detail if conflict is not None else None
