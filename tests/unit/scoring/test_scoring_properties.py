"""Invariants of the scorer's judgement, for any evidence (Hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spam_blocker.domain import phone
from spam_blocker.domain.allowlist import ListEntry, ProtectedLists
from spam_blocker.domain.events import CallLogEvent, NotSpamEvent, SpamReportEvent, parse_ingest_event
from spam_blocker.domain.evidence import (
    Contribution,
    Ignored,
    NumberEvidence,
    contribution_from,
    from_epoch,
    merge,
    summarise,
)
from spam_blocker.domain.scoring import DEFAULT_POLICY, Decision, Policy, decide

from tests.unit.scoring.evidence_builders import EMPLOYEES, at, view_of

EXCHANGES = ["1907555", "1212555", "1305429", "44207123"]
NOW = at(days=10)
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_ids = st.integers(0, 10**6).map(lambda i: f"id-{i}")


@st.composite
def contributions_for(draw, number: str, *, max_each: int = 6) -> list[Contribution]:
    """Any mix of calls (short, answered, conversations), reports, not_spam and outbound calls."""
    when = st.integers(at(days=-20), NOW)
    out: list[Contribution] = []
    for _ in range(draw(st.integers(0, max_each))):
        answered = draw(st.booleans())
        out.append(Contribution("inbound_call", number, draw(when), draw(_ids),
                                duration=draw(st.sampled_from([0, 3, 12, 35, 90, 600])) if answered else 0,
                                answered=answered, callee=draw(st.sampled_from(EMPLOYEES[:12]))))
    for _ in range(draw(st.integers(0, 3))):
        out.append(Contribution("report", number, draw(when), draw(st.sampled_from(["ext-1", "ext-2", "ext-3", "ext-4"]))))
    if draw(st.integers(0, 9)) == 0:
        out.append(Contribution("not_spam", number, draw(when), "ext-9"))
    if draw(st.integers(0, 9)) == 0:
        out.append(Contribution("outbound_call", number, draw(when), draw(_ids)))
    return out


@st.composite
def exchange_evidence(draw, *, min_numbers: int = 1) -> tuple[str, list[Contribution]]:
    """Several numbers of one exchange with any evidence, often campaign-like (fan-out short calls + reports)."""
    exchange = draw(st.sampled_from(EXCHANGES))
    lines = draw(st.lists(st.integers(0, 9999), min_size=min_numbers, max_size=10, unique=True))
    contributions: list[Contribution] = []
    for line in lines:
        number = f"+{exchange}{line:04d}"
        if draw(st.booleans()):  # campaign-like
            start = draw(st.integers(at(days=-5), NOW - 3600))
            for i in range(draw(st.integers(1, 6))):
                contributions.append(Contribution("inbound_call", number, start + 60 * i, draw(_ids),
                                                  callee=EMPLOYEES[(line + i) % len(EMPLOYEES)]))
            if draw(st.integers(0, 2)) == 0:
                contributions.append(Contribution("report", number, start + 400, f"ext-{line % 7}"))
        contributions += draw(contributions_for(number, max_each=3))
    return exchange, contributions


def numbers_of(contributions: list[Contribution]) -> list[str]:
    return sorted({c.number for c in contributions})


loose_policies = st.builds(
    lambda members, spread, sources, reporters: replace(
        DEFAULT_POLICY, range_min_members=(members,) * 4, range_min_spread=(spread,) * 4,
        range_min_sources=(sources,) * 4, range_min_reporters=reporters),
    st.sampled_from([1.0, 2.0, 3.0]), st.integers(1, 3), st.integers(0, 6), st.integers(0, 1),
)


def decision_key(d: Decision) -> tuple:
    return d.action, d.targets, d.explanation, d.unblock, d.cooldown_until


# -- more spam evidence never lowers a score --------------------------------------------------------------

@PROPERTY_SETTINGS
@given(contributions_for("+13055550142", max_each=8), st.data())
def test_more_spam_evidence_never_lowers_the_score_nor_unblocks(base, data):
    number = "+13055550142"
    extra_kind = data.draw(st.sampled_from(["report", "short_call"]))
    when = data.draw(st.integers(at(days=-20), NOW))
    if extra_kind == "report":
        extra = Contribution("report", number, when, data.draw(st.sampled_from(["ext-1", "ext-5", "ext-6"])))
    else:
        extra = Contribution("inbound_call", number, when, "new-call", callee=data.draw(st.sampled_from(EMPLOYEES)))
    before_ev = merge(NumberEvidence(number), base)
    after_ev = merge(before_ev, [extra])
    before = summarise(before_ev, NOW, DEFAULT_POLICY)
    after = summarise(after_ev, NOW, DEFAULT_POLICY)
    assert after.spam_score >= before.spam_score - 1e-9
    d_before = decide(number, {number: before_ev}, ProtectedLists(), from_epoch(NOW))
    d_after = decide(number, {number: after_ev}, ProtectedLists(), from_epoch(NOW))
    if d_before.is_block:
        assert d_after.is_block, (d_before.explanation, d_after.explanation)


# -- the allowlist and own numbers always win ---------------------------------------------------------------

@PROPERTY_SETTINGS
@given(exchange_evidence(min_numbers=3), st.data(), loose_policies)
def test_allowlisted_and_own_numbers_are_never_blocked_nor_covered(evidence, data, policy):
    exchange, contributions = evidence
    numbers = numbers_of(contributions)
    protected = data.draw(st.lists(st.sampled_from(numbers), min_size=1, max_size=3, unique=True))
    as_prefix = data.draw(st.booleans())
    entries = [ListEntry(phone.digits(n)[:-2], is_prefix=True) if as_prefix else ListEntry(n) for n in protected]
    lists = data.draw(st.sampled_from([ProtectedLists.of(allow=entries), ProtectedLists.of(own=entries)]))
    view = view_of(contributions)
    for candidate in numbers:
        decision = decide(candidate, view, lists, from_epoch(NOW), policy)
        covered = lists.allow_entry_for(candidate) or lists.own_entry_for(candidate)
        if covered:
            assert decision.action == "ignore" and decision.evidence["rule"] in ("allowlisted", "own_number")
        if decision.action == "block_prefix":
            for target in decision.targets:
                assert lists.entry_inside(target) is None, (target, decision.explanation)
        if decision.action == "block_number":
            assert not covered


# -- order and redelivery -----------------------------------------------------------------------------------

@PROPERTY_SETTINGS
@given(exchange_evidence(min_numbers=2), st.randoms(use_true_random=False), loose_policies)
def test_the_order_of_events_does_not_change_the_evidence_or_the_decision(evidence, rnd, policy):
    _, contributions = evidence
    shuffled = list(contributions)
    rnd.shuffle(shuffled)
    in_order, reordered = view_of(contributions), view_of(shuffled)
    assert in_order == reordered
    for candidate in numbers_of(contributions):
        assert decision_key(decide(candidate, in_order, ProtectedLists(), from_epoch(NOW), policy)) == \
            decision_key(decide(candidate, reordered, ProtectedLists(), from_epoch(NOW), policy))


@PROPERTY_SETTINGS
@given(exchange_evidence(min_numbers=1), st.data())
def test_a_redelivered_event_changes_nothing(evidence, data):
    _, contributions = evidence
    again = data.draw(st.lists(st.sampled_from(contributions), max_size=len(contributions))) if contributions else []
    once = view_of(contributions)
    twice = view_of(contributions + again)
    assert once == twice
    # and merging the stored record with the same batch again is a no-op (no write)
    for number, evidence_ in once.items():
        assert merge(evidence_, [c for c in contributions if c.number == number]) == evidence_


# -- prefixes -----------------------------------------------------------------------------------------------

@PROPERTY_SETTINGS
@given(exchange_evidence(min_numbers=3), loose_policies)
def test_a_prefix_shorter_than_country_and_area_code_is_never_chosen(evidence, policy):
    _, contributions = evidence
    view = view_of(contributions)
    for candidate in numbers_of(contributions):
        decision = decide(candidate, view, ProtectedLists(), from_epoch(NOW), policy)
        if decision.action == "block_prefix":
            for target in decision.targets:
                assert len(target) >= phone.min_prefix_length(candidate)
                assert target.startswith(phone.digits(candidate)[:phone.min_prefix_length(candidate)])
            assert not phone.is_toll_free(candidate)


@PROPERTY_SETTINGS
@given(exchange_evidence(min_numbers=3), loose_policies)
def test_a_prefix_never_covers_a_recently_legitimate_caller(evidence, policy):
    exchange, contributions = evidence
    legit = f"+{exchange}4242"
    contributions = contributions + [Contribution("outbound_call", legit, NOW - 3600, "callback")]
    view = view_of(contributions)
    for candidate in numbers_of(contributions):
        decision = decide(candidate, view, ProtectedLists(), from_epoch(NOW), policy)
        if decision.action == "block_prefix":
            assert not any(phone.prefix_covers(t, legit) for t in decision.targets), decision.explanation
        if candidate == legit:
            assert not decision.is_block


# -- emergency numbers -----------------------------------------------------------------------------------------

EMERGENCY = st.sampled_from(["911", "112", "999", "988", "411", "+1 911", "1-911", "933", "22222"])


@PROPERTY_SETTINGS
@given(EMERGENCY, st.sampled_from(["call_log", "spam_report", "not_spam"]), st.booleans())
def test_emergency_and_short_codes_never_become_evidence_nor_blocks(code, kind, outbound_call):
    if kind == "call_log":
        log = {"id": "c1", "caller_number": code, "caller_number_type": 2, "callee_number": "+19072121000",
               "direction": "inbound", "duration": 2, "result": "No Answer", "date_time": "2026-11-20T14:00:00Z"}
        if outbound_call:
            log.update(caller_number="+19072121000", caller_number_type=1, callee_number=code, direction="outbound")
        event = parse_ingest_event({"type": "call_log", "call_log": log})
        assert isinstance(event, CallLogEvent)
    else:
        event = parse_ingest_event({"type": kind, "phone_number": code, "reporter": "ext-1",
                                    "reported_at": "2026-11-20T14:00:00Z"})
        assert isinstance(event, SpamReportEvent | NotSpamEvent)
    assert isinstance(contribution_from(event), Ignored)
    decision = decide(code, {}, ProtectedLists(), from_epoch(NOW))
    assert decision.action == "ignore" and decision.evidence["rule"] == "emergency"


# -- not_spam within the cool-down -------------------------------------------------------------------------

@PROPERTY_SETTINGS
@given(exchange_evidence(min_numbers=3), st.data(), loose_policies)
def test_not_spam_within_the_cool_down_always_wins(evidence, data, policy):
    _, contributions = evidence
    numbers = numbers_of(contributions)
    defended = data.draw(st.sampled_from(numbers))
    cooldown_s = int(policy.not_spam_cooldown_days * 86_400)
    said = NOW - data.draw(st.one_of(st.integers(0, cooldown_s - 1), st.integers(cooldown_s - 86_400, cooldown_s - 1)))
    more_spam = [Contribution("report", defended, NOW - 60 * i, f"ext-{20 + i}") for i in range(5)]
    view = view_of(contributions + more_spam + [Contribution("not_spam", defended, said, "ext-99")])
    decision = decide(defended, view, ProtectedLists(), from_epoch(NOW), policy)
    assert decision.action == "ignore" and decision.evidence["rule"] == "not_spam_cooldown"
    # the cool-down runs from the latest not_spam (the generated evidence may hold a later one)
    assert decision.unblock and decision.cooldown_until >= from_epoch(said) + timedelta(days=policy.not_spam_cooldown_days)
    for candidate in numbers:
        other = decide(candidate, view, ProtectedLists(), from_epoch(NOW), policy)
        assert not any(phone.prefix_covers(t, defended) for t in other.targets if other.action == "block_prefix")


def test_loose_policies_are_valid():
    assert isinstance(Policy(range_min_members=(1.0,) * 4), Policy)
