"""Real spam reports: the FTC Do-Not-Call complaint numbers of one day, as `spam_report` contract events.

The file lives outside the project (`../shared/data/`, see its README) and is never copied into it; where
it is absent `ftc_available()` is False and `ftc_report_events` raises FileNotFoundError, so callers skip.

Each row is one consumer's complaint: reporter `ftc-<row>` (every complaint is a distinct person), the
number as written (bare 10 digits, normalised by the scorer like any other input), `reported_at` the
complaint's creation time (the file has no zone: taken as UTC), reason the complaint's subject. Rows
whose number is empty, all zeros or not 10 digits are skipped and counted, as the published data holds
such rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FTC_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "dnc_complaint_numbers_2021-07-08.csv"


@dataclass(frozen=True)
class FtcReports:
    events: list[dict[str, Any]]
    rows: int
    skipped: int


def ftc_available(path: Path = FTC_CSV) -> bool:
    return path.is_file()


def ftc_report_events(path: Path = FTC_CSV, limit: int | None = None) -> FtcReports:
    """spam_report events, in complaint-time order. Raises FileNotFoundError when the file is absent."""
    events: list[tuple[datetime, int, dict[str, Any]]] = []
    rows = skipped = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):
            rows += 1
            number = (row.get("Company_Phone_Number") or "").strip()
            created = (row.get("Created_Date") or "").strip()
            if len(number) != 10 or not number.isdigit() or set(number) == {"0"} or not created:
                skipped += 1
                continue
            try:
                when = datetime.strptime(created, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            except ValueError:
                skipped += 1
                continue
            events.append((when, row_number, {
                "type": "spam_report", "phone_number": number, "reporter": f"ftc-{row_number}",
                "reported_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "reason": (row.get("Subject") or "").strip() or None,
            }))
            if limit is not None and len(events) >= limit:
                break
    events.sort(key=lambda item: (item[0], item[1]))
    return FtcReports(events=[e for _, _, e in events], rows=rows, skipped=skipped)
