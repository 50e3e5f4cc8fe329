"""`spam-blocker expire [--now ISO] [--dry-run] [--function-name NAME]`: run the expirer once.

Due blocks (expires_at <= now) are renewed when their evidence is still fresh, otherwise removed from Zoom
(EXPIRY_ACTION) and marked expired; at most MAX_PER_RUN per run. `--now` sets the run's clock (default: now).
Prints the summary as JSON; a line per renewal or expiry with --verbose.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from local.commands.ops_invoke import CommandFailed, add_invoke_arguments, fail, invoke, print_json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("expire", help="run the expirer once (renew or remove due blocks)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--now", metavar="ISO", help="the run's time, ISO-8601 with a zone (default: now)")
    parser.add_argument("--dry-run", action="store_true", help="say what would be renewed or expired; change nothing")
    add_invoke_arguments(parser, "expirer")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, lambda_client: Any = None) -> int:
    event: dict[str, Any] = {"dry_run": args.dry_run}
    if args.now:
        event["now"] = args.now
    try:
        summary = invoke(args, function="expirer", event=event,
                         lambda_client=lambda_client)
    except CommandFailed as error:
        return fail(error, "expire")
    print_json(summary)
    verb = "would renew/expire" if summary.get("dry_run") else "renewed/expired"
    line = (f"expire at {summary.get('now')}: {summary.get('due', 0)} due, {verb} "
            f"{summary.get('renewed', 0)}/{summary.get('expired', 0)}, deferred {summary.get('deferred', 0)}, "
            f"failed {summary.get('failed', 0)}")
    if summary.get("stopped"):
        line += f"; stopped early: {summary['stopped']}"
    if summary.get("more_due"):
        line += "; more are due (next run)"
    print(line, file=sys.stderr)
    return 0
