"""Allowlist and own numbers: the lists no rule may block (DESIGN.md file format, a contract).

One entry a line: a number in any written form (`+19072120000`, `(907) 212-0000`) or a prefix marked by a
trailing `*` (`+1907212*`); `#` starts a comment; blank lines are ignored. A bad line raises
ListFileError naming the file and the line.

Numbers are kept in E.164 (`+19072120000`), prefixes as digits with the country code (`1907212`), the form
Zoom uses for prefix blocks. `ListEntry.key` is the one-string form stored in DynamoDB (`1907212*` for a
prefix, the E.164 number otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import phonenumbers

from spam_blocker.domain import phone

ListKind = Literal["allow", "own"]
LIST_KINDS: tuple[ListKind, ...] = ("allow", "own")
_PREFIX_CHARACTERS = set("0123456789+-.() ")


class ListFileError(ValueError):
    """A line of an allowlist/own-numbers file that is not a number or a prefix."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class ListEntry:
    value: str  # E.164 number, or prefix digits with the country code
    is_prefix: bool = False
    source: str = field(default="", compare=False)  # "allowlist.txt:4", for explanations
    note: str = field(default="", compare=False)  # the line's comment, if any

    @property
    def key(self) -> str:
        return f"{self.value}*" if self.is_prefix else self.value

    def covers(self, e164: str) -> bool:
        return phone.digits(e164).startswith(self.value) if self.is_prefix else e164 == self.value

    def overlaps_prefix(self, prefix_digits: str) -> bool:
        """True when a block of `prefix_digits` would cover any number this entry protects."""
        mine = self.value if self.is_prefix else phone.digits(self.value)
        return mine.startswith(prefix_digits) or (self.is_prefix and prefix_digits.startswith(mine))

    def describe(self) -> str:
        where = f" ({self.source})" if self.source else ""
        return f"{'+' + self.value + '*' if self.is_prefix else self.value}{where}"


def parse_entry(text: str, region: str = "US") -> ListEntry:
    """One entry (no comment). Raises ValueError with a readable reason."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty entry")
    if raw.endswith("*"):
        return ListEntry(_prefix_digits(raw[:-1], region), is_prefix=True)
    if "*" in raw:
        raise ValueError(f"{raw!r}: '*' marks a prefix and must come last ('+1907*')")
    if phone.is_emergency_or_short(raw, region):
        raise ValueError(f"{raw!r} is an emergency or short code, not a number")
    try:
        return ListEntry(phone.normalize(raw, region))
    except phone.InvalidNumber as exc:
        raise ValueError(str(exc)) from None


def _prefix_digits(raw: str, region: str) -> str:
    text = raw.strip()
    if not text or set(text) - _PREFIX_CHARACTERS:
        raise ValueError(f"prefix {raw!r}* must be digits (with an optional '+') before the '*'")
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("+"):
        full = digits
    else:
        country = str(phonenumbers.country_code_for_region(region) or "")
        if not country:
            raise ValueError(f"unknown region {region!r} for prefix {raw!r}*")
        if country == "1" and digits.startswith("1"):
            full = digits  # NANP national numbers never start with 1: a leading 1 is the country code
        elif digits.startswith("0"):
            full = country + digits[1:]  # national trunk prefix, e.g. UK '020 7*'
        else:
            full = country + digits
    if len(full) < 2 or not full.isdigit():
        raise ValueError(f"prefix {raw!r}* is too short")
    if not any(phonenumbers.region_code_for_country_code(int(full[:n])) != "ZZ" for n in (1, 2, 3)):
        raise ValueError(f"prefix {raw!r}* does not start with a country code")
    return full


def parse_list(text: str, source: str = "<list>", region: str = "US") -> list[ListEntry]:
    """Parse a whole list file's text. Raises ListFileError(source, line, reason) on the first bad line."""
    entries: list[ListEntry] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content, _, comment = line.partition("#")
        if not content.strip():
            continue
        try:
            entry = parse_entry(content, region)
        except ValueError as exc:
            raise ListFileError(source, number, str(exc)) from None
        entries.append(ListEntry(entry.value, entry.is_prefix, source=f"{source}:{number}", note=comment.strip()))
    return entries


def load_list_file(path: str | Path, region: str = "US") -> list[ListEntry]:
    """Read and parse a list file (UTF-8, a byte-order mark allowed). Raises ListFileError (a bad line, or
    a line that is not UTF-8) or OSError (unreadable file)."""
    file = Path(path)
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ListFileError(file.name, line, "not UTF-8 text (save the file as UTF-8)") from None
    return parse_list(text, source=file.name, region=region)


@dataclass(frozen=True)
class ProtectedLists:
    """The allowlist and the account's own numbers, as the scorer reads them."""

    allow: tuple[ListEntry, ...] = ()
    own: tuple[ListEntry, ...] = ()

    @classmethod
    def of(cls, allow: Iterable[ListEntry] = (), own: Iterable[ListEntry] = ()) -> ProtectedLists:
        return cls(tuple(allow), tuple(own))

    def allow_entry_for(self, e164: str) -> ListEntry | None:
        return next((e for e in self.allow if e.covers(e164)), None)

    def own_entry_for(self, e164: str) -> ListEntry | None:
        return next((e for e in self.own if e.covers(e164)), None)

    def entry_inside(self, prefix_digits: str) -> tuple[ListKind, ListEntry] | None:
        """The first allowlisted or own entry a block of `prefix_digits` would cover, if any."""
        for kind, entries in (("allow", self.allow), ("own", self.own)):
            for entry in entries:
                if entry.overlaps_prefix(prefix_digits):
                    return kind, entry  # type: ignore[return-value]
        return None

    def __len__(self) -> int:
        return len(self.allow) + len(self.own)

    def current(self) -> ProtectedLists:
        """A fixed ProtectedLists is its own ListSource (tests, the evaluator, lists loaded from files)."""
        return self
