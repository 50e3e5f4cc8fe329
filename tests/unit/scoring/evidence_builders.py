"""Contributions and evidence views for scoring tests, built the way events would build them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from spam_blocker.domain.evidence import Contribution, NumberEvidence, epoch, merge

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
EMPLOYEES = [f"+1907212{1000 + i}" for i in range(40)]
_serial = iter(range(10**9))


def at(minutes: float = 0, *, days: float = 0) -> int:
    return epoch(T0 + timedelta(minutes=minutes, days=days))


def call(number: str, when: int, callee: str, *, duration: int = 0, answered: bool = False,
         call_id: str | None = None) -> Contribution:
    return Contribution("inbound_call", number, when, call_id or f"call-{next(_serial)}", duration=duration,
                        answered=answered, callee=callee)


def report(number: str, when: int, reporter: str) -> Contribution:
    return Contribution("report", number, when, reporter)


def not_spam(number: str, when: int, reporter: str) -> Contribution:
    return Contribution("not_spam", number, when, reporter)


def outbound(number: str, when: int, call_id: str | None = None) -> Contribution:
    return Contribution("outbound_call", number, when, call_id or f"out-{next(_serial)}")


def robocalls(number: str, start: int, callees: int, *, first_callee: int = 0, answered_every: int = 0,
              duration: int = 4) -> list[Contribution]:
    """Short calls to `callees` distinct employees a minute apart (every n-th answered and hung up on)."""
    return [call(number, start + 60 * i, EMPLOYEES[(first_callee + i) % len(EMPLOYEES)],
                 answered=bool(answered_every) and i % answered_every == 0,
                 duration=duration if answered_every and i % answered_every == 0 else 0)
            for i in range(callees)]


def conversation(number: str, when: int, callee: str = EMPLOYEES[0], duration: int = 300) -> Contribution:
    return call(number, when, callee, duration=duration, answered=True)


def view_of(contributions: Iterable[Contribution]) -> dict[str, NumberEvidence]:
    """Every number's evidence after merging the contributions (in the order given)."""
    grouped: dict[str, list[Contribution]] = {}
    for c in contributions:
        grouped.setdefault(c.number, []).append(c)
    return {n: merge(NumberEvidence(n), cs) for n, cs in grouped.items()}


def campaign(exchange: str, lines: Iterable[str], start: int, *, calls_each: int = 4,
             reporters: Iterable[str] = ("ext-1",)) -> list[Contribution]:
    """Rotating numbers `+<exchange><line>` each sweeping `calls_each` employees; the first number reported."""
    out: list[Contribution] = []
    for i, line in enumerate(lines):
        number = f"+{exchange}{line}"
        out += robocalls(number, start + 600 * i, calls_each, first_callee=5 * i)
        if i == 0:
            out += [report(number, start + 600 * i + 300 + j, r) for j, r in enumerate(reporters)]
    return out
