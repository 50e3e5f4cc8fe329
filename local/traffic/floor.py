"""How few legitimate calls a range policy that knew the spam to come could block, without history.

    python -m local.traffic.floor --seeds 60 --first-seed 4000 [--shape NAME] [--history-days N]

A neighbour-spoofing campaign in the company's own exchange calls from numbers nobody has seen, and so
does a neighbour calling for the first time: before a call is answered nothing tells them apart, and a
range blocked on a day blocks both. This asks what an oracle range policy would have to block to reach
the catch target, granting it everything at once:

- it catches every spam call outside the own-exchange campaigns, so it needs the fewest of theirs;
- it knows on which days each campaign will call, and how often, and blocks the busiest days first;
- it never blocks a number that made or received any call before (perfect tiling around the known).

What it cannot know is when a neighbour will call for the first time: those calls come at a steady rate,
the average over the campaign exchanges' days here. Its cost is that rate times the campaign-days it
must block. A second column (oracle*) grants it only the catch the product's replay had elsewhere. The gap
between these and the product's replay is what not knowing the campaign's next days costs;
docs/scoring.md gives the figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from spam_blocker.domain.events import InvalidEvent, parse_ingest_event
from spam_blocker.domain.evidence import Ignored, contribution_from, epoch

from local.traffic.evaluate import Evaluation
from local.traffic.generator import Scenario

DAY_S = 86_400


@dataclass(frozen=True)
class CampaignDays:
    """One seed's own-exchange campaigns, as the oracle sees them."""

    future_spam: int  # every spam source's calls after its first delivered report (the catch denominator)
    campaign_spam_by_day: tuple[int, ...]  # those of own-exchange campaigns, per (range, measured day)
    range_days: int  # their ranges (one: the company's exchange) x measured days
    first_calls: int  # legitimate first calls from inside those campaigns' ranges, measured days
    legit_calls: int
    blocked_elsewhere: int  # future spam calls the product's replay blocked outside those campaigns


def days_to_block(spam_by_day: Iterable[int], needed: float) -> float:
    """The fewest campaign-days (the last one in part) holding `needed` spam calls, busiest first;
    infinite when all of them hold fewer."""
    days = 0.0
    for spam in sorted((s for s in spam_by_day if s > 0), reverse=True):
        if needed <= 0:
            break
        take = min(1.0, needed / spam)
        days += take
        needed -= take * spam
    return days if needed <= 0 else float("inf")


def oracle_legit_blocked(seeds: Iterable[CampaignDays], catch_target: float = 0.9, *,
                         as_product_elsewhere: bool = False) -> float:
    """Legitimate calls the oracle blocks, pooled over `seeds` as the replay's rates are pooled
    (`as_product_elsewhere`: it catches outside the own-exchange campaigns only what the product did)."""
    seeds = list(seeds)
    future = sum(s.future_spam for s in seeds)
    campaign = [spam for s in seeds for spam in s.campaign_spam_by_day]
    elsewhere = (sum(s.blocked_elsewhere for s in seeds) if as_product_elsewhere
                 else future - sum(campaign))
    needed = catch_target * future - elsewhere
    range_days = sum(s.range_days for s in seeds)
    rate = sum(s.first_calls for s in seeds) / range_days if range_days else 0.0
    return rate * days_to_block(campaign, needed) if needed > 0 else 0.0


def campaign_days(scenario: Scenario, run: Evaluation) -> CampaignDays:
    """`scenario`'s own-exchange campaigns, with "future" spam as the product's replay `run` counted it."""
    start = epoch(scenario.start)
    days = (scenario.end - scenario.start).days
    campaigns = {name: src for name, src in scenario.sources.items()
                 if src.kind == "campaign" and src.scope == "own_exchange"}
    evidence_at = {name: epoch(run.sources[name].evidence_at) for name in campaigns
                   if run.sources[name].evidence_at is not None}
    ranges = {"+" + src.prefix for src in campaigns.values()}
    spam: dict[tuple[str, int], int] = {}
    first_calls = 0
    seen: set[str] = set()
    for event, label in zip(scenario.events, scenario.labels, strict=True):
        if label.kind not in ("inbound_call", "outbound_call"):
            continue
        try:
            c = contribution_from(parse_ingest_event(event), scenario.region)
        except InvalidEvent:
            continue
        if isinstance(c, Ignored):
            continue
        inside = any(c.number.startswith(p) for p in ranges)
        if inside and label.kind == "inbound_call" and c.at >= start:
            if label.source in evidence_at and c.at > evidence_at[label.source]:
                slot = (scenario.sources[label.source].prefix, (c.at - start) // DAY_S)
                spam[slot] = spam.get(slot, 0) + 1
            elif not label.spam and c.number not in seen:
                first_calls += 1
        seen.add(c.number)
    return CampaignDays(future_spam=run.future_spam_calls, campaign_spam_by_day=tuple(spam.values()),
                        range_days=len(ranges) * days, first_calls=first_calls, legit_calls=run.legit_calls,
                        blocked_elsewhere=run.future_spam_blocked - sum(run.sources[n].future_blocked
                                                                        for n in campaigns))


def _measure_one(job: tuple[str, int, int]) -> tuple[str, int, CampaignDays, int]:
    from local.traffic.evaluate import evaluate, shape_named
    from local.traffic.generator import generate

    name, seed, history = job
    scenario = generate(seed, shape=shape_named(name), history_days=history)
    run = evaluate(scenario)
    return name, history, campaign_days(scenario, run), run.legit_blocked


def _main() -> None:  # pragma: no cover - the measurement entry point
    import argparse

    from local.traffic.evaluate import SHAPES

    parser = argparse.ArgumentParser(prog="python -m local.traffic.floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=60, help="how many seeds per shape (default 60)")
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES), help="repeatable; default: all")
    parser.add_argument("--history-days", type=int, action="append", help="repeatable; default 0")
    parser.add_argument("--catch", type=float, default=0.9, help="the catch target (default 0.9)")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    jobs = [(name, seed, history) for name in (args.shape or list(SHAPES)) for history in (args.history_days or [0])
            for seed in range(args.first_seed, args.first_seed + args.seeds)]
    if args.workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.workers) as pool:
            outcomes = list(pool.map(_measure_one, jobs, chunksize=8))
    else:
        outcomes = [_measure_one(job) for job in jobs]
    rows: dict[tuple[str, int], list[tuple[CampaignDays, int]]] = {}
    for name, history, days, legit_blocked in outcomes:
        rows.setdefault((name, history), []).append((days, legit_blocked))
    print(f"seeds {args.first_seed}-{args.first_seed + args.seeds - 1}; catch target {args.catch:.0%}; "
          "legitimate calls blocked by the oracle, by the oracle\n"
          "catching elsewhere only what the product did (oracle*), and by the product's replay")
    print(f"{'shape':<24} {'history':>7} {'own-exchange spam':>17} {'oracle':>8} {'oracle*':>8} {'product':>8}")
    for (name, history), row in rows.items():
        seeds = [days for days, _ in row]
        legit = sum(s.legit_calls for s in seeds)
        share = sum(sum(s.campaign_spam_by_day) for s in seeds) / max(1, sum(s.future_spam for s in seeds))
        print(f"{name:<24} {history:>5} d {share:>17.1%} {oracle_legit_blocked(seeds, args.catch) / legit:>8.3%} "
              f"{oracle_legit_blocked(seeds, args.catch, as_product_elsewhere=True) / legit:>8.3%} "
              f"{sum(b for _, b in row) / legit:>8.3%}")


if __name__ == "__main__":  # pragma: no cover
    _main()
