"""The traffic generator, the FTC loader, and the evaluation targets over several seeds and shapes."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from spam_blocker.domain.allowlist import ProtectedLists
from spam_blocker.domain.events import InvalidEvent, parse_ingest_event
from spam_blocker.domain.evidence import (
    Ignored,
    NumberEvidence,
    contribution_from,
    exchange_of,
    from_epoch,
    merge,
)
from spam_blocker.domain.scoring import decide

from local.traffic import TrafficShape, generate
from local.traffic.evaluate import SHAPES, evaluate, evaluate_many, measure, shape_named
from local.traffic.ftc import ftc_available, ftc_report_events

# A deployment backfills (or runs in shadow mode) for two weeks before it blocks: the evaluation replays
# that history as evidence and measures the two weeks after it.
HISTORY_DAYS = 14
SEEDS = range(100, 110)


def test_generation_is_deterministic_and_labelled():
    first, second = generate(5, days=7), generate(5, days=7)
    assert first.events == second.events and first.labels == second.labels
    assert generate(6, days=7).events != first.events
    assert len(first.events) == len(first.labels) > 300
    times = [parse_ingest_event(e).occurred_at for e, label in zip(first.events, first.labels, strict=True)
             if label.kind != "malformed"]
    assert times == sorted(times) and first.start <= times[0] and times[-1] < first.end


def test_the_traffic_has_every_population_the_scorer_must_tell_apart():
    scenario = generate(11, days=14)
    kinds = Counter(s.kind for s in scenario.sources.values())
    assert {"customer", "one_off", "pharmacy", "bank", "robocaller", "campaign", "emergency", "malformed"} <= set(kinds)
    labels = Counter(label.kind for label in scenario.labels)
    assert {"inbound_call", "outbound_call", "internal_call", "spam_report", "malformed"} <= set(labels)
    campaigns = [s for s in scenario.sources.values() if s.kind == "campaign"]
    assert all(n.lstrip("+").startswith(c.prefix) for c in campaigns for n in c.numbers)
    assert scenario.own_numbers and all(n.startswith("+1") for n in scenario.own_numbers)


def test_every_event_but_the_malformed_ones_follows_the_contract():
    scenario = generate(12, days=10, shape=replace(TrafficShape(), malformed_rate=0.01))
    outcomes = Counter()
    for event, label in zip(scenario.events, scenario.labels, strict=True):
        try:
            result = contribution_from(parse_ingest_event(event), scenario.region)
        except InvalidEvent:
            outcomes["rejected" if label.kind == "malformed" else "wrongly rejected"] += 1
            continue
        assert label.kind != "malformed", event
        outcomes["ignored" if isinstance(result, Ignored) else "evidence"] += 1
    assert outcomes["wrongly rejected"] == 0 and outcomes["rejected"] >= 6 and outcomes["ignored"] > 100


def test_history_precedes_the_measured_days():
    scenario = generate(3, days=7, history_days=7)
    first = parse_ingest_event(scenario.events[0]).occurred_at
    assert scenario.history_start <= first < scenario.start


@pytest.mark.parametrize("shape_name, shape", [
    (name, shape_named(name))
    for name in ("default", "small_office", "fast_rotation", "few_reports", "large", "mistaken_reports")])
def test_most_future_spam_calls_are_blocked_and_almost_no_legitimate_ones(shape_name, shape):
    pooled = evaluate_many(SEEDS, shape=shape, history_days=HISTORY_DAYS)
    assert pooled["future_spam_calls"] > 500  # enough calls for the rates to mean something
    assert pooled["catch_rate"] >= 0.90, (shape_name, pooled["catch_rate"])
    assert pooled["false_positive_rate"] < 0.001, (shape_name, pooled["legit_blocked"], pooled["legit_calls"])


NO_HISTORY_SHAPES = [(name, shape_named(name)) for name in ("default", "small_office", "fast_rotation", "few_reports")]


@pytest.mark.parametrize("shape_name, shape", NO_HISTORY_SHAPES)
def test_without_history_most_future_spam_calls_are_still_blocked(shape_name, shape):
    # A fresh `spam-blocker run` over a file: no backfill, no shadow period.
    pooled = evaluate_many(SEEDS, shape=shape, history_days=0)
    assert pooled["future_spam_calls"] > 500
    assert pooled["catch_rate"] >= 0.90, (shape_name, pooled["catch_rate"])


@pytest.mark.xfail(strict=True, reason="not met at the current defaults: without history, neighbours in the "
                   "company's own exchange fall inside tiled campaign ranges and a reminder line reported once by "
                   "mistake is blocked on report + pattern (docs/scoring.md, 'How well it works')")
@pytest.mark.parametrize("shape_name, shape", NO_HISTORY_SHAPES[:1])
def test_without_history_almost_no_legitimate_calls_are_blocked(shape_name, shape):
    pooled = evaluate_many(SEEDS, shape=shape, history_days=0)
    assert pooled["false_positive_rate"] < 0.001, (shape_name, pooled["legit_blocked"], pooled["legit_calls"])


def test_the_evaluator_drops_blocked_calls_and_the_reports_they_would_have_caused():
    scenario = generate(101, days=14, history_days=HISTORY_DAYS)
    result = evaluate(scenario)
    spam_sources = [s for s in result.sources.values() if s.kind in ("robocaller", "campaign")]
    assert sum(s.blocked for s in spam_sources) > 0 and result.blocks
    assert result.rejected == sum(1 for label in scenario.labels if label.kind == "malformed")
    assert 0 <= result.catch_rate <= 1 and result.summary()["catch_rate"] == round(result.catch_rate, 4)


def test_a_call_back_or_a_not_spam_prompted_by_a_blocked_call_never_happens():
    from datetime import UTC, datetime, timedelta

    from local.traffic.generator import EventLabel, Scenario, Source

    robo, t0 = "+13055550142", datetime(2026, 11, 2, 15, tzinfo=UTC)
    events: list[dict] = []
    labels: list[EventLabel] = []

    def inbound(minutes: int, call_id: str, callee: int) -> None:
        events.append({"type": "call_log", "call_log": {
            "id": call_id, "caller_number": robo, "caller_number_type": 2, "callee_number": f"+1907212{1000 + callee}",
            "callee_number_type": 1, "direction": "inbound", "duration": 0, "result": "No Answer",
            "date_time": (t0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")}})
        labels.append(EventLabel("inbound_call", "robo", True, robo, call_id))

    for i in range(5):
        inbound(i, f"c{i}", i)
    for i, who in enumerate(("ext-1", "ext-2")):
        events.append({"type": "spam_report", "phone_number": robo, "reporter": who,
                       "reported_at": (t0 + timedelta(minutes=10 + i)).strftime("%Y-%m-%dT%H:%M:%SZ")})
        labels.append(EventLabel("spam_report", "robo", True, robo, f"c{i}"))
    inbound(60, "blocked-call", 7)
    events.append({"type": "call_log", "call_log": {  # the employee "calls back" a call that never rang
        "id": "back", "caller_number": "+19072121007", "caller_number_type": 1, "callee_number": robo,
        "callee_number_type": 2, "direction": "outbound", "duration": 180, "result": "Call connected",
        "date_time": (t0 + timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M:%SZ")}})
    labels.append(EventLabel("outbound_call", "robo", False, robo, "back", prompted_by="blocked-call"))
    inbound(120, "later", 9)
    scenario = Scenario(seed=0, start=t0, end=t0 + timedelta(days=1), events=events, labels=labels,
                        own_numbers=[], employees=[], sources={"robo": Source("robo", "robocaller", True, (robo,))},
                        history_start=t0)

    result = evaluate(scenario)

    assert result.sources["robo"].blocked == 2  # the blocked call and the later one: no call back lifted it


def test_the_replay_runs_the_hourly_expirer_which_renews_a_block_on_fresh_evidence():
    from datetime import UTC, datetime, timedelta

    from spam_blocker.domain.scoring import DEFAULT_POLICY

    from local.traffic.generator import EventLabel, Scenario, Source

    robo, t0 = "+13055550142", datetime(2026, 11, 2, 15, tzinfo=UTC)
    events: list[dict] = []
    labels: list[EventLabel] = []

    def stamp(at: timedelta) -> str:
        return (t0 + at).strftime("%Y-%m-%dT%H:%M:%SZ")

    def inbound(at: timedelta, call_id: str, callee: int) -> None:
        events.append({"type": "call_log", "call_log": {
            "id": call_id, "caller_number": robo, "caller_number_type": 2, "callee_number": f"+1907212{1000 + callee}",
            "callee_number_type": 1, "direction": "inbound", "duration": 0, "result": "No Answer",
            "date_time": stamp(at)}})
        labels.append(EventLabel("inbound_call", "robo", True, robo, call_id))

    def spam_report(at: timedelta, who: str, call_id: str) -> None:
        events.append({"type": "spam_report", "phone_number": robo, "reporter": who, "reported_at": stamp(at)})
        labels.append(EventLabel("spam_report", "robo", True, robo, call_id))

    for i in range(5):
        inbound(timedelta(minutes=i), f"c{i}", i)
    spam_report(timedelta(minutes=10), "ext-1", "c0")
    spam_report(timedelta(minutes=11), "ext-2", "c1")  # two people: blocked for number_block_days
    spam_report(timedelta(hours=2), "ext-3", "c2")  # a late report after the decision: fresh evidence
    expiry = timedelta(minutes=11) + timedelta(days=DEFAULT_POLICY.number_block_days)
    inbound(expiry + timedelta(minutes=10), "before-the-run", 5)  # past expires_at, before the hourly run
    inbound(expiry + timedelta(hours=3), "after-the-run", 6)
    scenario = Scenario(seed=0, start=t0, end=t0 + expiry + timedelta(days=1), events=events, labels=labels,
                        own_numbers=[], employees=[], sources={"robo": Source("robo", "robocaller", True, (robo,))},
                        history_start=t0)

    with_expirer = evaluate(scenario)
    scorer_alone = evaluate(scenario, expiry_every=None)

    [block] = [b for b in with_expirer.blocks if b.key.phone_number == robo]
    assert block.renewals == 1 and block.removed_at is None
    assert with_expirer.sources["robo"].blocked == 2  # still in Zoom until the run, then renewed
    assert scorer_alone.sources["robo"].blocked == 0  # ends at expires_at: both calls ring


def test_without_range_blocking_rotating_campaigns_get_through():
    from spam_blocker.domain.scoring import DEFAULT_POLICY

    with_ranges = evaluate_many(SEEDS[:6], history_days=HISTORY_DAYS)
    numbers_only = evaluate_many(SEEDS[:6], replace(DEFAULT_POLICY, range_blocking=False), history_days=HISTORY_DAYS)
    assert numbers_only["catch_rate"] < with_ranges["catch_rate"] - 0.2


@pytest.mark.shared_data
@pytest.mark.skipif(not ftc_available(), reason="../shared/data is absent")
def test_real_ftc_complaints_single_reports_are_weak_clustered_ones_strong():
    reports = ftc_report_events()
    assert reports.rows == 14034 and len(reports.events) + reports.skipped == reports.rows
    by_exchange: dict[str, dict[str, NumberEvidence]] = {}
    for event in reports.events:
        c = contribution_from(parse_ingest_event(event))
        assert not isinstance(c, Ignored)
        view = by_exchange.setdefault(exchange_of(c.number), {})
        view[c.number] = merge(view.get(c.number) or NumberEvidence(c.number), [c])
    now = from_epoch(max(e.last_seen for view in by_exchange.values() for e in view.values()))
    # the exchange holding 92 distinct reported numbers across all its 1000-blocks is a campaign range
    busiest = by_exchange["1951677"]
    assert len(busiest) == 92
    decision = decide(sorted(busiest)[0], busiest, ProtectedLists(), now)
    assert (decision.action, decision.target) == ("block_prefix", "1951677")
    # twelve numbers in two 100-blocks of one 1000-block: the narrowest prefix that covers them
    narrow = by_exchange["1262216"]
    assert decide(sorted(narrow)[0], narrow, ProtectedLists(), now).target == "12622161"
    # a number with a single complaint, alone in its exchange, is only watched
    lonely = [(ex, view) for ex, view in by_exchange.items()
              if len(view) == 1 and len(next(iter(view.values())).reports) == 1]
    assert len(lonely) > 5000
    for _, view in lonely[:200]:
        assert decide(next(iter(view)), view, ProtectedLists(), now).action == "watch"


def test_the_measurement_entry_point_pools_every_shape_and_history():
    table = measure(["default", "small_office"], range(100, 102), histories=(0, 14))
    assert set(table) == {("default", 0), ("default", 14), ("small_office", 0), ("small_office", 14)}
    row = table[("small_office", 0)]
    assert row["seeds"] == 2 and 0 <= row["catch_rate"] <= 1 and row["legit_calls"] > 0
    assert shape_named("small_office").employees == (8, 15) and set(SHAPES) >= {"default", "large"}
    with pytest.raises(ValueError):
        shape_named("nope")


def test_a_company_of_hundreds_has_valid_own_numbers_in_its_thousands_block():
    from dataclasses import replace as _replace

    from spam_blocker.domain.phone import normalize

    from local.traffic.generator import TrafficShape, generate

    scenario = generate(3, shape=_replace(TrafficShape(), employees=(250, 250)), days=4)
    assert len(scenario.own_numbers) == 251
    for number in scenario.own_numbers:
        assert len(number) == 12 and normalize(number, "US") == number
    assert len({n[:9] for n in scenario.own_numbers}) == 1  # one thousands-block
