"""Reading `run --events FILE.jsonl`: stream non-empty lines with their numbers, never the whole file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


class InputFileError(Exception):
    """An input file that cannot be read at all (missing, a directory, not text): exit code 2."""


@dataclass(frozen=True)
class Line:
    number: int  # 1-based line number in the file
    text: str


def check_readable(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{what} file not found: {p}")
    if not p.is_file():
        raise InputFileError(f"{what} is not a file: {p}")
    try:
        with p.open("rb") as handle:
            start = handle.read(4)
    except OSError as exc:
        raise InputFileError(f"cannot read {what} file {p}: {exc.strerror or exc}") from None
    if start[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(start) == 4 and (start[1::2] == b"\0\0" or start[::2] == b"\0\0")):
        raise InputFileError(f"{what} file {p} is UTF-16 text: save it as UTF-8")
    return p


BOM = "\ufeff"


def iter_lines(path: str | Path) -> Iterator[Line]:
    """Non-empty lines (whitespace-only lines are skipped), decoded leniently: a byte that is not UTF-8
    stays in its line as a lone surrogate (`not_utf8` then names it, and the line is rejected), never
    spoiling the whole run. A UTF-8 byte-order mark at the start of the file (as some Windows editors
    write) is not part of the first line."""
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.decode("utf-8", errors="surrogateescape").strip()
            if number == 1:
                text = text.removeprefix(BOM).strip()
            if text:
                yield Line(number, text)


def not_utf8(text: str) -> str | None:
    """Why a line decoded with surrogateescape is not UTF-8 text (JSON text must be), or None."""
    for column, char in enumerate(text, start=1):
        if "\udc80" <= char <= "\udcff":
            return f"not UTF-8 text: byte 0x{ord(char) - 0xDC00:02x} at column {column}"
    return None


def count_events(path: str | Path) -> int:
    """How many lines iter_lines yields (for a progress bar's total), in one quick pass over the bytes."""
    return sum(1 for _ in iter_lines(path))


def event_time_bounds(lines: Iterator[Line]) -> tuple[datetime | None, datetime | None]:
    """The earliest and the latest event time among the lines that carry a readable one (a light pass: no
    validation)."""
    from spam_blocker.clock import parse_iso

    earliest: datetime | None = None
    latest: datetime | None = None
    for line in lines:
        try:
            data = json.loads(line.text)
            log = data.get("call_log") if isinstance(data, dict) else None
            raw = (log.get("date_time") or log.get("start_time")) if isinstance(log, dict) else data.get("reported_at")
            at = parse_iso(raw) if isinstance(raw, str) else None
        except (ValueError, AttributeError, RecursionError):
            continue
        if at is not None and at.tzinfo is not None:
            earliest = at if earliest is None or at < earliest else earliest
            latest = at if latest is None or at > latest else latest
    return earliest, latest
