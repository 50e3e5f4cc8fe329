"""decide(): one row per situation the scorer must judge, with the action and target it must reach."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest
from spam_blocker.domain import phone
from spam_blocker.domain.allowlist import ListEntry, ProtectedLists, parse_list
from spam_blocker.domain.evidence import Contribution, from_epoch
from spam_blocker.domain.scoring import DEFAULT_POLICY, REASON_MAX, decide

from tests.unit.scoring.evidence_builders import (
    EMPLOYEES,
    at,
    call,
    campaign,
    conversation,
    not_spam,
    outbound,
    report,
    robocalls,
    view_of,
)

ROBO = "+13055550142"
EXCHANGE = "1907555"
OWN = ProtectedLists.of(own=[ListEntry(f"+1907555{100 + i:04d}") for i in range(40)])
SPREAD = ["1234", "3456", "5678", "7890"]  # four 1000-blocks of the exchange
LATER = at(days=1)


@dataclass(frozen=True)
class Case:
    name: str
    contributions: list[Contribution]
    candidate: str
    action: str
    target: str | None = None
    lists: ProtectedLists = field(default_factory=ProtectedLists)
    rule: str | None = None
    now: int = LATER


CASES = [
    Case("robocaller reported once, with the fan-out pattern",
         robocalls(ROBO, at(), 5) + [report(ROBO, at(10), "ext-1")], ROBO, "block_number", ROBO),
    Case("one report and one short call: weak",
         [call(ROBO, at(), EMPLOYEES[0]), report(ROBO, at(1), "ext-1")], ROBO, "watch"),
    Case("two people report it", [report(ROBO, at(), "ext-1"), report(ROBO, at(5), "ext-2")], ROBO,
         "block_number", ROBO),
    Case("one person reporting five times is one vote",
         [report(ROBO, at(i), "ext-1") for i in range(5)], ROBO, "watch"),
    Case("fan-out alone is not spam", robocalls(ROBO, at(), 20), ROBO, "watch"),
    Case("a reminder line reported by mistake: people listen to it",
         [call(ROBO, at(i), EMPLOYEES[i], answered=i % 3 == 0, duration=35 if i % 3 == 0 else 0)
          for i in range(12)] + [report(ROBO, at(20), "ext-9")], ROBO, "watch"),
    Case("a customer reported by mistake twice: conversations outweigh",
         [conversation(ROBO, at(days=-d)) for d in (2, 9, 20, 30, 41)]
         + [report(ROBO, at(), "ext-1"), report(ROBO, at(3), "ext-2")], ROBO, "watch"),
    Case("two people report a robocaller whose hang-ups reached a live agent a few times",  # legitimacy capped
         robocalls(ROBO, at(), 30) + [conversation(ROBO, at(40 + 5 * i), EMPLOYEES[i], duration=180)
                                      for i in range(4)]
         + [report(ROBO, at(70), "ext-1"), report(ROBO, at(75), "ext-2")], ROBO, "block_number", ROBO),
    Case("the same calls without the pattern are a customer's, whose conversations count in full",
         robocalls(ROBO, at(), 12) + [conversation(ROBO, at(40 + 5 * i), EMPLOYEES[i], duration=180)
                                      for i in range(4)]
         + [report(ROBO, at(70), "ext-1"), report(ROBO, at(75), "ext-2")], ROBO, "watch"),
    Case("an employee called it back", robocalls(ROBO, at(), 5) + [report(ROBO, at(10), "ext-1"),
                                                                    outbound(ROBO, at(30))], ROBO, "watch"),
    Case("reports a month old have faded", robocalls(ROBO, at(days=-60), 5)
         + [report(ROBO, at(days=-60), "ext-1"), report(ROBO, at(days=-59), "ext-2")], ROBO, "watch"),
    Case("allowlisted number", robocalls(ROBO, at(), 5) + [report(ROBO, at(), "ext-1"), report(ROBO, at(), "ext-2")],
         ROBO, "ignore", lists=ProtectedLists.of(allow=parse_list("(305) 555-0142\n")), rule="allowlisted"),
    Case("allowlisted by prefix", [report(ROBO, at(), "ext-1"), report(ROBO, at(), "ext-2")], ROBO, "ignore",
         lists=ProtectedLists.of(allow=parse_list("+1305555*  # our bank's pool\n")), rule="allowlisted"),
    Case("own number", [report("+19075550101", at(), "ext-1"), report("+19075550101", at(), "ext-2")],
         "+19075550101", "ignore", lists=OWN, rule="own_number"),
    Case("emergency code", [], "911", "ignore", rule="emergency"),
    Case("not_spam in the cool-down wins over everything",
         robocalls(ROBO, at(), 9) + [report(ROBO, at(), f"ext-{i}") for i in range(6)]
         + [not_spam(ROBO, at(days=-20), "ext-40")], ROBO, "ignore", rule="not_spam_cooldown"),
    Case("not_spam long past is only negative evidence",
         robocalls(ROBO, at(), 5) + [report(ROBO, at(), "ext-1"), report(ROBO, at(1), "ext-2"),
                                     not_spam(ROBO, at(days=-40), "ext-40")], ROBO, "block_number", ROBO),
    Case("a campaign across an exchange", campaign(EXCHANGE, SPREAD, at()), "+19075557890", "block_prefix",
         EXCHANGE),
    Case("a campaign inside a 1000-block", campaign(EXCHANGE, ["3012", "3145", "3278", "3391"], at()),
         "+19075553391", "block_prefix", "19075553"),
    Case("a campaign inside a 100-block", campaign(EXCHANGE, ["3401", "3423", "3456", "3478"], at()),
         "+19075553401", "block_prefix", "190755534"),
    Case("a campaign inside a 10-block", campaign(EXCHANGE, ["3451", "3453", "3456", "3458"], at()),
         "+19075553453", "block_prefix", "1907555345"),
    Case("no range without a human report", campaign(EXCHANGE, SPREAD, at(), reporters=()),
         "+19075557890", "watch"),
    Case("two flagged numbers are not a campaign", campaign(EXCHANGE, SPREAD[:2], at()), "+19075553456", "watch"),
    Case("toll-free numbers are never a range", campaign("1800555", SPREAD, at()), "+18005557890", "watch"),
    Case("a customer inside the campaign is not blocked with it",
         campaign(EXCHANGE, SPREAD, at()) + [conversation("+19075556000", at(days=-3), duration=240)]
         + robocalls("+19075556000", at(30), 1), "+19075556000", "watch"),
    Case("an exchange whose callers are mostly neighbours is no campaign",  # range_max_clean_share
         campaign(EXCHANGE, SPREAD, at()) + [conversation(f"+1907555{6100 + 7 * i}", at(days=-2, minutes=i),
                                                          duration=30) for i in range(12)],
         "+19075557890", "watch"),
    Case("a few neighbours calling normally do not hide a campaign",
         campaign(EXCHANGE, SPREAD, at()) + [conversation(f"+1907555{6100 + 7 * i}", at(days=-2, minutes=i),
                                                          duration=30) for i in range(3)],
         "+19075557890", "block_prefix", EXCHANGE),
    Case("an allowlisted 1000-block inside the campaign is left out of it",
         campaign(EXCHANGE, SPREAD, at()), "+19075551234", "block_prefix", "19075551",
         lists=ProtectedLists.of(allow=parse_list("+1 907 555 0*\n"))),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_decision(case: Case):
    decision = decide(case.candidate, view_of(case.contributions), case.lists, from_epoch(case.now))
    assert decision.action == case.action, decision.explanation
    if case.target is not None:
        assert decision.target == case.target
    if case.rule is not None:
        assert decision.evidence["rule"] == case.rule
    assert decision.explanation and decision.candidate == case.candidate
    assert len(decision.reason) <= REASON_MAX


def test_a_block_expires_a_block_duration_after_its_event_time():
    now = from_epoch(LATER)
    one = decide(ROBO, view_of(robocalls(ROBO, at(), 5) + [report(ROBO, at(), "ext-1")]), ProtectedLists(), now)
    two = decide(ROBO, view_of(robocalls(ROBO, at(), 5) + [report(ROBO, at(), "ext-1"), report(ROBO, at(), "ext-2")]),
                 ProtectedLists(), now)
    prefix = decide("+19075557890", view_of(campaign(EXCHANGE, SPREAD, at())), ProtectedLists(), now)
    # one person's report: counted from the report itself (a day before the decision here)
    reported = from_epoch(at())
    assert one.decided_at == now
    assert one.expires_at == reported + timedelta(days=DEFAULT_POLICY.single_reporter_block_days)
    assert two.expires_at == now + timedelta(days=DEFAULT_POLICY.number_block_days)
    assert DEFAULT_POLICY.single_reporter_block_days < DEFAULT_POLICY.number_block_days
    assert prefix.expires_at == now + timedelta(days=DEFAULT_POLICY.prefix_block_days)


def test_a_block_on_an_old_single_report_is_short():
    # The report is 11 days old when the robocall pattern appears (or appears again, after a first block on
    # it ran out): the block lasts the minimum, not another single_reporter_block_days.
    policy = DEFAULT_POLICY
    reported_days_ago = policy.single_reporter_block_days - 1
    now = from_epoch(at(days=reported_days_ago))
    calls = robocalls(ROBO, at(days=reported_days_ago - 0.1), 5)
    decision = decide(ROBO, view_of(calls + [report(ROBO, at(), "ext-1")]), ProtectedLists(), now, policy)
    assert decision.action == "block_number", decision.explanation
    assert decision.expires_at == now + timedelta(days=policy.single_reporter_min_block_days)
    later = from_epoch(at(days=2))
    fresh = decide(ROBO, view_of(robocalls(ROBO, at(days=1.9), 5) + [report(ROBO, at(), "ext-1")]),
                   ProtectedLists(), later, policy)
    assert fresh.expires_at == from_epoch(at()) + timedelta(days=policy.single_reporter_block_days)


def test_the_explanation_carries_the_numbers_behind_it():
    decision = decide(ROBO, view_of(robocalls(ROBO, at(), 5) + [report(ROBO, at(), "ext-1")]), ProtectedLists(),
                      from_epoch(at(10)))
    assert decision.explanation.startswith(f"block {ROBO}: reported by 1 person")
    assert "5 short calls to 5 employees (100% short, robocall pattern)" in decision.explanation
    assert decision.evidence["reporters"] == 1 and decision.evidence["short_callees"] == 5
    assert decision.evidence["robocall_pattern"] is True and decision.evidence["score"] == pytest.approx(2.0, abs=0.01)


def test_a_range_explanation_names_members_reporters_and_callees():
    decision = decide("+19075557890", view_of(campaign(EXCHANGE, SPREAD, at())), ProtectedLists(), from_epoch(LATER))
    assert decision.explanation.startswith("block range 1907555 (10,000 numbers): 4 suspicious numbers")
    assert "reported by 1 person, 16 employees called" in decision.explanation
    assert decision.evidence["campaign"]["members"] == 4 and decision.evidence["campaign"]["sub_ranges"] == 4


def test_a_campaign_in_the_own_exchange_is_tiled_around_the_own_numbers():
    decision = decide("+19075551234", view_of(campaign(EXCHANGE, SPREAD, at())), OWN, from_epoch(LATER))
    assert decision.action == "block_prefix" and decision.target == "19075551"
    assert decision.refusals[0].rule == "covers_own"
    # nine 1000-blocks, and the nine 100-blocks of 1907555 0xxx that hold no own number
    assert len(decision.targets) == 18 and len(set(decision.targets)) == 18
    for target in decision.targets:
        assert not any(entry.overlaps_prefix(target) for entry in OWN.own), target
        assert len(target) >= phone.min_prefix_length("+19075551234")
    assert "19075550" not in decision.targets and "190755501" not in decision.targets
    assert "as 18 prefixes around 40 protected numbers" in decision.explanation


def test_tiles_leave_out_a_legitimate_caller_and_a_not_spam_number():
    contributions = campaign(EXCHANGE, SPREAD, at()) + [conversation("+19075556000", at(days=-3)),
                                                        not_spam("+19075552222", at(days=-1), "ext-3")]
    decision = decide("+19075557890", view_of(contributions), ProtectedLists(), from_epoch(LATER))
    assert decision.action == "block_prefix"
    assert not any(phone.prefix_covers(t, "+19075556000") or phone.prefix_covers(t, "+19075552222")
                   for t in decision.targets)
    assert any(phone.prefix_covers(t, "+19075557890") for t in decision.targets)


def test_a_100_block_around_a_legitimate_caller_is_tiled_finer_where_the_campaign_used_it_twice():
    legit = "+19075556050"
    lines = SPREAD + ["6011", "6088"]  # two campaign numbers beside the legitimate caller, in 1907555 60xx
    contributions = campaign(EXCHANGE, lines, at()) + [conversation(legit, at(days=-3))]
    decision = decide("+19075557890", view_of(contributions), ProtectedLists(), from_epoch(LATER))
    assert decision.action == "block_prefix"
    assert not any(phone.prefix_covers(t, legit) for t in decision.targets)
    # 9 1000-blocks, 9 100-blocks of 1907555 6xxx, and the 9 10-blocks of 60xx beside 605x
    assert "1907555601" in decision.targets and "1907555608" in decision.targets
    assert "1907555605" not in decision.targets and len(decision.targets) == 27

    once = campaign(EXCHANGE, SPREAD + ["6011"], at()) + [conversation(legit, at(days=-3))]
    decision = decide("+19075557890", view_of(once), ProtectedLists(), from_epoch(LATER))
    assert decision.action == "block_prefix" and len(decision.targets) == 18
    assert not any(t.startswith("19075556") and len(t) == 10 for t in decision.targets)


def test_finer_tiles_stop_at_max_range_tiles():
    legit = "+19075556050"
    contributions = campaign(EXCHANGE, SPREAD + ["6011", "6088"], at()) + [conversation(legit, at(days=-3))]
    policy = replace(DEFAULT_POLICY, max_range_tiles=20)
    decision = decide("+19075557890", view_of(contributions), ProtectedLists(), from_epoch(LATER), policy)
    assert decision.action == "block_prefix" and len(decision.targets) == 18


def test_not_spam_asks_for_our_blocks_to_be_lifted_with_a_cool_down():
    view = view_of(robocalls(ROBO, at(), 5) + [report(ROBO, at(), "ext-1"), not_spam(ROBO, at(60), "ext-2")])
    decision = decide(ROBO, view, ProtectedLists(), from_epoch(at(61)))
    assert decision.unblock and decision.cooldown_until == from_epoch(at(60)) + timedelta(days=30)


def test_an_employee_calling_a_number_lifts_blocks_over_it_without_a_cool_down():
    view = view_of(robocalls(ROBO, at(), 5) + [report(ROBO, at(), "ext-1"), outbound(ROBO, at(60))])
    decision = decide(ROBO, view, ProtectedLists(), from_epoch(at(61)))
    assert decision.action == "watch" and decision.unblock and decision.cooldown_until is None


def test_evidence_after_now_is_not_seen():
    view = view_of(robocalls(ROBO, at(), 5) + [report(ROBO, at(60), "ext-1")])
    assert decide(ROBO, view, ProtectedLists(), from_epoch(at(30))).action == "watch"
    assert decide(ROBO, view, ProtectedLists(), from_epoch(at(61))).action == "block_number"
