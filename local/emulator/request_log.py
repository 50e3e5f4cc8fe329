"""Every OAuth and API request the emulator answered (inspection requests are not recorded).

Records read as attributes (`r.route`) or as a mapping (`r["route"]`), so tests can use either.
`status` is None when the connection was dropped without an answer. `category` is None for OAuth,
which Zoom does not count against the API rate limits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    seq: int
    at: datetime
    method: str
    path: str
    query: str
    route: str  # templated, e.g. "DELETE /phone/blocked_list/{id}"
    category: str | None  # Light | Medium | Heavy; None for OAuth
    status: int | None  # None: dropped, no answer
    fault: str | None  # the injected fault kind that shaped the answer, if any
    body: str

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["at"] = self.at.isoformat()
        return record


class RequestLog:
    def __init__(self) -> None:
        self._records: list[RecordedRequest] = []

    def add(self, *, at: datetime, method: str, path: str, query: str, route: str, category: str | None,
            status: int | None, fault: str | None, body: str) -> RecordedRequest:
        record = RecordedRequest(len(self._records), at, method, path, query, route, category, status, fault, body)
        self._records.append(record)
        return record

    def all(self) -> list[RecordedRequest]:
        return list(self._records)

    def clear(self) -> None:
        self._records.clear()

    def stats(self) -> dict[str, Any]:
        """Counts per route and status ("dropped" for no answer), and per status overall."""
        by_route: dict[str, Counter[str]] = {}
        by_status: Counter[str] = Counter()
        by_fault: Counter[str] = Counter()
        for record in self._records:
            status = "dropped" if record.status is None else str(record.status)
            by_route.setdefault(record.route, Counter())[status] += 1
            by_status[status] += 1
            if record.fault:
                by_fault[record.fault] += 1
        return {
            "total": len(self._records),
            "by_route": {route: dict(counts) for route, counts in sorted(by_route.items())},
            "by_status": dict(sorted(by_status.items())),
            "by_fault": dict(sorted(by_fault.items())),
        }
