"""Reading `run --events FILE.jsonl`: stream non-empty lines with their numbers, never the whole file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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
            handle.read(1)
    except OSError as exc:
        raise InputFileError(f"cannot read {what} file {p}: {exc.strerror or exc}") from None
    return p


def iter_lines(path: str | Path) -> Iterator[Line]:
    """Non-empty lines (whitespace-only lines are skipped), decoded leniently: a bad byte spoils its
    line (which then fails validation and is reported), never the whole run."""
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.decode("utf-8", errors="replace").strip()
            if text:
                yield Line(number, text)
