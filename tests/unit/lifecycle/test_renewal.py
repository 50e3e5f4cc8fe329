"""The renewal rule: fresh evidence since the block's last decision renews it; anything legitimate vetoes."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spam_blocker.domain.allowlist import ListEntry, ProtectedLists
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.evidence import Contribution, NumberEvidence, epoch, merge
from spam_blocker.domain.renewal import RenewalPolicy, assess, evidence_exchanges
from spam_blocker.domain.scoring import DEFAULT_POLICY

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)
DECIDED = NOW - timedelta(days=30)
NUMBER = "+19075550123"
KEY = BlockKey("phoneNumber", NUMBER, "inbound")
PREFIX = BlockKey("prefix", "19075551", "inbound")
NO_LISTS = ProtectedLists()


def at(days_ago: float) -> int:
    return epoch(NOW - timedelta(days=days_ago))


def view(*contributions: Contribution) -> dict[str, NumberEvidence]:
    out: dict[str, NumberEvidence] = {}
    for c in contributions:
        out[c.number] = merge(out.get(c.number) or NumberEvidence(c.number), [c])
    return out


def report(number: str, days_ago: float, who: str = "ext-1") -> Contribution:
    return Contribution("report", number, at(days_ago), who)


def call(number: str, days_ago: float, *, duration: int = 3, answered: bool = False, cid: str = "") -> Contribution:
    return Contribution("inbound_call", number, at(days_ago), cid or f"c-{number}-{days_ago}", duration=duration,
                        answered=answered, callee="+14155550100")


def test_a_new_report_since_the_decision_renews_for_another_block_length():
    verdict = assess(KEY, DECIDED, view(report(NUMBER, 3)), NO_LISTS, NOW)
    assert verdict.renew and verdict.expires_at == NOW + timedelta(days=DEFAULT_POLICY.number_block_days)
    assert verdict.explanation.startswith("renewed until 2027-01-19T12:00:00Z: 1 new report since 2026-11-20")
    assert DEFAULT_POLICY.number_block_days == 30
    assert verdict.signals["new_reports"] == 1


def test_reports_from_before_the_decision_or_too_old_do_not_count():
    stale = view(report(NUMBER, 31, "before-the-block"), report(NUMBER, 20, "too-old"))
    verdict = assess(KEY, DECIDED, stale, NO_LISTS, NOW)
    assert not verdict.renew
    assert verdict.explanation.startswith("expired: no fresh evidence since 2026-11-20T12:00:00Z (0 new reports")


def test_a_suspicious_call_from_the_blocked_number_renews_but_an_answered_long_one_vetoes():
    assert assess(KEY, DECIDED, view(call(NUMBER, 2)), NO_LISTS, NOW).renew
    legit = assess(KEY, DECIDED, view(report(NUMBER, 3), call(NUMBER, 2, duration=300, answered=True)), NO_LISTS, NOW)
    assert not legit.renew and "an answered long call" in legit.explanation


def test_prefix_mates_reported_renew_a_number_block_from_two_neighbours_on():
    one = view(report("+19075550150", 1))
    two = view(report("+19075550150", 1), report("+19075550777", 2, "ext-2"))
    assert not assess(KEY, DECIDED, one, NO_LISTS, NOW).renew
    verdict = assess(KEY, DECIDED, two, NO_LISTS, NOW)
    assert verdict.renew and "2 neighbouring numbers reported" in verdict.explanation


def test_neighbours_missed_calls_renew_nothing():
    # In a small town much of the exchange is the company's neighbours: their missed calls are no campaign.
    missed = view(*(call(f"+1907555{2000 + i}", 1) for i in range(6)))
    for key in (KEY, PREFIX):
        verdict = assess(key, DECIDED, missed, NO_LISTS, NOW)
        assert not verdict.renew and verdict.signals["prefix_mates"] == 0


@pytest.mark.parametrize("legit", [
    Contribution("not_spam", NUMBER, at(1), "ext-9"),
    Contribution("outbound_call", NUMBER, at(1), "out-1"),
])
def test_legitimacy_since_the_decision_vetoes_fresh_reports(legit):
    verdict = assess(KEY, DECIDED, view(report(NUMBER, 3), report(NUMBER, 2, "ext-2"), legit), NO_LISTS, NOW)
    assert not verdict.renew and verdict.signals["veto"] == "legitimate"


def test_an_allowlisted_or_own_number_is_never_renewed():
    allow = ProtectedLists.of(allow=[ListEntry(NUMBER)])
    own_inside = ProtectedLists.of(own=[ListEntry("190755512", is_prefix=True)])
    assert "allowlisted" in assess(KEY, DECIDED, view(report(NUMBER, 1)), allow, NOW).explanation
    verdict = assess(PREFIX, DECIDED, view(report("+19075551234", 1)), own_inside, NOW)
    assert not verdict.renew and "own number" in verdict.explanation


def test_a_prefix_block_counts_reports_inside_it_and_neighbours_outside_it():
    inside = view(report("+19075551234", 2), report("+19075551999", 3, "ext-2"))
    verdict = assess(PREFIX, DECIDED, inside, NO_LISTS, NOW)
    assert verdict.renew and verdict.expires_at == NOW + timedelta(days=DEFAULT_POLICY.prefix_block_days) and "2 new reports" in verdict.explanation
    outside = view(report("+19075550001", 1), report("+19075552002", 2))
    assert "2 neighbouring numbers reported" in assess(PREFIX, DECIDED, outside, NO_LISTS, NOW).explanation


def test_evidence_later_than_now_is_not_seen():
    assert not assess(KEY, DECIDED, view(report(NUMBER, -1)), NO_LISTS, NOW).renew


def test_thresholds_come_from_the_policy():
    policy = RenewalPolicy(min_reports=2, number_days=10)
    assert not assess(KEY, DECIDED, view(report(NUMBER, 1)), NO_LISTS, NOW, policy).renew
    verdict = assess(KEY, DECIDED, view(report(NUMBER, 1), report(NUMBER, 2, "ext-2")), NO_LISTS, NOW, policy)
    assert verdict.expires_at == NOW + timedelta(days=10)


def test_evidence_partitions_of_numbers_and_prefixes():
    assert evidence_exchanges(KEY) == ("1907555",)
    assert evidence_exchanges(PREFIX) == ("1907555",)
    assert evidence_exchanges(BlockKey("prefix", "190755", "inbound")) == tuple(f"190755{d}" for d in range(10))
    assert evidence_exchanges(BlockKey("prefix", "1907", "inbound")) == ()  # too wide to assess: never renewed


@given(days=st.lists(st.floats(min_value=-5, max_value=60), max_size=6))
def test_without_anything_after_the_decision_a_block_never_renews(days):
    old = view(*[report(NUMBER, 30 + abs(d), f"r{i}") for i, d in enumerate(days)])
    assert not assess(KEY, DECIDED, old, NO_LISTS, NOW).renew
