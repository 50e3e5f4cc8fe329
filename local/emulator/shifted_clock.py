"""A clock that follows another (normally the system clock) plus an offset that can be moved forward.

The CLI's emulator runs on real time, yet a client probing it over HTTP still needs to see tokens,
page tokens and daily limits expire without waiting: `POST /_emulator/clock {"advance_s": 900}`.
It offers the same `advance`/`set` as `spam_blocker.clock.ManualClock`.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from spam_blocker.clock import Clock


class ShiftedClock:
    def __init__(self, base: Clock) -> None:
        self._base = base
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._base.now() + self._offset

    def advance(self, seconds: float = 0.0, **kwargs: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds, **kwargs)
            return self._base.now() + self._offset

    def set(self, when: datetime) -> None:
        with self._lock:
            self._offset = when - self._base.now()
