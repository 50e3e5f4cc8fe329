"""In-memory fakes for the ingest service's ports (kept honest by tests/integration/test_ingest_deliveries.py,
which runs one suite against FakeDeliveries and the DynamoDB adapter)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from spam_blocker.domain.webhook import Claim


class FakeQueue:
    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.fail_next = 0  # how many send_many calls raise before the queue works again

    def send_many(self, bodies: Iterable[str]) -> int:
        bodies = list(bodies)
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("queue unavailable")
        self.bodies.extend(bodies)
        return len(bodies)

    def __len__(self) -> int:
        return len(self.bodies)


class FakeDeliveries:
    """Same rules as DynamoDeliveries: absent, expired or abandoned (lease over) keys can be claimed."""

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}
        self.fail_claims = False
        self.fail_releases = False

    def claim(self, key: str, *, event: str, now: datetime, lease_s: int, ttl_s: int) -> Claim:
        if self.fail_claims:
            raise RuntimeError("table unavailable")
        now_s = int(now.timestamp())
        old = self.items.get(key)
        if old is not None and old["ttl"] >= now_s and not (old["state"] == "pending" and old["lease_until"] < now_s):
            return Claim.DONE if old["state"] == "done" else Claim.IN_PROGRESS
        self.items[key] = {"state": "pending", "event": event, "lease_until": now_s + lease_s, "ttl": now_s + ttl_s}
        return Claim.NEW

    def complete(self, key: str, *, now: datetime) -> None:
        if key in self.items:
            self.items[key]["state"] = "done"

    def release(self, key: str) -> None:
        if self.fail_releases:
            raise RuntimeError("table unavailable")
        if self.items.get(key, {}).get("state") == "pending":
            del self.items[key]

    def __contains__(self, key: str) -> bool:
        return key in self.items

    def __len__(self) -> int:
        return len(self.items)
