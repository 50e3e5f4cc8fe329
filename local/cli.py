"""`spam-blocker`: the one console script. Each subcommand lives in `local/commands/<name>.py` and
exposes `register(subparsers)`, which adds its parser and sets `func(args) -> int` as the default.

To add a command, write its module and append it to COMMANDS.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from local.commands import (
    allowlist,
    backfill,
    demo,
    emulator,
    expire,
    explain,
    reconcile,
    report,
    run,
    serve_webhook,
    unblock,
)

COMMANDS = [
    demo,
    emulator,
    run,
    serve_webhook,
    report,
    backfill,
    expire,
    reconcile,
    unblock,
    explain,
    allowlist,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spam-blocker", description="Zoom Phone spam blocker: local tools")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    # `timeout` and `kill` stop a command as Ctrl-C does (the commands that serve until stopped set their own).
    previous = signal.signal(signal.SIGTERM, _interrupt) if threading.current_thread() is threading.main_thread() else None
    try:
        return int(func(args))
    except KeyboardInterrupt:
        print("spam-blocker: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C: a backfill releases its checkpoint's lease on the way out


if __name__ == "__main__":
    sys.exit(main())
