"""Replay a generated Scenario in event-time order through the pure scoring path and measure the product.

    result = evaluate(generate(seed=3))
    result.catch_rate            # share of FUTURE spam calls blocked, for sources the product had evidence of
    result.false_positive_rate   # share of legitimate inbound calls blocked

The replay is what production does, minus AWS: each event is classified and merged into the evidence of
its number (domain.evidence), the number is decided on its exchange's evidence (domain.scoring.decide),
and block decisions become blocks after `block_latency` (scorer -> blocker -> Zoom). A call that an
active block covers never reaches the call log - Zoom drops it - so it adds no evidence and the report
its callee would have made never happens. not_spam removes our blocks over the number and starts the
cool-down, as the blocker does with an unblock request. The expirer runs on its schedule (`expiry_every`,
hourly as in template.yaml): a block past its `expires_at` stays in Zoom until a run renews it
(domain.renewal.assess over its exchange's evidence, as services/expire_blocks does) or takes it out.
With `expiry_every=None` blocks simply end at `expires_at` (no renewals: the scorer alone).

"Evidence of" a spam source is its first delivered spam report: from then on each of its calls is a
future call the product could have stopped. Its calls before that moment are not counted either way.
Only calls from `scenario.start` on are measured; the history before it is replayed as evidence only
(a deployment backfills its recent call logs before it starts blocking).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from spam_blocker.domain.allowlist import ListEntry, ProtectedLists
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.events import InvalidEvent, parse_ingest_event
from spam_blocker.domain.evidence import (
    Contribution,
    Ignored,
    NumberEvidence,
    contribution_from,
    epoch,
    exchange_of,
    from_epoch,
    merge,
)
from spam_blocker.domain.renewal import RenewalPolicy, assess, evidence_exchanges, renewal_beside
from spam_blocker.domain.scoring import DEFAULT_POLICY, Decision, Policy, covering_keys, decide, lifts_blocks

from local.traffic.generator import Scenario


@dataclass
class SimulatedBlock:
    key: BlockKey
    effective_at: int
    expires_at: int
    decision: Decision
    removed_at: int | None = None  # when it left Zoom: expired, or lifted by an unblock
    decided_at: int = 0  # its decision or last renewal (what the expirer counts fresh evidence from)
    renewals: int = 0

    def blocks_at(self, t: int) -> bool:
        return self.effective_at <= t and (self.removed_at is None or t < self.removed_at)


@dataclass
class SourceResult:
    name: str
    kind: str
    scope: str
    calls: int = 0
    blocked: int = 0
    evidence_at: datetime | None = None
    future_calls: int = 0
    future_blocked: int = 0

    @property
    def catch_rate(self) -> float | None:
        return self.future_blocked / self.future_calls if self.future_calls else None


@dataclass
class Evaluation:
    seed: int
    events: int
    rejected: int
    sources: dict[str, SourceResult]
    legit_calls: int
    legit_blocked: int
    blocks: list[SimulatedBlock]
    legit_blocked_calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def future_spam_calls(self) -> int:
        return sum(s.future_calls for s in self.sources.values() if s.kind in ("robocaller", "campaign"))

    @property
    def future_spam_blocked(self) -> int:
        return sum(s.future_blocked for s in self.sources.values() if s.kind in ("robocaller", "campaign"))

    @property
    def catch_rate(self) -> float:
        return self.future_spam_blocked / self.future_spam_calls if self.future_spam_calls else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.legit_blocked / self.legit_calls if self.legit_calls else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "events": self.events, "rejected": self.rejected,
            "future_spam_calls": self.future_spam_calls, "future_spam_blocked": self.future_spam_blocked,
            "catch_rate": round(self.catch_rate, 4), "legit_calls": self.legit_calls,
            "legit_blocked": self.legit_blocked, "false_positive_rate": round(self.false_positive_rate, 5),
            "blocks": {"number": sum(1 for b in self.blocks if b.key.match_type == "phoneNumber"),
                       "prefix": sum(1 for b in self.blocks if b.key.match_type == "prefix")},
            "sources": {n: {"kind": s.kind, "scope": s.scope, "calls": s.calls, "blocked": s.blocked,
                            "future_calls": s.future_calls, "future_blocked": s.future_blocked}
                        for n, s in self.sources.items() if s.kind in ("robocaller", "campaign")},
        }


def own_lists(scenario: Scenario, allow: Iterable[ListEntry] = ()) -> ProtectedLists:
    return ProtectedLists.of(allow=allow, own=[ListEntry(n, source="own-numbers") for n in scenario.own_numbers])


def evaluate(scenario: Scenario, policy: Policy = DEFAULT_POLICY, *, lists: ProtectedLists | None = None,
             block_latency: timedelta = timedelta(minutes=1),
             expiry_every: timedelta | None = timedelta(hours=1),
             renewal: RenewalPolicy | None = None) -> Evaluation:
    lists = lists if lists is not None else own_lists(scenario)
    latency = int(block_latency.total_seconds())
    renewal = renewal if renewal is not None else renewal_beside(policy)
    every = int(expiry_every.total_seconds()) if expiry_every is not None else None
    next_run: int | None = None
    by_exchange: dict[str, dict[str, NumberEvidence]] = {}
    blocks: dict[BlockKey, SimulatedBlock] = {}
    ended: list[SimulatedBlock] = []
    cooldowns: dict[BlockKey, int] = {}
    dropped_calls: set[str] = set()
    results = {name: SourceResult(name, src.kind, src.scope) for name, src in scenario.sources.items()}
    legit_calls = legit_blocked = rejected = 0
    legit_detail: list[dict[str, Any]] = []
    measured_from = epoch(scenario.start)

    for event, label in zip(scenario.events, scenario.labels, strict=True):
        try:
            parsed = parse_ingest_event(event)
            c = contribution_from(parsed, scenario.region)
        except InvalidEvent:
            rejected += 1
            continue
        if isinstance(c, Ignored):
            continue
        if every is None:
            _expire(blocks, ended, c.at)
        else:
            next_run = next_run if next_run is not None else (c.at // every + 1) * every
            while next_run <= c.at:
                _run_expirer(blocks, ended, by_exchange, lists, next_run, renewal)
                next_run += every
        if label.kind == "spam_report" and label.call_id in dropped_calls:
            continue  # the call was blocked, so nobody could report it
        if label.prompted_by is not None and label.prompted_by in dropped_calls:
            continue  # nor call it back, nor defend it
        result = results[label.source]
        if label.kind == "spam_report" and label.spam and result.evidence_at is None:
            result.evidence_at = from_epoch(c.at)
        if c.kind == "inbound_call":
            blocker = _active_block(blocks, c.number, c.at)
            measured = c.at >= measured_from
            counted_future = measured and result.evidence_at is not None and c.at > epoch(result.evidence_at)
            result.calls += measured
            result.future_calls += counted_future
            if measured and not label.spam and result.kind != "emergency":
                legit_calls += 1
            if blocker is not None:
                result.blocked += measured
                result.future_blocked += counted_future
                dropped_calls.add(c.key)
                if measured and not label.spam:
                    legit_blocked += 1
                    legit_detail.append({"source": label.source, "number": c.number, "at": from_epoch(c.at),
                                         "block": blocker.key.as_id(), "why": blocker.decision.explanation})
                continue
        decision = _record_and_decide(c, by_exchange, lists, policy)
        _apply(decision, c, blocks, ended, cooldowns, latency, policy)

    return Evaluation(seed=scenario.seed, events=len(scenario.events), rejected=rejected, sources=results,
                      legit_calls=legit_calls, legit_blocked=legit_blocked,
                      blocks=sorted(list(blocks.values()) + ended, key=lambda b: b.effective_at),
                      legit_blocked_calls=legit_detail)


def _record_and_decide(c: Contribution, by_exchange: dict[str, dict[str, NumberEvidence]], lists: ProtectedLists,
                       policy: Policy) -> Decision:
    exchange = by_exchange.setdefault(exchange_of(c.number), {})
    evidence = merge(exchange.get(c.number) or NumberEvidence(c.number), [c], policy.retention)
    exchange[c.number] = evidence
    view = exchange if c.is_suspicious else {c.number: evidence}
    return decide(c.number, view, lists, from_epoch(c.at), policy)


def _active_block(blocks: dict[BlockKey, SimulatedBlock], number: str, t: int) -> SimulatedBlock | None:
    for key in covering_keys("phoneNumber", number):
        block = blocks.get(key)
        if block is not None and block.blocks_at(t):
            return block
    return None


def _expire(blocks: dict[BlockKey, SimulatedBlock], ended: list[SimulatedBlock], t: int) -> None:
    """No expirer: every block ends at its expires_at."""
    for key, block in list(blocks.items()):
        if block.expires_at <= t:
            block.removed_at = block.expires_at
            ended.append(blocks.pop(key))


def _run_expirer(blocks: dict[BlockKey, SimulatedBlock], ended: list[SimulatedBlock],
                 by_exchange: dict[str, dict[str, NumberEvidence]], lists: ProtectedLists, now: int,
                 renewal: RenewalPolicy) -> None:
    """One scheduled expirer run at `now`: each due block is renewed on fresh evidence or taken out (the
    blocks of one exchange share its view, as the expirer shares one Query per exchange)."""
    views: dict[tuple[str, ...], dict[str, NumberEvidence]] = {}
    for key, block in list(blocks.items()):
        if block.expires_at > now:
            continue
        exchanges = evidence_exchanges(key)
        view = views.get(exchanges)
        if view is None:
            view = views[exchanges] = {number: evidence for exchange in exchanges
                                       for number, evidence in by_exchange.get(exchange, {}).items()}
        verdict = assess(key, from_epoch(block.decided_at), view, lists, from_epoch(now), renewal)
        if verdict.renew and verdict.expires_at is not None:
            block.expires_at, block.decided_at = epoch(verdict.expires_at), now
            block.renewals += 1
        else:
            block.removed_at = now
            ended.append(blocks.pop(key))


def _apply(decision: Decision, c: Contribution, blocks: dict[BlockKey, SimulatedBlock], ended: list[SimulatedBlock],
           cooldowns: dict[BlockKey, int], latency: int, policy: Policy) -> None:
    t = c.at
    if decision.is_block:
        assert decision.expires_at is not None
        for key in decision.block_keys:
            covered = any(k in blocks for k in covering_keys(key.match_type, key.phone_number))
            if not covered and cooldowns.get(key, -1) <= t:
                blocks[key] = SimulatedBlock(key, t + latency, epoch(decision.expires_at), decision,
                                             decided_at=epoch(decision.decided_at))
    elif decision.unblock and lifts_blocks(c):
        for key in covering_keys("phoneNumber", c.number):
            if key in blocks:
                block = blocks.pop(key)
                block.removed_at = t + latency
                ended.append(block)
                if decision.cooldown_until is not None:
                    cooldowns[key] = epoch(decision.cooldown_until)


def evaluate_many(seeds: Iterable[int], policy: Policy = DEFAULT_POLICY, **generate_kwargs: Any) -> dict[str, Any]:
    """Pooled figures over several seeds (the tuning loop and the report use this)."""
    from local.traffic.generator import generate

    runs = [evaluate(generate(seed, **generate_kwargs), policy) for seed in seeds]
    future = sum(r.future_spam_calls for r in runs)
    legit = sum(r.legit_calls for r in runs)
    return {
        "seeds": [r.seed for r in runs],
        "catch_rate": sum(r.future_spam_blocked for r in runs) / future if future else 1.0,
        "false_positive_rate": sum(r.legit_blocked for r in runs) / legit if legit else 0.0,
        "future_spam_calls": future, "legit_calls": legit, "legit_blocked": sum(r.legit_blocked for r in runs),
        "worst_seed_catch_rate": min((r.catch_rate for r in runs), default=1.0),
        "runs": runs,
    }


# Named traffic shapes for the measurement table (docs/scoring.md, "How well it works").
SHAPES: dict[str, Any] = {
    "default": {},
    "small_office": {"employees": (8, 15)},
    "large": {"employees": (80, 150)},
    "few_reports": {"report_rate": (0.03, 0.1)},
    "fast_rotation": {"calls_per_number": (1.0, 2.5)},
    "own_exchange_customers": {"customers_in_own_exchange": 0.03},
    "mistaken_reports": {"mistaken_report_rate": 0.04},
}


def shape_named(name: str):
    """The TrafficShape called `name` in SHAPES."""
    from dataclasses import replace

    from local.traffic.generator import TrafficShape

    if name not in SHAPES:
        raise ValueError(f"unknown shape {name!r}; known: {', '.join(SHAPES)}")
    return replace(TrafficShape(), **SHAPES[name])


def _measure_one(job: tuple[str, int, int, Policy, bool, float]
                 ) -> tuple[str, int, int, int, int, int, list[dict[str, Any]]]:
    from local.traffic.generator import generate

    name, seed, history, policy, expirer, latency_minutes = job
    run = evaluate(generate(seed, shape=shape_named(name), history_days=history), policy,
                   block_latency=timedelta(minutes=latency_minutes),
                   expiry_every=timedelta(hours=1) if expirer else None)
    detail = [{**d, "seed": seed, "at": d["at"].isoformat()} for d in run.legit_blocked_calls]
    return (name, history, run.future_spam_calls, run.future_spam_blocked, run.legit_calls, run.legit_blocked, detail)


def measure(shapes: Iterable[str], seeds: Iterable[int], histories: Iterable[int] = (0, 14),
            policy: Policy = DEFAULT_POLICY, workers: int = 1, expirer: bool = True,
            latency_minutes: float = 1.0) -> dict[tuple[str, int], dict[str, Any]]:
    """Pooled catch and legitimate-blocked rates per (shape, history days) over `seeds` (`expirer=False`:
    blocks end at expires_at, without the scheduled expirer's renewals; `latency_minutes`: from a call to
    its block in Zoom)."""
    jobs = [(name, seed, history, policy, expirer, latency_minutes)
            for name in shapes for history in histories for seed in seeds]
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            outcomes = list(pool.map(_measure_one, jobs, chunksize=8))
    else:
        outcomes = [_measure_one(job) for job in jobs]
    table: dict[tuple[str, int], dict[str, Any]] = {}
    for name, history, future, blocked, legit, legit_blocked, detail in outcomes:
        row = table.setdefault((name, history), {"future_spam_calls": 0, "future_spam_blocked": 0,
                                                 "legit_calls": 0, "legit_blocked": 0, "seeds": 0,
                                                 "seeds_with_legit_blocked": 0, "legit_blocked_calls": []})
        row["future_spam_calls"] += future
        row["future_spam_blocked"] += blocked
        row["legit_calls"] += legit
        row["legit_blocked"] += legit_blocked
        row["seeds"] += 1
        row["seeds_with_legit_blocked"] += legit_blocked > 0
        row["legit_blocked_calls"] += detail
    for row in table.values():
        row["catch_rate"] = row["future_spam_blocked"] / row["future_spam_calls"] if row["future_spam_calls"] else 1.0
        row["false_positive_rate"] = row["legit_blocked"] / row["legit_calls"] if row["legit_calls"] else 0.0
    return table


def _main() -> None:  # pragma: no cover - the measurement entry point
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m local.traffic.evaluate",
        description="Replay generated traffic through the scorer and print catch / legitimate-blocked rates.")
    parser.add_argument("--seeds", type=int, default=60, help="how many seeds per shape (default 60)")
    parser.add_argument("--first-seed", type=int, default=1000,
                        help="first seed (default 1000: seeds the tests do not use)")
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES),
                        help="a traffic shape (repeatable; default: every shape)")
    parser.add_argument("--history-days", type=int, action="append",
                        help="days of history replayed before measuring (repeatable; default 0 and 14)")
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--why", action="store_true", help="list every legitimate call blocked")
    parser.add_argument("--no-expirer", action="store_true",
                        help="blocks end at expires_at: the scorer alone, without the hourly expirer's renewals")
    parser.add_argument("--latency-minutes", type=float, default=1.0,
                        help="from the call that decides a block to the block in Zoom (default 1: the webhook path)")
    args = parser.parse_args()
    shapes = args.shape or list(SHAPES)
    histories = args.history_days or [0, 14]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    table = measure(shapes, seeds, histories, workers=args.workers, expirer=not args.no_expirer,
                    latency_minutes=args.latency_minutes)
    print(f"seeds {seeds.start}-{seeds.stop - 1} ({len(seeds)} per row)")
    print(f"{'shape':<24} {'history':>7} {'catch':>7} {'legit blocked':>14} {'calls':>12} {'seeds hit':>9}")
    for (name, history), row in table.items():
        print(f"{name:<24} {history:>5} d {row['catch_rate']:>7.1%} {row['false_positive_rate']:>14.3%} "
              f"{row['legit_blocked']:>5}/{row['legit_calls']:<6} {row['seeds_with_legit_blocked']:>9}")
    if args.why:
        for (name, history), row in table.items():
            for d in row["legit_blocked_calls"]:
                print(f"  {name} {history}d seed {d['seed']} {d['source']} {d['number']} {d['at']} "
                      f"by {d['block']}: {d['why'][:160]}")


if __name__ == "__main__":  # pragma: no cover
    _main()
