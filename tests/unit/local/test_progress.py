"""Progress lines on a non-terminal stream: the total, the share and an estimate of the time left."""

from __future__ import annotations

import io

from local.progress import Progress


def test_a_known_total_shows_share_and_time_left(monkeypatch):
    clock = iter([100.0, 110.0, 120.0])
    monkeypatch.setattr("local.progress.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    progress = Progress("events", 400, stream=out, every_s=0)

    progress.update(100, "scored 90")  # 10 s for a quarter: 30 s to go
    progress.finish(400, "scored 400")

    first, last = out.getvalue().splitlines()
    assert "100/400" in first and "25.0%" in first and "ETA 30s" in first and first.endswith("scored 90")
    assert "400/400" in last and "ETA" not in last


def test_without_a_total_it_counts():
    out = io.StringIO()
    Progress("events", stream=out, every_s=0).update(7)
    assert out.getvalue().startswith("events 7 ")
