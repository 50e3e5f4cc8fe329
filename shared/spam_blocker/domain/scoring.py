"""The product's judgement: `decide(candidate, view, lists, now, policy) -> Decision`.

Pure: no I/O, no clock (`now` is the decision's event time), no AWS. `view` is the stored evidence of the
candidate and of its neighbours (every number in its exchange, when the caller has them); `lists` the
allowlist and own numbers. Order of checks:

1. Safety rails on the number (safety.refuse_number): emergency/short, own, allowlisted, not_spam
   cool-down -> `ignore`, with the rail's reason.
2. A range: the narrowest prefix covering a campaign of several distinct flagged numbers spread over its
   sub-ranges, with human reports and many distinct employees involved (`_find_range`). When the prefix
   rails refuse it because it would cover an own, allowlisted or legitimate number, the range is tiled
   into the widest clean prefixes around those numbers (two levels down, a third where the campaign used
   the block around a protected number; at most `max_range_tiles` of them), or given up -> `block_prefix`
   (`targets` lists every prefix).
3. The number: decayed reports + the robocall pattern - legitimacy >= threshold, with at least one fresh
   human report -> `block_number`; some spam evidence -> `watch`; none -> `ignore`.

Every Decision carries an explanation sentence with the numbers behind it and an evidence dict.
docs/scoring.md explains every knob of `Policy` and how to read an explanation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from spam_blocker.domain import phone
from spam_blocker.domain.allowlist import ProtectedLists
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.evidence import (
    CONVERSATION_S,
    DAY_S,
    Contribution,
    NumberEvidence,
    NumberSignals,
    Retention,
    epoch,
    exchange_of,
    from_epoch,
    member_weight,
    recently_legitimate,
    summarise,
)
from spam_blocker.domain.safety import Refusal, protected_within, refuse_number, refuse_prefix

Action = Literal["block_number", "block_prefix", "watch", "ignore"]
BLOCK_ACTIONS = ("block_number", "block_prefix")
BLOCK_TYPE = "inbound"
REASON_MAX = 1000  # the whole explanation, as a rule: only the Zoom comment is cut (block_state.COMMENT_MAX)


@dataclass(frozen=True)
class Policy:
    """Every threshold, half-life and duration of the scorer, with reasoned defaults (docs/scoring.md).

    Range thresholds are tuples indexed by the prefix's free digits - 1: (10-block, 100-block, 1000-block,
    exchange of 10,000).
    """

    # How fast evidence fades (event time). PhoneBlock's "heat" halves in 14 days; call patterns are a
    # short-window signal (carriers look at hours); legitimacy is a relationship and lasts longer.
    report_half_life_days: float = 14.0
    call_half_life_days: float = 3.0
    legit_half_life_days: float = 30.0

    # What a call means: unanswered or answered for < short_call_s is "short" (a robocall hung up on);
    # answered for >= long_call_s is a conversation.
    short_call_s: int = CONVERSATION_S
    long_call_s: int = 60

    # The robocall pattern: short calls to at least this many distinct employees (decayed), at least this
    # share of its calls short, and nothing legitimate about it. Fan-out alone never blocks a number: it adds
    # pattern_points to a score that also needs a human report.
    pattern_min_callees: float = 2.5
    pattern_min_short_ratio: float = 0.85
    pattern_points: float = 1.0

    # Legitimacy subtracted from a number's score, per (decayed) contribution.
    long_call_legit: float = 0.5
    medium_call_legit: float = 0.1
    outbound_legit: float = 2.0
    not_spam_legit: float = 3.0
    # A number showing the robocall pattern gets at most this much legitimacy from its own answered calls
    # (one conversation's worth): a robocaller whose dozens of hang-ups reached a live agent a few times is
    # not a customer, and without the cap those few transfers outweighed two people's reports. What people
    # do - an employee calling it, not_spam - is never capped.
    pattern_inbound_legit_cap: float = 0.5

    # A single number: score = reports + pattern - legitimacy >= number_block_score, and its reports alone
    # weigh at least number_min_report_weight (one fresh report): two people, or one plus the pattern unless
    # legitimacy (conversations, callbacks, not_spam) brings it below the line.
    number_block_score: float = 1.5
    number_min_report_weight: float = 0.5

    # Safety: not_spam keeps a number (and any range over it) off the list this long; answered long calls,
    # outbound calls and not_spam make a number "recently legitimate" for this long.
    not_spam_cooldown_days: float = 30.0
    legit_window_days: float = 90.0

    # Ranges. A member is a number flagged on its own evidence (pattern, or a report not outweighed by
    # legitimacy) within range_window_days and counts 1; a suspect (only short or unanswered calls, too
    # few for the pattern, nothing legitimate) counts suspect_member_weight. A prefix qualifies with enough
    # member weight, spread over enough of its sub-ranges, reported by at least range_min_reporters
    # people, and with enough independent sources (distinct reporters + distinct employees called).
    range_blocking: bool = True
    range_window_days: float = 7.0
    member_min_report_weight: float = 0.5
    suspect_member_weight: float = 0.5
    range_min_members: tuple[float, float, float, float] = (3, 3, 3, 3)
    range_min_spread: tuple[int, int, int, int] = (3, 3, 2, 2)
    range_min_sources: tuple[int, int, int, int] = (5, 6, 6, 6)
    range_min_reporters: int = 1
    # A range is a campaign only where campaign numbers are most of what calls from it: at most this share
    # of the numbers active in it within range_window_days may be clean (calls, nothing suspicious). A
    # spoofed exchange is mostly spam; the company's own exchange in a small town is mostly neighbours.
    range_max_clean_share: float = 0.6
    # The narrowest qualifying prefix holding this share of the widest one's members is "the campaign".
    range_cover_share: float = 0.8
    # When the campaign's prefix covers a protected number, it is blocked as the clean prefixes around the
    # protected numbers, two levels down (an exchange as 1000- and 100-blocks), at most this many entries at
    # once; beyond that only the clean prefixes holding members (the candidate's first). A block left open
    # around a protected number is tiled one level further (a 100-block as 10-blocks) when at least
    # range_refine_min_members members of the campaign called from it, while the tiles fit.
    max_range_tiles: int = 80
    range_refine_min_members: int = 2

    # How long blocks last, counted from the decision's event time (the expirer renews them while evidence
    # stays fresh). Ranges hold bystanders' numbers, so they are short: a campaign still running trips the
    # range again with its first call after expiry, because its members stay fresh for range_window_days.
    number_block_days: float = 30.0
    # ... unless a single person's report carries it (with the robocall pattern): a reminder line reported once
    # by mistake cannot prove itself while blocked (its calls never reach the log), so that block ends sooner,
    # single_reporter_block_days after the report itself (and at least single_reporter_min_block_days after the
    # decision): a block made on an old report, or again on the report that made one before, is short. A
    # robocaller comes back with its pattern and trips it again while the report is fresh.
    single_reporter_block_days: float = 12.0
    single_reporter_min_block_days: float = 3.0
    prefix_block_days: float = 3.0

    retention: Retention = Retention()

    def __post_init__(self) -> None:
        for name in ("range_min_members", "range_min_spread", "range_min_sources"):
            if len(getattr(self, name)) != 4:
                raise ValueError(f"{name} needs 4 values: 10-block, 100-block, 1000-block, exchange")
        if not 0 < self.range_cover_share <= 1:
            raise ValueError("range_cover_share must be in (0, 1]")
        if not 0 <= self.range_max_clean_share <= 1:
            raise ValueError("range_max_clean_share must be in [0, 1]")
        if min(self.number_block_days, self.single_reporter_block_days, self.single_reporter_min_block_days,
               self.prefix_block_days) <= 0:
            raise ValueError("block durations must be positive")
        if self.short_call_s > self.long_call_s:
            raise ValueError("short_call_s must not exceed long_call_s")
        if self.pattern_inbound_legit_cap < 0:
            raise ValueError("pattern_inbound_legit_cap must not be negative")


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Decision:
    action: Action
    target: str  # E.164 for a number, digits with country code for a prefix
    explanation: str
    evidence: Mapping[str, Any]
    decided_at: datetime
    expires_at: datetime | None = None
    candidate: str = ""  # the number whose event was evaluated
    refusals: tuple[Refusal, ...] = field(default=())
    extra_targets: tuple[str, ...] = ()  # a tiled range: the other clean prefixes of the campaign
    # The candidate must not stay blocked: our blocks covering it are to be lifted (not_spam, an employee
    # called it, a conversation), and kept off until `cooldown_until` after not_spam.
    unblock: bool = False
    cooldown_until: datetime | None = None

    @property
    def is_block(self) -> bool:
        return self.action in BLOCK_ACTIONS

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.target, *self.extra_targets)

    @property
    def block_keys(self) -> list[BlockKey]:
        match_type = self.match_type
        return [BlockKey(match_type, t, BLOCK_TYPE) for t in self.targets] if match_type else []

    @property
    def match_type(self) -> str | None:
        return {"block_number": "phoneNumber", "block_prefix": "prefix"}.get(self.action)

    @property
    def block_key(self) -> BlockKey | None:
        match_type = self.match_type
        return BlockKey(match_type, self.target, BLOCK_TYPE) if match_type else None

    @property
    def reason(self) -> str:
        """The explanation cut to fit a block request's reason (and a Zoom comment)."""
        text = " ".join(self.explanation.split())
        return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"


def covering_keys(match_type: str, target: str, block_type: str = BLOCK_TYPE) -> list[BlockKey]:
    """Every block key that would already block `target`: itself and each shorter prefix (any length a
    person may have used in the portal, from the country code on)."""
    digits = phone.digits(target)
    keys = [BlockKey(match_type, target, block_type)]
    last = len(digits) if match_type == "phoneNumber" else len(digits) - 1
    keys += [BlockKey("prefix", digits[:n], block_type) for n in range(last, 0, -1)]
    return keys


# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PrefixStats:
    prefix: str
    free_digits: int
    members: tuple[str, ...]
    weight: float  # flagged members count 1, suspects suspect_member_weight
    spread: int
    reporters: frozenset[str]
    callees: frozenset[str]
    clean: int = 0  # numbers of the range active within the window with nothing suspicious

    @property
    def sources(self) -> int:
        return len(self.reporters) + len(self.callees)

    @property
    def size(self) -> int:
        return 10**self.free_digits

    def to_evidence(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "range_size": self.size, "members": len(self.members),
                "member_weight": round(self.weight, 1), "sub_ranges": self.spread, "reporters": len(self.reporters), "callees": len(self.callees),
                "clean_numbers": self.clean, "member_numbers": list(self.members[:10])}

    def describe(self) -> str:
        return (f"{len(self.members)} suspicious numbers (weight {self.weight:g}) over {self.spread} sub-ranges, reported by "
                f"{_count(len(self.reporters), 'person', 'people')}, {_count(len(self.callees), 'employee')} called")


@dataclass(frozen=True)
class _RangeFinding:
    prefix: str | None
    explanation: str
    evidence: dict[str, Any]
    refusals: tuple[Refusal, ...] = ()
    extra: tuple[str, ...] = ()


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _size_name(free_digits: int) -> str:
    return f"{10**free_digits:,} numbers"


def _stats(prefix: str, free_digits: int, members: list[tuple[str, str, NumberSignals, float]],
           clean: Sequence[str] = ()) -> _PrefixStats:
    inside = [(n, d, s) for n, d, s, _ in members if d.startswith(prefix)]
    position = len(prefix)
    return _PrefixStats(
        prefix=prefix, free_digits=free_digits, members=tuple(n for n, _, _ in inside),
        weight=sum(w for _, d, _, w in members if d.startswith(prefix)),
        spread=len({d[position] for _, d, _ in inside}),
        reporters=frozenset(r for _, _, s in inside for r in s.reporters),
        callees=frozenset(c for _, _, s in inside for c in s.short_callees),
        clean=sum(1 for d in clean if d.startswith(prefix)),
    )


def _qualifies(stats: _PrefixStats, policy: Policy) -> bool:
    i = stats.free_digits - 1
    return (stats.weight >= policy.range_min_members[i] and stats.spread >= policy.range_min_spread[i]
            and len(stats.reporters) >= policy.range_min_reporters and stats.sources >= policy.range_min_sources[i]
            and stats.clean <= policy.range_max_clean_share * (len(stats.members) + stats.clean))


def _consistent_with_campaign(signals: NumberSignals, now_s: int, policy: Policy) -> bool:
    """The candidate itself behaves like a campaign number: a recent short call or report, nothing legit."""
    return (signals.last_suspicious is not None
            and now_s - signals.last_suspicious <= policy.range_window_days * DAY_S
            and recently_legitimate(signals, now_s, policy) is None
            and signals.report_weight >= signals.legit_score)


def _find_range(candidate: str, cand: NumberSignals, view: Mapping[str, NumberSignals], lists: ProtectedLists,
                now_s: int, policy: Policy) -> _RangeFinding | None:
    if not policy.range_blocking or not _consistent_with_campaign(cand, now_s, policy):
        return None
    digits = phone.digits(candidate)
    shortest = max(len(exchange_of(candidate)), phone.min_prefix_length(candidate))
    weighted = [(n, s, member_weight(s, now_s, policy)) for n, s in view.items()]
    members = [(n, phone.digits(n), s, w) for n, s, w in weighted if w > 0]
    if sum(w for *_, w in members) < min(policy.range_min_members):
        return None
    window = policy.range_window_days * DAY_S
    clean = [phone.digits(n) for n, s, w in weighted
             if w == 0 and s.last_seen is not None and 0 <= now_s - s.last_seen <= window]
    chain = [_stats(digits[:k], len(digits) - k, members, clean) for k in range(shortest, len(digits))]
    qualifying = [s for s in chain if 1 <= s.free_digits <= 4 and _qualifies(s, policy)]
    if not qualifying:
        return None
    widest = qualifying[0]
    campaign = [s for s in qualifying if s.weight >= policy.range_cover_share * widest.weight][-1]
    evidence = {"campaign": campaign.to_evidence()}
    refusal = refuse_prefix(campaign.prefix, candidate, lists, view, now_s, policy)
    if refusal is None:
        covered = f"{len(campaign.members)} of {len(widest.members)}"
        text = (f"block range {campaign.prefix} ({_size_name(campaign.free_digits)}): {campaign.describe()} in "
                f"the last {policy.range_window_days:g} days; narrowest prefix holding {covered} of them")
        return _RangeFinding(campaign.prefix, text, evidence)
    evidence["refused"] = {"prefix": campaign.prefix, "rule": refusal.rule}
    if refusal.rule in ("covers_own", "covers_allowlisted", "covers_legitimate"):
        protected = protected_within(campaign.prefix, lists, view, now_s, policy)
        tiles = _tile_range(campaign.prefix, protected, [d for _, d, *_ in members], len(digits) - 1, policy)
        if tiles:
            mine = [t for t in tiles if digits.startswith(t)]
            ordered = mine + [t for t in tiles if t not in mine]
            evidence["tiles"] = ordered
            evidence["protected"] = len(protected)
            text = (f"block range {campaign.prefix} ({_size_name(campaign.free_digits)}) as {len(tiles)} prefixes "
                    f"around {_count(len(protected), 'protected number')}: {campaign.describe()}; "
                    f"left open around them, as {refusal.detail}")
            return _RangeFinding(ordered[0], text, evidence, (refusal,), tuple(ordered[1:]))
    text = f"range {campaign.prefix} refused: {refusal.detail}"
    return _RangeFinding(None, text, evidence, (refusal,))


def _tile_range(prefix: str, protected: list[str], members: list[str], longest: int, policy: Policy) -> list[str]:
    """The clean prefixes to block for a campaign `prefix` that covers `protected` numbers.

    Two levels down first (an exchange as 1000- and 100-blocks). The blocks left open because they hold a
    protected number are then tiled one level further (a 100-block as 10-blocks) where at least
    range_refine_min_members of the campaign's numbers called from them, busiest first, while the tiles fit
    in max_range_tiles: a campaign spoofing the whole exchange keeps using the 100-blocks around a customer,
    and each of those costs about 9 entries. A block the campaign was not seen in stays open: a business's
    lines sit together, and the neighbours of a known caller are more likely its colleagues than spam."""
    base = min(len(prefix) + 2, longest)
    tiles = _clean_tiles(prefix, protected, base)
    if len(tiles) > policy.max_range_tiles:  # keep the tiles with evidence in them
        return [t for t in tiles if any(d.startswith(t) for d in members)][: policy.max_range_tiles]
    if base >= longest:
        return tiles
    holes = sorted({p[:base] for p in protected if p.startswith(prefix) and len(p) >= base})
    seen = {hole: sum(1 for d in members if d.startswith(hole)) for hole in holes}
    for hole in sorted(holes, key=lambda h: -seen[h]):
        if seen[hole] < policy.range_refine_min_members:
            break
        inner = _clean_tiles(hole, protected, base + 1)
        if len(tiles) + len(inner) <= policy.max_range_tiles:
            tiles += inner
    return tiles


def _clean_tiles(prefix: str, protected: list[str], longest: int) -> list[str]:
    """The widest prefixes under `prefix`, no longer than `longest` digits, that overlap nothing protected."""
    if not any(p.startswith(prefix) or prefix.startswith(p) for p in protected):
        return [prefix]
    if len(prefix) >= longest:
        return []
    return [tile for digit in "0123456789" for tile in _clean_tiles(prefix + digit, protected, longest)]


def _number_evidence(s: NumberSignals) -> dict[str, Any]:
    return {"reporters": len(s.reporters), "report_weight": round(s.report_weight, 2), "calls": s.calls,
            "short_calls": s.short_calls, "short_ratio": round(s.short_ratio, 2),
            "short_callees": len(s.short_callees), "robocall_pattern": s.pattern,
            "long_answered": s.long_answered, "outbound": s.outbound, "legit_score": round(s.legit_score, 2),
            "score": round(s.spam_score, 2)}


def _describe_number(s: NumberSignals, policy: Policy) -> str:
    parts = []
    if s.reporters:
        parts.append(f"reported by {_count(len(s.reporters), 'person', 'people')} (weight {s.report_weight:.1f})")
    if s.short_calls:
        parts.append(f"{_count(s.short_calls, 'short call')} to {_count(len(s.short_callees), 'employee')} "
                     f"({s.short_ratio:.0%} short{', robocall pattern' if s.pattern else ''})")
    legit = []
    if s.long_answered:
        legit.append(_count(s.long_answered, "long answered call"))
    if s.medium_answered:
        legit.append(f"{_count(s.medium_answered, 'call')} listened to")
    if s.outbound:
        legit.append(_count(s.outbound, "call") + " from employees")
    if s.not_spam_latest is not None:
        legit.append("not_spam feedback")
    if legit:
        capped = f", at most {policy.pattern_inbound_legit_cap:g} from answered calls with the robocall pattern" \
            if s.inbound_legit_capped else ""
        parts.append(f"legitimacy {s.legit_score:.1f} ({', '.join(legit)}{capped})")
    return "; ".join(parts) if parts else "no evidence"


def decide(candidate: str, view: Mapping[str, NumberEvidence], lists: ProtectedLists, now: datetime,
           policy: Policy = DEFAULT_POLICY) -> Decision:
    """Decide about `candidate` (E.164) as of `now` (event time). See the module docstring."""
    now_s = epoch(now)
    decided_at = from_epoch(now_s)
    evidence = view.get(candidate) or NumberEvidence(candidate)
    cand = summarise(evidence, now_s, policy)
    number_ev = _number_evidence(cand)

    refusal = refuse_number(candidate, lists, cand, now_s, policy)
    if refusal is not None:
        cooling = refusal.rule == "not_spam_cooldown"
        return Decision("ignore", candidate, f"never block {candidate}: {refusal.detail}",
                        {"rule": refusal.rule, **number_ev}, decided_at, candidate=candidate, refusals=(refusal,),
                        unblock=cooling, cooldown_until=refusal.until if cooling else None)

    found = None
    if policy.range_blocking and _consistent_with_campaign(cand, now_s, policy):
        exchange = exchange_of(candidate)
        neighbours = {n: summarise(e, now_s, policy) for n, e in view.items()
                      if n != candidate and exchange_of(n) == exchange}
        neighbours[candidate] = cand
        found = _find_range(candidate, cand, neighbours, lists, now_s, policy)
    if found is not None and found.prefix is not None:
        expires = decided_at + timedelta(days=policy.prefix_block_days)
        return Decision("block_prefix", found.prefix, found.explanation, {**found.evidence, "candidate": number_ev},
                        decided_at, expires, candidate=candidate, refusals=found.refusals, extra_targets=found.extra)

    number_text = _describe_number(cand, policy)
    range_note = f"; {found.explanation}" if found is not None else ""
    extra = {**found.evidence} if found is not None else {}
    refusals = found.refusals if found is not None else ()
    score = cand.spam_score
    if score >= policy.number_block_score and cand.report_weight >= policy.number_min_report_weight:
        if len(cand.reporters) >= 2:
            expires = decided_at + timedelta(days=policy.number_block_days)
        else:
            assert cand.last_report is not None  # the score needs a fresh report
            expires = max(from_epoch(cand.last_report) + timedelta(days=policy.single_reporter_block_days),
                          decided_at + timedelta(days=policy.single_reporter_min_block_days))
        text = f"block {candidate}: {number_text}; score {score:.1f} >= {policy.number_block_score:g}{range_note}"
        return Decision("block_number", candidate, text, {**number_ev, **extra}, decided_at, expires,
                        candidate=candidate, refusals=refusals)
    legitimate = recently_legitimate(cand, now_s, policy)
    lift = f"; a legitimate caller ({legitimate}): no block of ours stays over it" if legitimate else ""
    if cand.has_spam_evidence or found is not None:
        why = (f"score {score:.1f} < {policy.number_block_score:g}"
               if score < policy.number_block_score else "no fresh human report")
        text = f"watch {candidate}: {number_text}; {why}{range_note}{lift}"
        return Decision("watch", candidate, text, {**number_ev, **extra}, decided_at, candidate=candidate,
                        refusals=refusals, unblock=bool(legitimate))
    text = f"ignore {candidate}: {number_text}{lift}" if cand.calls or cand.outbound else f"ignore {candidate}: no evidence"
    return Decision("ignore", candidate, text, number_ev, decided_at, candidate=candidate, unblock=bool(legitimate))


def lifts_blocks(contribution: Contribution) -> bool:
    """Events after which a `Decision.unblock` is acted on: a person's not_spam, an employee calling the
    number, an answered call from it. (Other events re-decide the same number without new legitimacy.)"""
    return contribution.kind in ("not_spam", "outbound_call") or (
        contribution.kind == "inbound_call" and contribution.answered)
