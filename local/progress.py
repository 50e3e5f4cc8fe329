"""Progress on long work, on stderr: a redrawn bar on a terminal, a line every few seconds otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    def __init__(self, label: str, total: int | None = None, *, stream: TextIO | None = None,
                 every_s: float = 5.0, enabled: bool = True) -> None:
        self.label = label
        self.total = total
        self._stream = stream or sys.stderr
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._every_s = every_s if not self._tty else 0.1
        self._enabled = enabled
        self._last = 0.0
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def update(self, done: int, detail: str = "", *, force: bool = False) -> None:
        if not self._enabled:
            return
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last < self._every_s:
                return
            self._last = now
            self._stream.write(self._render(done, detail, now))
            self._stream.flush()

    def _render(self, done: int, detail: str, now: float) -> str:
        elapsed = now - self._started
        if self.total:
            share = min(1.0, done / self.total)
            bar = "#" * int(share * 30)
            eta = f" ETA {elapsed / done * (self.total - done):.0f}s" if 0 < done < self.total else ""
            text = f"{self.label} [{bar:<30}] {done:,}/{self.total:,} {share:5.1%} {elapsed:5.1f}s{eta} {detail}"
        else:
            text = f"{self.label} {done:,} {elapsed:5.1f}s {detail}"
        return f"\r{text}\033[K" if self._tty else text + "\n"

    def finish(self, done: int, detail: str = "") -> None:
        if not self._enabled:
            return
        self.update(done, detail, force=True)
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()
