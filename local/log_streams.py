"""Pointing the Powertools logger's handler at another stream, in process (runner, ops commands, tests)."""

from __future__ import annotations

from typing import Any


def point(handler: Any, stream: Any) -> None:
    """StreamHandler.setStream flushes the old stream first, which fails once that stream is closed (a test's
    capture, after its test)."""
    if getattr(getattr(handler, "stream", None), "closed", False):
        handler.stream = stream
    else:
        handler.setStream(stream)
