"""Seeded, labelled synthetic traffic for one small company over days, as IngestQueue contract events.

    scenario = generate(seed=7, days=14)
    scenario.events        # list of contract event dicts, in event-time order
    scenario.labels        # one EventLabel per event: where it came from, spam or not, the call behind a report
    scenario.own_numbers   # the company's numbers (E.164), for the own-numbers list
    scenario.sources       # name -> Source: every caller population, with its numbers and shape

Who calls (each population's shape is drawn from ranges per seed, so no two seeds look alike):

- customers        mostly the company's area code, a few in its own exchange; answered, minutes long;
                   employees call them back (outbound)
- one-off callers  new numbers every day (deliveries, candidates, wrong numbers): legitimate, rarely repeat
- pharmacy         a reminder service calling many employees with short calls, answered sometimes
- bank             a fraud-alert line (one local number, one toll-free) calling card holders in bursts;
                   answered sometimes, called back sometimes
- robocallers      fixed numbers sweeping a few employees most days, short calls, hung up on
- campaigns        rotating numbers inside one range: neighbour spoofing in the company's own exchange,
                   another exchange, or a 1000-block; a number makes from one call to about a dozen
                   before it is dropped
- internal calls   extension to extension (caller_number_type 1)
- emergency        calls to 911/988 and a 911 callback
- reports          employees report spam calls they answered, sparsely; some report legitimate short
                   calls by mistake, and a colleague may answer with not_spam
- malformed        a few bodies that break the contract (bad number, missing field, zone-less time,
                   unknown type)

Calls that a block would stop never reach the call log; the evaluator (evaluate.py) drops them, and the
reports they would have caused, as it replays.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
_AREA_CODES = ("907", "415", "312", "206", "512", "617", "303", "404", "702", "801", "919", "971")
_OTHER_AREA_CODES = ("212", "305", "213", "469", "602", "786", "832", "347", "646", "702", "561", "727")
_TOLL_FREE = ("800", "888", "877", "866", "855")


@dataclass(frozen=True)
class TrafficShape:
    """The knobs of a company's traffic. `generate` draws per-source values inside these ranges."""

    employees: tuple[int, int] = (25, 60)
    customers_per_employee: tuple[float, float] = (3.0, 6.0)
    customer_calls_per_day: tuple[float, float] = (0.08, 0.2)  # per customer, business days
    customers_in_own_exchange: float = 0.01  # a rate centre has ~100 exchanges; most customers are mobile
    one_offs_in_own_exchange: float = 0.006
    one_off_calls_per_day: tuple[int, int] = (4, 12)
    internal_calls_per_employee_day: float = 1.0
    robocallers: tuple[int, int] = (1, 4)
    campaigns: tuple[int, int] = (2, 4)
    campaign_days: tuple[int, int] = (2, 8)
    campaign_calls_per_day: tuple[int, int] = (10, 45)
    calls_per_number: tuple[float, float] = (1.0, 12.0)  # mean calls to this company per campaign number
    campaign_scopes: tuple[str, ...] = ("own_exchange", "exchange", "thousand_block")
    spam_answer_rate: tuple[float, float] = (0.2, 0.45)
    report_rate: tuple[float, float] = (0.08, 0.3)  # P(an employee reports a spam call they answered)
    voicemail_report_rate: float = 0.02  # P(a report after an unanswered spam call)
    mistaken_report_rate: float = 0.01  # P(a report on an answered legitimate short call)
    not_spam_after_mistake: float = 0.5
    malformed_rate: float = 0.004
    written_form_variety: float = 0.2  # share of numbers written other than E.164
    business_hours_utc: tuple[int, int] = (14, 23)  # 8:00-17:00 at UTC-6


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # customer | one_off | pharmacy | bank | robocaller | campaign | employee | emergency | malformed
    spam: bool
    numbers: tuple[str, ...] = ()
    scope: str = ""  # campaigns: own_exchange | exchange | thousand_block
    prefix: str = ""  # campaigns: the range its numbers come from (digits)
    active_from: datetime | None = None
    active_to: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventLabel:
    kind: str  # inbound_call | outbound_call | internal_call | spam_report | not_spam | malformed
    source: str  # Source.name
    spam: bool  # from a spam source (a mistaken report on a legitimate number is not spam)
    number: str | None = None  # the external party (E.164)
    call_id: str | None = None  # calls: its id; reports: the call that prompted it, if any
    prompted_by: str | None = None  # call backs and not_spam: the inbound call without which they never happen


@dataclass
class Scenario:
    """`events` run from `history_start` to `end`; the days before `start` are history (what a backfill
    of call logs gives the scorer before blocking is switched on), the days after it are measured."""

    seed: int
    start: datetime
    end: datetime
    events: list[dict[str, Any]]
    labels: list[EventLabel]
    own_numbers: list[str]
    employees: list[str]
    sources: dict[str, Source]
    region: str = "US"
    history_start: datetime | None = None

    def __len__(self) -> int:
        return len(self.events)

    def jsonl(self) -> str:
        return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in self.events)

    def own_numbers_text(self) -> str:
        return "# the company's numbers\n" + "".join(f"{n}\n" for n in self.own_numbers)

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for label in self.labels:
            result[label.kind] = result.get(label.kind, 0) + 1
        return result


# ---------------------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, seed: int, start: datetime, days: int, shape: TrafficShape) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.start = start
        self.days = days
        self.shape = shape
        self.items: list[tuple[datetime, int, dict[str, Any], EventLabel]] = []
        self.sources: dict[str, Source] = {}
        self._serial = 0
        self._used: set[str] = set()

    # -- helpers ------------------------------------------------------------------------------------------

    def uniform(self, bounds: tuple[float, float]) -> float:
        return self.rng.uniform(*bounds)

    def randint(self, bounds: tuple[int, int]) -> int:
        return self.rng.randint(*bounds)

    def call_id(self) -> str:
        self._serial += 1
        return f"{self.seed:x}{self._serial:07d}{self.rng.getrandbits(24):06x}"

    def business_time(self, day: int, spread: tuple[int, int] | None = None) -> datetime:
        lo, hi = spread or self.shape.business_hours_utc
        return self.start + timedelta(days=day, hours=lo, seconds=self.rng.uniform(0, (hi - lo) * 3600))

    def is_business_day(self, day: int) -> bool:
        return (self.start + timedelta(days=day)).weekday() < 5

    def fresh_number(self, npa: str, nxx: str | None = None, line_prefix: str = "") -> str:
        for _ in range(1000):
            exchange = nxx or f"{self.rng.randint(2, 9)}{self.rng.randint(0, 9)}{self.rng.randint(0, 9)}"
            if exchange[1:] == "11":
                continue
            rest = "".join(str(self.rng.randint(0, 9)) for _ in range(4 - len(line_prefix)))
            number = f"+1{npa}{exchange}{line_prefix}{rest}"
            if number not in self._used:
                self._used.add(number)
                return number
        raise RuntimeError("number space exhausted")

    def written(self, e164: str) -> str:
        """Some numbers arrive in other common written forms (normalised by the scorer)."""
        if self.rng.random() >= self.shape.written_form_variety or not e164.startswith("+1"):
            return e164
        d = e164[2:]
        return self.rng.choice([f"+1 ({d[:3]}) {d[3:6]}-{d[6:]}", f"1{d}", f"{d[:3]}-{d[3:6]}-{d[6:]}",
                                f"({d[:3]}) {d[3:6]} {d[6:]}"])

    def add(self, when: datetime, event: dict[str, Any], label: EventLabel) -> None:
        self.items.append((when, len(self.items), event, label))

    def inbound(self, when: datetime, caller: str, employee: tuple[str, str], *, answered: bool, duration: int,
                source: Source, result: str | None = None) -> str:
        call_id = self.call_id()
        result = result or ("Call connected" if answered else self.rng.choice(["No Answer", "Missed", "Voicemail"]))
        event = {"type": "call_log", "call_log": {
            "id": call_id, "caller_number": self.written(caller), "caller_number_type": 2,
            "callee_number": employee[1], "callee_number_type": 1, "callee_ext": employee[0],
            "direction": "inbound", "duration": duration if answered or result == "Voicemail" else 0,
            "result": result, "date_time": _iso(when)}}
        self.add(when, event, EventLabel("inbound_call", source.name, source.spam, caller, call_id))
        return call_id

    def outbound(self, when: datetime, employee: tuple[str, str], callee: str, duration: int, source: Source,
                 prompted_by: str | None = None) -> None:
        call_id = self.call_id()
        event = {"type": "call_log", "call_log": {
            "id": call_id, "caller_number": employee[1], "caller_number_type": 1, "callee_number": self.written(callee),
            "callee_number_type": 2, "direction": "outbound", "duration": duration,
            "result": "Call connected" if duration else "No Answer", "date_time": _iso(when)}}
        self.add(when, event, EventLabel("outbound_call", source.name, False, callee, call_id, prompted_by))

    def report(self, when: datetime, number: str, employee: tuple[str, str], source: Source, call_id: str | None,
               reason: str = "robocall") -> None:
        event = {"type": "spam_report", "phone_number": self.written(number), "reporter": employee[0],
                 "reported_at": _iso(when), "reason": reason}
        self.add(when, event, EventLabel("spam_report", source.name, source.spam, number, call_id))

    def not_spam(self, when: datetime, number: str, employee: tuple[str, str], source: Source,
                 prompted_by: str | None = None) -> None:
        event = {"type": "not_spam", "phone_number": self.written(number), "reporter": employee[0],
                 "reported_at": _iso(when), "reason": "known caller"}
        self.add(when, event, EventLabel("not_spam", source.name, False, number, prompted_by=prompted_by))

    def legit_reaction(self, when: datetime, number: str, callee: tuple[str, str], employees: list,
                       source: Source, call_id: str) -> None:
        """An answered legitimate short call is sometimes reported by mistake, and then often defended."""
        if self.rng.random() < self.shape.mistaken_report_rate:
            at = when + timedelta(minutes=self.rng.uniform(1, 30))
            self.report(at, number, callee, source, call_id, reason="thought it was spam")
            if self.rng.random() < self.shape.not_spam_after_mistake:
                other = self.rng.choice([e for e in employees if e != callee] or employees)
                self.not_spam(at + timedelta(hours=self.rng.uniform(0.5, 30)), number, other, source, call_id)

    def spam_reaction(self, when: datetime, number: str, callee: tuple[str, str], answered: bool,
                      report_rate: float, source: Source, call_id: str) -> None:
        rate = report_rate if answered else self.shape.voicemail_report_rate
        if self.rng.random() < rate:
            at = when + timedelta(minutes=self.rng.uniform(0.5, 45))
            self.report(at, number, callee, source, call_id, reason=self.rng.choice(["robocall", "scam", "spam"]))

    def spam_duration(self, answered: bool) -> int:
        if not answered:
            return 0
        roll = self.rng.random()
        if roll < 0.8:
            return self.rng.randint(1, 15)
        if roll < 0.97:
            return self.rng.randint(16, 50)
        return self.rng.randint(60, 400)  # "press 1" reached a live agent

    def source(self, src: Source) -> Source:
        self.sources[src.name] = src
        return src


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


# ---------------------------------------------------------------------------------------------------------


def generate(seed: int, days: int = 14, start: datetime = DEFAULT_START, shape: TrafficShape | None = None,
             *, history_days: int = 0, region: str = "US") -> Scenario:
    """Labelled traffic for one company over `days` days from `start`, in event-time order, preceded by
    `history_days` days of the same traffic (Scenario.history_start)."""
    shape = shape or TrafficShape()
    first = start - timedelta(days=history_days)
    b = _Builder(seed, first, days + history_days, shape)
    rng = b.rng
    npa = rng.choice(_AREA_CODES)
    own_nxx = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(2, 9)}"
    block = rng.randint(0, 8)
    n_employees = b.randint(shape.employees)
    if n_employees > 899:
        raise ValueError("a company's numbers are one thousands-block: at most 899 employees")
    employees = [(f"ext-{1001 + i}", f"+1{npa}{own_nxx}{block}{100 + i:03d}") for i in range(n_employees)]
    own_numbers = sorted({e[1] for e in employees} | {f"+1{npa}{own_nxx}{block}000"})
    b._used.update(own_numbers)
    company = b.source(Source("company", "employee", False, tuple(own_numbers), prefix=f"1{npa}{own_nxx}"))

    _customers(b, npa, own_nxx, employees, company)
    _one_offs(b, npa, own_nxx, employees)
    _pharmacy(b, npa, employees)
    _bank(b, employees)
    _robocallers(b, npa, employees)
    _campaigns(b, npa, own_nxx, employees)
    _internal_and_emergency(b, employees, company)
    _malformed(b)

    end = start + timedelta(days=days)
    b.items = [item for item in b.items if first <= item[0] < end]
    b.items.sort(key=lambda item: (item[0], item[1]))
    return Scenario(seed=seed, start=start, end=end, events=[i[2] for i in b.items], labels=[i[3] for i in b.items],
                    own_numbers=own_numbers, employees=[e[0] for e in employees], sources=b.sources, region=region,
                    history_start=first)


def _customers(b: _Builder, npa: str, own_nxx: str, employees: list, company: Source) -> None:
    rng, shape = b.rng, b.shape
    count = int(len(employees) * b.uniform(shape.customers_per_employee))
    numbers = []
    for _ in range(count):
        roll = rng.random()
        if roll < shape.customers_in_own_exchange:
            numbers.append(b.fresh_number(npa, own_nxx))
        elif roll < 0.8:
            numbers.append(b.fresh_number(npa))
        else:
            numbers.append(b.fresh_number(rng.choice(_OTHER_AREA_CODES)))
    src = b.source(Source("customers", "customer", False, tuple(numbers)))
    for number in numbers:
        rate = b.uniform(shape.customer_calls_per_day)
        owner = rng.choice(employees)
        for day in range(b.days):
            if not b.is_business_day(day):
                continue
            for _ in range(_poisson(rng, rate)):
                when = b.business_time(day)
                callee = owner if rng.random() < 0.7 else rng.choice(employees)
                answered = rng.random() < 0.85
                duration = int(rng.lognormvariate(math.log(240), 0.8)) if answered else rng.randint(0, 40)
                if answered and rng.random() < 0.1:
                    duration = rng.randint(20, 59)
                b.inbound(when, number, callee, answered=answered, duration=duration, source=src)
            for _ in range(_poisson(rng, rate * 0.7)):
                b.outbound(b.business_time(day), owner, number, int(rng.lognormvariate(math.log(180), 0.9)), src)


def _one_offs(b: _Builder, npa: str, own_nxx: str, employees: list) -> None:
    rng = b.rng
    src = b.source(Source("one_off", "one_off", False))
    numbers = []
    for day in range(b.days):
        per_day = b.randint(b.shape.one_off_calls_per_day) // (1 if b.is_business_day(day) else 4)
        for _ in range(per_day):
            roll = rng.random()
            area = npa if roll < 0.6 else rng.choice(_OTHER_AREA_CODES)
            number = b.fresh_number(area, own_nxx if roll < b.shape.one_offs_in_own_exchange else None)
            numbers.append(number)
            callee = rng.choice(employees)
            when = b.business_time(day)
            answered = rng.random() < 0.75
            duration = rng.randint(20, 600) if answered else 0
            call_id = b.inbound(when, number, callee, answered=answered, duration=duration, source=src)
            if answered and duration < 60:
                b.legit_reaction(when, number, callee, employees, src, call_id)
    b.sources["one_off"] = replace(src, numbers=tuple(numbers))


def _pharmacy(b: _Builder, npa: str, employees: list) -> None:
    rng = b.rng
    number = b.fresh_number(npa)
    patients = rng.sample(employees, max(3, int(len(employees) * rng.uniform(0.3, 0.6))))
    answer_rate = rng.uniform(0.3, 0.6)
    src = b.source(Source("pharmacy", "pharmacy", False, (number,), details={"patients": len(patients)}))
    for patient in patients:
        day = rng.randint(0, 9)
        while day < b.days:
            when = b.business_time(day, (15, 17))  # reminder runs in the morning
            answered = rng.random() < answer_rate
            duration = rng.randint(8, 45) if answered else rng.randint(0, 30)
            call_id = b.inbound(when, number, patient, answered=answered, duration=duration, source=src,
                                result=None if answered else rng.choice(["No Answer", "Voicemail"]))
            if answered:
                b.legit_reaction(when, number, patient, employees, src, call_id)
            elif rng.random() < 0.2:  # a patient calls the pharmacy back
                b.outbound(when + timedelta(hours=rng.uniform(1, 6)), patient, number, rng.randint(60, 300), src,
                           call_id)
            day += rng.randint(5, 12)


def _bank(b: _Builder, employees: list) -> None:
    rng = b.rng
    local = b.fresh_number(rng.choice(_OTHER_AREA_CODES))
    toll_free = b.fresh_number(rng.choice(_TOLL_FREE))
    holders = rng.sample(employees, max(3, int(len(employees) * rng.uniform(0.3, 0.7))))
    src = b.source(Source("bank", "bank", False, (local, toll_free), details={"card_holders": len(holders)}))
    for day in range(b.days):
        if not b.is_business_day(day) or rng.random() > 0.5:
            continue
        number = local if rng.random() < 0.6 else toll_free
        burst = rng.sample(holders, min(len(holders), rng.randint(2, 10)))
        when = b.business_time(day)
        for holder in burst:
            when += timedelta(seconds=rng.uniform(20, 200))
            answered = rng.random() < rng.uniform(0.3, 0.6)
            duration = rng.randint(10, 120) if answered else 0
            call_id = b.inbound(when, number, holder, answered=answered, duration=duration, source=src)
            if answered:
                b.legit_reaction(when, number, holder, employees, src, call_id)
            if rng.random() < 0.15:
                b.outbound(when + timedelta(minutes=rng.uniform(5, 240)), holder, number, rng.randint(60, 600), src,
                           call_id)


def _robocallers(b: _Builder, npa: str, employees: list) -> None:
    rng = b.rng
    for i in range(b.randint(b.shape.robocallers)):
        roll = rng.random()
        area = rng.choice(_TOLL_FREE) if roll < 0.15 else (npa if roll < 0.5 else rng.choice(_OTHER_AREA_CODES))
        number = b.fresh_number(area)
        first = rng.randint(0, max(0, b.days - 3))
        last = min(b.days - 1, first + rng.randint(3, b.days))
        answer_rate, report_rate = b.uniform(b.shape.spam_answer_rate), b.uniform(b.shape.report_rate)
        src = b.source(Source(f"robocaller-{i + 1}", "robocaller", True, (number,),
                              active_from=b.start + timedelta(days=first), active_to=b.start + timedelta(days=last + 1),
                              details={"answer_rate": round(answer_rate, 2), "report_rate": round(report_rate, 2)}))
        for day in range(first, last + 1):
            if rng.random() > 0.7:
                continue
            when = b.business_time(day)
            for callee in rng.sample(employees, min(len(employees), rng.randint(2, 8))):
                when += timedelta(seconds=rng.uniform(15, 120))
                answered = rng.random() < answer_rate
                call_id = b.inbound(when, number, callee, answered=answered, duration=b.spam_duration(answered),
                                    source=src)
                b.spam_reaction(when, number, callee, answered, report_rate, src, call_id)


def _campaigns(b: _Builder, npa: str, own_nxx: str, employees: list) -> None:
    rng, shape = b.rng, b.shape
    for i in range(b.randint(shape.campaigns)):
        scope = rng.choice(shape.campaign_scopes)
        if scope == "own_exchange":
            area, nxx, lead = npa, own_nxx, ""
        elif scope == "exchange":
            area, nxx, lead = rng.choice((npa,) + _OTHER_AREA_CODES), None, ""
        else:
            area, nxx, lead = rng.choice((npa,) + _OTHER_AREA_CODES), None, str(rng.randint(0, 9))
        if nxx is None:
            nxx = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(2, 9)}"
        prefix = f"1{area}{nxx}{lead}"
        first = rng.randint(0, max(0, b.days - 2))
        length = b.randint(shape.campaign_days)
        per_day = b.randint(shape.campaign_calls_per_day)
        mean_per_number = b.uniform(shape.calls_per_number)
        answer_rate, report_rate = b.uniform(shape.spam_answer_rate), b.uniform(shape.report_rate)
        numbers: list[str] = []
        name = f"campaign-{i + 1}"
        src = Source(name, "campaign", True, scope=scope, prefix=prefix,
                     active_from=b.start + timedelta(days=first),
                     active_to=b.start + timedelta(days=min(b.days, first + length)),
                     details={"calls_per_day": per_day, "calls_per_number": round(mean_per_number, 1),
                              "answer_rate": round(answer_rate, 2), "report_rate": round(report_rate, 2)})
        for day in range(first, min(b.days, first + length)):
            remaining = _poisson(rng, per_day * (1.0 if b.is_business_day(day) else 0.3))
            while remaining > 0:
                number = b.fresh_number(area, nxx, lead)
                numbers.append(number)
                calls = min(remaining, 1 + _poisson(rng, max(0.0, mean_per_number - 1)))
                remaining -= calls
                when = b.business_time(day)
                for callee in rng.sample(employees, min(len(employees), calls)):
                    when += timedelta(seconds=rng.uniform(10, 180))
                    answered = rng.random() < answer_rate
                    call_id = b.inbound(when, number, callee, answered=answered,
                                        duration=b.spam_duration(answered), source=src)
                    b.spam_reaction(when, number, callee, answered, report_rate, src, call_id)
        b.source(replace(src, numbers=tuple(numbers)))


def _internal_and_emergency(b: _Builder, employees: list, company: Source) -> None:
    rng = b.rng
    emergency = b.source(Source("emergency", "emergency", False, ("911", "988")))
    for day in range(b.days):
        if not b.is_business_day(day):
            continue
        for _ in range(_poisson(rng, len(employees) * b.shape.internal_calls_per_employee_day)):
            caller, callee = rng.sample(employees, 2)
            when = b.business_time(day)
            event = {"type": "call_log", "call_log": {
                "id": b.call_id(), "caller_number": caller[0].removeprefix("ext-"), "caller_number_type": 1,
                "callee_number": callee[0].removeprefix("ext-"), "callee_number_type": 1, "direction": "inbound",
                "duration": rng.randint(5, 600), "result": "Call connected", "date_time": _iso(when)}}
            b.add(when, event, EventLabel("internal_call", company.name, False))
        if rng.random() < 0.15:
            caller = rng.choice(employees)
            when = b.business_time(day)
            code = rng.choice(["911", "988", "911"])
            event = {"type": "call_log", "call_log": {
                "id": b.call_id(), "caller_number": caller[1], "caller_number_type": 1, "callee_number": code,
                "callee_number_type": 2, "direction": "outbound", "duration": rng.randint(30, 300),
                "result": "Call connected", "date_time": _iso(when)}}
            b.add(when, event, EventLabel("outbound_call", emergency.name, False, code))
            if code == "911":  # the dispatcher calls back
                back = when + timedelta(minutes=rng.uniform(2, 20))
                b.inbound(back, "911", caller, answered=True, duration=rng.randint(10, 120), source=emergency)


def _malformed(b: _Builder) -> None:
    rng = b.rng
    src = b.source(Source("malformed", "malformed", False))
    count = max(1, int(len(b.items) * b.shape.malformed_rate))
    kinds = ["bad_number", "missing_time", "zoneless_time", "unknown_type", "missing_reporter", "bad_report_number"]
    for i in range(count):
        day = rng.randint(0, b.days - 1)
        when = b.business_time(day)
        kind = kinds[i % len(kinds)]
        call = {"id": b.call_id(), "caller_number": "+19075550123", "caller_number_type": 2,
                "callee_number": "+19075550100", "direction": "inbound", "duration": 3, "result": "No Answer",
                "date_time": _iso(when)}
        if kind == "bad_number":
            event: dict[str, Any] = {"type": "call_log", "call_log": {**call, "caller_number": "not-a-number"}}
        elif kind == "missing_time":
            event = {"type": "call_log", "call_log": {k: v for k, v in call.items() if k != "date_time"}}
        elif kind == "zoneless_time":
            event = {"type": "call_log", "call_log": {**call, "date_time": _iso(when).rstrip("Z")}}
        elif kind == "unknown_type":
            event = {"type": "call_summary", "call_log": call}
        elif kind == "missing_reporter":
            event = {"type": "spam_report", "phone_number": "+19075550123", "reported_at": _iso(when)}
        else:
            event = {"type": "spam_report", "phone_number": "+1 907 555 01", "reporter": "ext-1001",
                     "reported_at": _iso(when)}
        b.add(when, event, EventLabel("malformed", src.name, False, call_id=kind))
