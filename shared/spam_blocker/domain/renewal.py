"""Renew or expire a due block (pure): is the evidence behind it still fresh?

Calls Zoom blocks vanish from the call logs, so a blocked number going quiet in the logs proves nothing.
Freshness is read from the Evidence table instead, from three signals, each counted only when it happened
after the block's last decision (`decided_at`: its creation or last renewal) and within its window before
`now`:

- new reports         distinct reporters who reported the blocked number (any number inside a prefix
                      block) within `report_days`                              >= `min_reports`
- recent calls        suspicious inbound calls (unanswered, or shorter than `short_call_s`) from the
                      blocked number(s) within `call_days` (webhook deliveries or logs show them when
                      they get through)                                         >= `min_calls`
- prefix-mates        distinct *other* numbers of the same exchange (outside the block) reported within
                      `call_days`: the campaign is still being reported from next door
                                                                                >= `min_prefix_mates`
                      (a neighbour's missed call is no such sign: where much of the exchange is the
                      company's own neighbours, their missed calls kept whole tiles of it blocked)

Vetoes, which always win: the blocked number is allowlisted or one of the account's own numbers (for a
prefix: an allowlisted or own entry falls inside it); or, since the block's last decision, a person said
`not_spam`, an employee called the number, or an answered call of at least `long_call_s` came from it.

Renewed blocks last `number_days` / `prefix_days` more, counted from `now`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import phonenumbers

from spam_blocker.clock import iso
from spam_blocker.domain import phone
from spam_blocker.domain.allowlist import ProtectedLists
from spam_blocker.domain.block_request import BlockKey
from spam_blocker.domain.evidence import DAY_S, NumberEvidence, epoch, exchange_of
from spam_blocker.domain.scoring import DEFAULT_POLICY, Policy

PREFIX = "prefix"
MAX_EXCHANGES = 100  # a prefix spanning more exchanges than this is not assessed (never renewed)


@dataclass(frozen=True)
class RenewalPolicy:
    report_days: float = 14.0
    call_days: float = 7.0
    min_reports: int = 1
    min_calls: int = 1
    min_prefix_mates: int = 2
    number_days: float = DEFAULT_POLICY.number_block_days
    prefix_days: float = DEFAULT_POLICY.prefix_block_days
    short_call_s: int = DEFAULT_POLICY.short_call_s
    long_call_s: int = DEFAULT_POLICY.long_call_s

    def __post_init__(self) -> None:
        if min(self.report_days, self.call_days, self.number_days, self.prefix_days) <= 0:
            raise ValueError("renewal windows and durations must be positive")
        if min(self.min_reports, self.min_calls, self.min_prefix_mates) < 1:
            raise ValueError("renewal thresholds must be at least 1")


DEFAULT_RENEWAL = RenewalPolicy()


def renewal_beside(policy: Policy, **settings: Any) -> RenewalPolicy:
    """The renewal policy deployed beside the scorer's `policy`: renewed blocks last as long as its blocks and
    calls are short or long as it says, unless `settings` (the expirer's own) say otherwise."""
    return replace(DEFAULT_RENEWAL, **{"number_days": policy.number_block_days,
                                       "prefix_days": policy.prefix_block_days,
                                       "short_call_s": policy.short_call_s, "long_call_s": policy.long_call_s,
                                       **settings})


@dataclass(frozen=True)
class Verdict:
    renew: bool
    explanation: str  # one sentence for ops (and the block's updated reason when renewed)
    expires_at: datetime | None = None  # when renewed
    signals: dict[str, Any] = field(default_factory=dict)


def evidence_exchanges(key: BlockKey) -> tuple[str, ...]:
    """The Evidence partitions (exchanges, `evidence.exchange_of`) holding every number a block covers and
    its prefix-mates. Empty when the block is too wide to assess (more than MAX_EXCHANGES)."""
    if key.match_type != PREFIX:
        return (exchange_of(key.phone_number),)
    prefix = key.phone_number
    length = _number_length(prefix)
    if length is None:
        return ()
    exchange_len = length - 4
    if len(prefix) >= exchange_len:
        return (prefix[:exchange_len],)
    missing = exchange_len - len(prefix)
    if 10 ** missing > MAX_EXCHANGES:
        return ()
    return tuple(f"{prefix}{n:0{missing}d}" for n in range(10 ** missing))


def _number_length(prefix: str) -> int | None:
    """Digits of a typical full number starting with `prefix` (country code included): the length of the
    country's example number (NANP: 11). None when the prefix starts with no country code."""
    for n in (1, 2, 3):
        if len(prefix) < n:
            break
        region = phonenumbers.region_code_for_country_code(int(prefix[:n]))
        if region != "ZZ":
            example = phonenumbers.example_number(region)
            return n + len(str(example.national_number)) if example is not None else None
    return None


def _covers(key: BlockKey, number: str) -> bool:
    if key.match_type == PREFIX:
        return phone.prefix_covers(key.phone_number, number)
    return number == key.phone_number


def veto_lists(key: BlockKey, lists: ProtectedLists) -> str | None:
    """Why the allowlist or the own numbers forbid this block (for a prefix: an entry inside it), or None."""
    if key.match_type == PREFIX:
        inside = lists.entry_inside(key.phone_number)
        if inside is not None:
            kind, entry = inside
            return f"{'an own number' if kind == 'own' else 'an allowlisted entry'} ({entry.describe()}) is inside it"
        return None
    own = lists.own_entry_for(key.phone_number)
    if own is not None:
        return f"it is the account's own number ({own.describe()})"
    allowed = lists.allow_entry_for(key.phone_number)
    if allowed is not None:
        return f"it is allowlisted ({allowed.describe()})"
    return None


def _short(duration: int, answered: bool, policy: RenewalPolicy) -> bool:
    return not answered or duration < policy.short_call_s


def assess(key: BlockKey, decided_at: datetime | None, view: Mapping[str, NumberEvidence], lists: ProtectedLists,
           now: datetime, policy: RenewalPolicy = DEFAULT_RENEWAL) -> Verdict:
    """Renew (with the new `expires_at`) or let expire, with the reason in words.

    `view` is the evidence of every number in `evidence_exchanges(key)` (what the store returned); numbers
    outside those exchanges are ignored. Contributions later than `now` are not seen.
    """
    now_s = epoch(now)
    since_s = epoch(decided_at) if decided_at is not None else 0
    report_from = max(since_s, now_s - int(policy.report_days * DAY_S))
    call_from = max(since_s, now_s - int(policy.call_days * DAY_S))
    since_text = iso(decided_at) if decided_at is not None else "the block was made"

    vetoed = veto_lists(key, lists)
    if vetoed:
        return Verdict(False, f"not renewed: {vetoed}", signals={"veto": "protected"})

    reporters: set[str] = set()
    calls = 0
    mates: set[str] = set()
    for number, evidence in sorted(view.items()):
        if not _covers(key, number):
            if any(call_from < t <= now_s for _, t in evidence.reports):
                mates.add(number)
            continue
        legit = _legitimate_since(evidence, since_s, now_s, policy)
        if legit:
            return Verdict(False, f"not renewed: {legit} ({number}) since {since_text}",
                           signals={"veto": "legitimate", "number": number})
        new_reporters = {r for r, t in evidence.reports if report_from < t <= now_s}
        reporters |= {f"{number}|{r}" for r in new_reporters} if key.match_type == PREFIX else new_reporters
        calls += sum(1 for c in evidence.calls if call_from < c.at <= now_s and _short(c.duration, c.answered, policy))

    signals = {"new_reports": len(reporters), "recent_calls": calls, "prefix_mates": len(mates),
               "since": iso(decided_at) if decided_at is not None else None}
    reasons = []
    if len(reporters) >= policy.min_reports:
        reasons.append(_count(len(reporters), "new report"))
    if calls >= policy.min_calls:
        reasons.append(_count(calls, "suspicious call") + " from " + ("inside the range" if key.match_type == PREFIX
                                                                    else "the number"))
    if len(mates) >= policy.min_prefix_mates:
        reasons.append(f"{_count(len(mates), 'neighbouring number')} reported")
    if not reasons:
        return Verdict(False, f"expired: no fresh evidence since {since_text} ({len(reporters)} new reports, "
                              f"{calls} suspicious calls, {len(mates)} neighbours reported)", signals=signals)
    days = policy.prefix_days if key.match_type == PREFIX else policy.number_days
    expires_at = now + timedelta(days=days)
    return Verdict(True, f"renewed until {iso(expires_at)}: {', '.join(reasons)} since {since_text}",
                   expires_at=expires_at, signals=signals)


def _legitimate_since(evidence: NumberEvidence, since_s: int, now_s: int, policy: RenewalPolicy) -> str | None:
    if any(since_s < t <= now_s for _, t in evidence.not_spam):
        return "not_spam feedback"
    if any(since_s < t <= now_s for _, t in evidence.outbound):
        return "an employee called it"
    if any(since_s < c.at <= now_s and c.answered and c.duration >= policy.long_call_s for c in evidence.calls):
        return "an answered long call"
    return None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
