"""Evidence about one caller number: the distinct contributions we store, and the decayed signals read
from them.

What is stored is a set of *distinct contributions*, never counters, so that a redelivered event changes
nothing and the order of events does not matter:

- reports      reporter -> latest report time          (one vote per person, however often they report)
- not_spam     reporter -> latest not_spam time
- calls        call id  -> (time, duration, answered, callee) for inbound calls from the number
- outbound     call id  -> time, for employees calling the number

Each collection keeps only its most recent entries (`Retention`) and nothing older than the retention
horizon measured from the newest contribution of the number. Both rules only ever drop the oldest
entries, so merging the same contributions in any order, any number of times, gives the same record.

Scores are computed at read time (`summarise`) from event times: a contribution's weight halves every
half-life of its kind, counted back from `now`. Contributions later than `now` are not seen, so a
decision "as of" a time only uses what was known by then.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from spam_blocker.domain import phone
from spam_blocker.domain.events import CallLogEvent, InvalidEvent, NotSpamEvent, SpamReportEvent

if TYPE_CHECKING:
    from spam_blocker.domain.scoring import Policy

DAY_S = 86_400

ContributionKind = Literal["report", "not_spam", "inbound_call", "outbound_call"]
# An employee's call to a number is evidence of a relationship only when it became a conversation (as long
# as Policy.short_call_s, its default: an inbound call shorter than that is "short").
CONVERSATION_S = 20

# Zoom call-log `result` and call-history `call_result` values (compared lower-case, `_` as a space) that mean
# a person picked up. Anything else (No Answer, Missed, Voicemail, Rejected, Busy, Blocked, Call Cancel,
# hang_up, system_blocked, ...) is unanswered. Without a result, a duration means answered.
ANSWERED_RESULTS = frozenset({"call connected", "connected", "answered", "auto recorded", "recorded", "succeeded",
                              "accepted", "picked up"})


@dataclass(frozen=True)
class Retention:
    """How much evidence one number keeps. Enough for every threshold in `Policy`, bounded so an item stays
    a few kilobytes however busy the caller is."""

    max_reports: int = 50
    max_not_spam: int = 20
    max_calls: int = 100
    max_outbound: int = 20
    horizon_days: float = 120.0


@dataclass(frozen=True)
class CallRecord:
    call_id: str
    at: int  # event time, epoch seconds
    duration: int
    answered: bool
    callee: str  # who was called (employee number or extension), "" when unknown


@dataclass(frozen=True)
class NumberEvidence:
    """Everything stored about one number. `version` is the store's concurrency token, not evidence."""

    number: str  # E.164
    reports: tuple[tuple[str, int], ...] = ()  # (reporter, latest time), sorted by reporter
    not_spam: tuple[tuple[str, int], ...] = ()
    calls: tuple[CallRecord, ...] = ()  # sorted by (time, call id)
    outbound: tuple[tuple[str, int], ...] = ()  # (call id, time), sorted by call id
    version: int = field(default=0, compare=False)

    @property
    def exchange(self) -> str:
        return exchange_of(self.number)

    @property
    def last_seen(self) -> int | None:
        times = [t for _, t in self.reports] + [t for _, t in self.not_spam] + [t for _, t in self.outbound]
        times += [c.at for c in self.calls]
        return max(times) if times else None

    @property
    def is_empty(self) -> bool:
        return not (self.reports or self.not_spam or self.calls or self.outbound)


@dataclass(frozen=True)
class Contribution:
    """What one valid event adds to the evidence of one number."""

    kind: ContributionKind
    number: str  # E.164 of the external party
    at: int  # event time, epoch seconds
    key: str  # reporter for report/not_spam, call id for calls
    duration: int = 0
    answered: bool = False
    callee: str = ""

    @property
    def is_suspicious(self) -> bool:
        """A report or a call nobody talked to: the kind of event that can start a range evaluation."""
        return self.kind == "report" or self.kind == "inbound_call"


@dataclass(frozen=True)
class Ignored:
    """A valid event that is not evidence (internal caller, emergency or short code, ...)."""

    reason: str


def exchange_of(e164: str) -> str:
    """The number's "exchange": its digits minus the last four (NANP: country code + area code + exchange,
    '+19075550123' -> '1907555'). All evidence for a candidate range lives under this one key."""
    digits = phone.digits(e164)
    return digits[:-4] if len(digits) > 4 else digits


def epoch(when: datetime) -> int:
    return int(when.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# ---------------------------------------------------------------------------------------------------------
# Events -> contributions


def _is_answered(result: str | None, duration: int) -> bool:
    if result is None or not result.strip():
        return duration > 0
    return " ".join(result.replace("_", " ").lower().split()) in ANSWERED_RESULTS


def _call_id(log) -> str:
    if log.id:
        return str(log.id)
    basis = f"{log.caller_number}|{log.callee_number}|{log.date_time.isoformat()}|{log.duration}|{log.direction}"
    return "h:" + hashlib.sha1(basis.encode()).hexdigest()[:20]


def _callee_key(raw: str | None, region: str) -> str:
    """Who was called, as a stable key for counting distinct callees (not validated: it is ours)."""
    if not raw or not raw.strip():
        return ""
    try:
        return phone.normalize(raw, region)
    except phone.InvalidNumber:
        return "".join(ch for ch in raw if ch.isalnum())


# What call logs show for a caller who withheld the number: a valid record, but nothing to block.
ANONYMOUS_CALLERS = frozenset({"anonymous", "restricted", "private", "unknown", "unavailable", "withheld",
                               "private number", "unknown caller", "no caller id", "blocked"})


def _external_number(raw: str, region: str, field_name: str) -> str | Ignored:
    if " ".join(raw.lower().split()) in ANONYMOUS_CALLERS:
        return Ignored(f"{field_name} is withheld ({raw.strip()!r}): no number to block")
    if phone.is_emergency_or_short(raw, region):
        return Ignored(f"{field_name} is an emergency or short code")
    try:
        return phone.normalize(raw, region)
    except phone.InvalidNumber as exc:
        raise InvalidEvent(f"invalid {field_name}: {exc}") from None


def contribution_from(event: CallLogEvent | SpamReportEvent | NotSpamEvent, region: str = "US") -> Contribution | Ignored:
    """Classify one parsed event. Raises InvalidEvent for a number that cannot be normalised.

    Internal callers, emergency and short codes and outbound calls are not evidence of spam: they are
    Ignored, not rejected. An outbound call from an employee to an external number is kept as evidence of
    legitimacy for that number.
    """
    if isinstance(event, CallLogEvent):
        log = event.call_log
        at = epoch(log.date_time)
        direction = (log.direction or "inbound").strip().lower()
        if direction == "outbound":
            if not log.callee_number or log.callee_number_type == 1:
                return Ignored("outbound call to an internal extension")
            if phone.is_emergency_or_short(log.callee_number, region):
                return Ignored("outbound call to an emergency or short code")
            try:
                callee = phone.normalize(log.callee_number, region)
            except phone.InvalidNumber:
                return Ignored("outbound call to an unrecognised number")
            if (log.duration or 0) < CONVERSATION_S:  # unanswered, voicemail hung up, a curious call back to a
                return Ignored(f"outbound call of {log.duration or 0} s: no conversation")  # one-ring scam
            return Contribution("outbound_call", callee, at, _call_id(log))
        if direction != "inbound":
            return Ignored(f"call direction {direction!r} is not scored")
        if log.caller_number_type == 1:
            return Ignored("internal caller")
        number = _external_number(log.caller_number, region, "caller_number")
        if isinstance(number, Ignored):
            return number
        return Contribution(
            "inbound_call", number, at, _call_id(log), duration=max(0, log.duration),
            answered=_is_answered(log.result, log.duration), callee=_callee_key(log.callee_number, region),
        )
    number = _external_number(event.phone_number, region, "phone_number")
    if isinstance(number, Ignored):
        return number
    kind: ContributionKind = "report" if isinstance(event, SpamReportEvent) else "not_spam"
    return Contribution(kind, number, epoch(event.reported_at), event.reporter.strip())


def account_numbers(event: CallLogEvent | SpamReportEvent | NotSpamEvent, region: str = "US") -> tuple[str, ...]:
    """The account's own numbers a call-log record shows: the callee of an inbound call, the caller of an
    outbound one, both sides of an internal one - as E.164, when they are full numbers (an extension is
    not; a side marked external (type 2) is not ours). The scorer protects them as own numbers, so the
    company's numbers are never blocked even when nobody listed them."""
    if not isinstance(event, CallLogEvent):
        return ()
    log = event.call_log
    direction = (log.direction or "inbound").strip().lower()
    sides: list[tuple[str | None, int | None]] = []
    if direction == "outbound":
        sides.append((log.caller_number, log.caller_number_type))
    elif direction == "inbound":
        sides.append((log.callee_number, log.callee_number_type))
        if log.caller_number_type == 1:
            sides.append((log.caller_number, log.caller_number_type))
    numbers = []
    for raw, number_type in sides:
        if not raw or number_type == 2 or phone.is_emergency_or_short(raw, region):
            continue
        try:
            numbers.append(phone.normalize(raw, region))
        except phone.InvalidNumber:
            continue
    return tuple(numbers)


# ---------------------------------------------------------------------------------------------------------
# Merging


def _latest_per_key(entries: Iterable[tuple[str, int]]) -> dict[str, int]:
    latest: dict[str, int] = {}
    for key, at in entries:
        if at > latest.get(key, -math.inf):
            latest[key] = at
    return latest


def _keep_recent_pairs(latest: Mapping[str, int], limit: int, cutoff: int) -> tuple[tuple[str, int], ...]:
    kept = sorted(((at, key) for key, at in latest.items() if at >= cutoff), reverse=True)[:limit]
    return tuple(sorted((key, at) for at, key in kept))


def merge(evidence: NumberEvidence, contributions: Iterable[Contribution],
          retention: Retention = Retention()) -> NumberEvidence:
    """Add contributions to a number's evidence. Idempotent, commutative, bounded (see module docstring).

    Every key keeps its greatest value (reporters their latest time; a call id seen with two different
    records the later one), and every collection its most recent entries: both are "keep the maximum"
    rules, which is what makes the result independent of order and of redelivery.
    """
    reports = _latest_per_key(evidence.reports)
    not_spam = _latest_per_key(evidence.not_spam)
    outbound = dict(evidence.outbound)
    calls = {c.call_id: c for c in evidence.calls}
    for c in contributions:
        if c.number != evidence.number:
            raise ValueError(f"contribution for {c.number} merged into evidence of {evidence.number}")
        if c.kind == "report":
            if c.at > reports.get(c.key, -math.inf):
                reports[c.key] = c.at
        elif c.kind == "not_spam":
            if c.at > not_spam.get(c.key, -math.inf):
                not_spam[c.key] = c.at
        elif c.kind == "outbound_call":
            if c.at > outbound.get(c.key, -math.inf):
                outbound[c.key] = c.at
        else:
            record = CallRecord(c.key, c.at, c.duration, c.answered, c.callee)
            known = calls.get(c.key)
            if known is None or _call_order(record) > _call_order(known):
                calls[c.key] = record
    times = list(reports.values()) + list(not_spam.values()) + list(outbound.values())
    times += [c.at for c in calls.values()]
    if not times:
        return evidence
    cutoff = max(times) - int(retention.horizon_days * DAY_S)
    kept_calls = sorted((c for c in calls.values() if c.at >= cutoff), key=_call_order, reverse=True)
    kept_calls = kept_calls[: retention.max_calls]
    kept_outbound = sorted(((at, key) for key, at in outbound.items() if at >= cutoff), reverse=True)
    return replace(
        evidence,
        reports=_keep_recent_pairs(reports, retention.max_reports, cutoff),
        not_spam=_keep_recent_pairs(not_spam, retention.max_not_spam, cutoff),
        calls=tuple(sorted(kept_calls, key=_call_order)),
        outbound=tuple(sorted((key, at) for at, key in kept_outbound[: retention.max_outbound])),
    )


def _call_order(c: CallRecord) -> tuple:
    return (c.at, c.call_id, c.duration, c.answered, c.callee)


# ---------------------------------------------------------------------------------------------------------
# Reading: decayed signals


def decay(age_s: float, half_life_days: float) -> float:
    """Weight of a contribution `age_s` seconds old: 1 when fresh, halving every half-life."""
    return math.exp2(-age_s / (half_life_days * DAY_S))


@dataclass(frozen=True)
class NumberSignals:
    """A number's evidence as of `now`, decayed. Weights are sums of per-contribution decay factors."""

    number: str
    reporters: tuple[str, ...]  # distinct reporters whose report still counts (not retracted by their not_spam)
    report_weight: float
    not_spam_latest: int | None
    not_spam_weight: float
    calls: int  # inbound calls seen (within the horizon)
    short_calls: int  # unanswered, or answered for less than short_call_s
    short_ratio: float  # decayed share of short calls among inbound calls
    short_callees: tuple[str, ...]  # distinct employees who got a short call
    short_callee_weight: float  # decayed distinct callees of short calls
    long_answered: int
    medium_answered: int
    last_long_answered: int | None
    outbound: int
    last_outbound: int | None
    legit_score: float
    pattern: bool  # robocall pattern: short calls fanned out over several employees
    spam_score: float
    last_suspicious: int | None  # latest report or short call
    last_seen: int | None
    last_report: int | None = None  # latest report that still counts
    inbound_legit_capped: bool = False  # the pattern capped the legitimacy of its answered calls

    @property
    def has_spam_evidence(self) -> bool:
        return self.report_weight > 0 or self.short_calls > 0


def summarise(evidence: NumberEvidence, now: datetime | int, policy: Policy) -> NumberSignals:
    """Decayed signals of one number as of `now` (contributions after `now` or beyond the horizon unseen)."""
    now_s = now if isinstance(now, int) else epoch(now)
    oldest = now_s - int(policy.retention.horizon_days * DAY_S)
    rep_h, call_h, legit_h = policy.report_half_life_days, policy.call_half_life_days, policy.legit_half_life_days

    not_spam_by = {r: t for r, t in evidence.not_spam if oldest <= t <= now_s}
    not_spam_latest = max(not_spam_by.values(), default=None)
    not_spam_weight = sum(decay(now_s - t, legit_h) for t in not_spam_by.values())

    reporters: list[str] = []
    report_weight = 0.0
    last_report: int | None = None
    last_suspicious: int | None = None
    last_seen: int | None = not_spam_latest
    for reporter, t in evidence.reports:
        if not oldest <= t <= now_s:
            continue
        last_seen = t if last_seen is None or t > last_seen else last_seen
        if not_spam_by.get(reporter, -1) >= t:
            continue  # the same person said "not spam" afterwards: their report no longer counts
        reporters.append(reporter)
        report_weight += decay(now_s - t, rep_h)
        last_report = t if last_report is None or t > last_report else last_report
        last_suspicious = t if last_suspicious is None or t > last_suspicious else last_suspicious

    calls = short_calls = long_answered = medium_answered = 0
    total_w = short_w = long_w = medium_w = 0.0
    last_long: int | None = None
    callee_w: dict[str, float] = {}
    for c in evidence.calls:
        if not oldest <= c.at <= now_s:
            continue
        calls += 1
        age = now_s - c.at
        w = decay(age, call_h)
        total_w += w
        last_seen = c.at if last_seen is None or c.at > last_seen else last_seen
        if not c.answered or c.duration < policy.short_call_s:
            short_calls += 1
            short_w += w
            if c.callee and w > callee_w.get(c.callee, 0.0):
                callee_w[c.callee] = w
            last_suspicious = c.at if last_suspicious is None or c.at > last_suspicious else last_suspicious
        elif c.duration >= policy.long_call_s:
            long_answered += 1
            long_w += decay(age, legit_h)
            last_long = c.at if last_long is None or c.at > last_long else last_long
        else:
            medium_answered += 1
            medium_w += decay(age, legit_h)

    outbound = 0
    outbound_w = 0.0
    last_outbound: int | None = None
    for _, t in evidence.outbound:
        if not oldest <= t <= now_s:
            continue
        outbound += 1
        outbound_w += decay(now_s - t, legit_h)
        last_outbound = t if last_outbound is None or t > last_outbound else last_outbound
        last_seen = t if last_seen is None or t > last_seen else last_seen

    short_ratio = short_w / total_w if total_w > 0 else 0.0
    short_callee_weight = sum(callee_w.values())
    # The pattern is call behaviour only; what speaks for the number (conversations, employees calling it,
    # not_spam) is subtracted as legitimacy, and makes it a legitimate caller for the range rails.
    pattern = short_callee_weight >= policy.pattern_min_callees and short_ratio >= policy.pattern_min_short_ratio
    answered_legit = long_w * policy.long_call_legit + medium_w * policy.medium_call_legit
    capped = pattern and answered_legit > policy.pattern_inbound_legit_cap
    if capped:
        answered_legit = policy.pattern_inbound_legit_cap
    legit = answered_legit + outbound_w * policy.outbound_legit + not_spam_weight * policy.not_spam_legit
    spam_score = report_weight + (policy.pattern_points if pattern else 0.0) - legit
    return NumberSignals(
        number=evidence.number, reporters=tuple(reporters), report_weight=report_weight,
        not_spam_latest=not_spam_latest, not_spam_weight=not_spam_weight, calls=calls, short_calls=short_calls,
        short_ratio=short_ratio, short_callees=tuple(sorted(callee_w)), short_callee_weight=short_callee_weight,
        long_answered=long_answered, medium_answered=medium_answered, last_long_answered=last_long,
        outbound=outbound, last_outbound=last_outbound, legit_score=legit, pattern=pattern,
        spam_score=spam_score, last_suspicious=last_suspicious, last_seen=last_seen, last_report=last_report,
        inbound_legit_capped=capped,
    )


def recently_legitimate(signals: NumberSignals, now_s: int, policy: Policy) -> str | None:
    """Why a number counts as a recently legitimate caller (which no range may cover), or None.

    not_spam from a person or an employee calling the number out always counts. An answered long call
    counts unless the number shows the robocall pattern or its own spam reports outweigh its legitimacy
    (a robocall that reached a live agent once is not a customer).
    """
    window = int(policy.legit_window_days * DAY_S)
    if signals.not_spam_latest is not None and now_s - signals.not_spam_latest <= window:
        return "not_spam feedback"
    if signals.last_outbound is not None and now_s - signals.last_outbound <= window:
        return "an employee called it"
    if (signals.last_long_answered is not None and now_s - signals.last_long_answered <= window
            and not signals.pattern and signals.legit_score > signals.report_weight):
        return "an answered long call"
    return None


def member_weight(signals: NumberSignals, now_s: int, policy: Policy) -> float:
    """How much a number counts as a member of a campaign range (0 when it does not).

    1 (flagged): recent spam evidence of its own - the robocall pattern, or reports not outweighed by
    legitimacy. policy.suspect_member_weight (a suspect): recent calls that were all short or unanswered
    and nothing legitimate, but too few for the pattern - what a number rotated after one or two calls
    leaves behind. Recently legitimate numbers never count.
    """
    if signals.last_suspicious is None or now_s - signals.last_suspicious > policy.range_window_days * DAY_S:
        return 0.0
    if recently_legitimate(signals, now_s, policy):
        return 0.0
    if signals.pattern or (signals.report_weight >= policy.member_min_report_weight
                           and signals.report_weight > signals.legit_score):
        return 1.0
    if signals.short_calls and signals.short_ratio >= policy.pattern_min_short_ratio and signals.legit_score == 0:
        return policy.suspect_member_weight
    return 0.0
