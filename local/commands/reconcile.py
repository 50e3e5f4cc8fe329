"""`spam-blocker reconcile [--dry-run] [--function-name NAME]`: compare Zoom's blocked list with the Blocks
table and repair drift: our entries deleted in the portal are marked removed, our tagged entries unknown to
the table adopted, a person's entries recorded as external (they count as blocking and are never touched).
Prints the report (counts and what was repaired) as JSON.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from local.commands.ops_invoke import CommandFailed, add_invoke_arguments, fail, invoke, print_json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("reconcile", help="repair drift between Zoom's blocked list and the table",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="list and compare; change nothing")
    add_invoke_arguments(parser, "reconciler")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, lambda_client: Any = None) -> int:
    try:
        report = invoke(args, function="reconciler", event={"dry_run": args.dry_run}, lambda_client=lambda_client)
    except CommandFailed as error:
        return fail(error, "reconcile")
    print_json(report)
    line = (f"reconcile{' (dry run)' if report.get('dry_run') else ''}: {report.get('listed', 0)} entries in Zoom, "
            f"{report.get('drift', 0)} drift repaired{' (would be)' if report.get('dry_run') else ''}, "
            f"{report.get('in_sync', 0)} in sync")
    if not report.get("complete", True):
        line += f"; listing incomplete: {report.get('stopped')}"
    print(line, file=sys.stderr)
    return 0
