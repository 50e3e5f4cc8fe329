"""Safety rails (DESIGN.md "Safety rails"): why a number or a prefix must not be blocked.

Rails are checked before any score and they always win. Each refusal names its rule and says, in one
sentence, what it found, so that a "why was this not blocked" question has an answer.

Numbers:  emergency and short codes; own numbers; allowlisted numbers or prefixes; not_spam feedback
          within the cool-down.
Prefixes: shorter than country code + area code; toll-free; covering an allowlisted or own entry; covering
          a recently legitimate caller (not_spam, an employee called it, an answered long call).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from spam_blocker.clock import iso
from spam_blocker.domain import phone
from spam_blocker.domain.allowlist import ProtectedLists
from spam_blocker.domain.evidence import DAY_S, NumberSignals, from_epoch, recently_legitimate

if TYPE_CHECKING:
    from spam_blocker.domain.scoring import Policy


@dataclass(frozen=True)
class Refusal:
    rule: str  # emergency | own_number | allowlisted | not_spam_cooldown | too_short | toll_free |
    #            covers_allowlisted | covers_own | covers_legitimate
    detail: str  # one readable sentence
    until: datetime | None = None  # for a cool-down: when it ends


def cooldown_until(signals: NumberSignals, policy: Policy) -> int | None:
    """End of the not_spam cool-down (epoch seconds), if the number ever had not_spam feedback."""
    if signals.not_spam_latest is None:
        return None
    return signals.not_spam_latest + int(policy.not_spam_cooldown_days * DAY_S)


def refuse_number(number: str, lists: ProtectedLists, signals: NumberSignals | None, now_s: int,
                  policy: Policy) -> Refusal | None:
    """Why `number` must never be blocked right now, or None."""
    if phone.is_emergency_or_short(number):
        return Refusal("emergency", f"{number} is an emergency or short code")
    own = lists.own_entry_for(number)
    if own is not None:
        return Refusal("own_number", f"{number} is the account's own number ({own.describe()})")
    allowed = lists.allow_entry_for(number)
    if allowed is not None:
        return Refusal("allowlisted", f"{number} is allowlisted by {allowed.describe()}")
    if signals is not None:
        until = cooldown_until(signals, policy)
        if until is not None and now_s < until:
            return Refusal("not_spam_cooldown",
                           f"{number} had not_spam feedback; cool-down until {iso(from_epoch(until))}",
                           from_epoch(until))
    return None


def refuse_prefix(prefix: str, number: str, lists: ProtectedLists, view: Mapping[str, NumberSignals],
                  now_s: int, policy: Policy) -> Refusal | None:
    """Why a block of `prefix` (digits with country code), found from `number`, must not be made, or None."""
    shortest = phone.min_prefix_length(number)
    if len(prefix) < shortest:
        return Refusal("too_short", f"prefix {prefix} is shorter than country + area code ({shortest} digits)")
    if phone.is_toll_free(number):
        return Refusal("toll_free", f"{number} is toll-free: toll-free numbers are never blocked as a range")
    return prefix_conflict(prefix, lists, view, now_s, policy)


def prefix_conflict(prefix: str, lists: ProtectedLists, view: Mapping[str, NumberSignals], now_s: int,
                    policy: Policy) -> Refusal | None:
    """Why `prefix` would cover something protected (an allowlisted or own entry, a recently legitimate
    caller of `view`), or None. The blocker asks again just before creating a range (RangeGuard)."""
    inside = lists.entry_inside(prefix)
    if inside is not None:
        kind, entry = inside
        rule = "covers_own" if kind == "own" else "covers_allowlisted"
        what = "own number" if kind == "own" else "allowlisted entry"
        return Refusal(rule, f"{prefix} would cover {what} {entry.describe()}")
    for other, signals in sorted(view.items()):
        if not phone.prefix_covers(prefix, other):
            continue
        why = recently_legitimate(signals, now_s, policy)
        if why:
            return Refusal("covers_legitimate", f"{prefix} would cover {other}, a legitimate caller ({why})")
    return None


def protected_within(prefix: str, lists: ProtectedLists, view: Mapping[str, NumberSignals], now_s: int,
                     policy: Policy) -> list[str]:
    """Digits of everything a block of `prefix` must leave out: allowlisted and own entries overlapping it
    (a list prefix as its digits) and recently legitimate callers inside it. Used to tile a refused
    campaign range into the clean prefixes around them."""
    found = []
    for entry in (*lists.allow, *lists.own):
        if entry.overlaps_prefix(prefix):
            found.append(entry.value if entry.is_prefix else phone.digits(entry.value))
    for number, signals in view.items():
        if phone.prefix_covers(prefix, number) and recently_legitimate(signals, now_s, policy):
            found.append(phone.digits(number))
    return sorted(set(found))
