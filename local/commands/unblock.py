"""`spam-blocker unblock NUMBER [--dry-run] [--reporter ID] [--json] [--function-name NAME]`

Lets a number call again now: our block of it and every covering prefix block of ours are removed from
Zoom and kept off the list for a cool-down (UNBLOCK_COOLDOWN_DAYS), and a not_spam from you is recorded so
the scorer will not block it again, alone or in a range, meanwhile. A person's entry in the Zoom portal is
never touched: the command names it. NUMBER may also be a prefix ending in '*' (e.g. +1907555*). Says what
it did; exit 1 if part of it could not be done yet (run it again).
"""

from __future__ import annotations

import argparse
from typing import Any

from local.commands.ops_invoke import CommandFailed, add_invoke_arguments, fail, invoke, print_json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("unblock", help="remove a number's blocks now and keep it off for a while",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("number", metavar="NUMBER", help="a phone number in any written form, or PREFIX*")
    parser.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing")
    parser.add_argument("--reporter", default="ops", help="who asks (recorded with the not_spam; default ops)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_invoke_arguments(parser, "expirer")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, lambda_client: Any = None) -> int:
    event = {"action": "unblock", "phone_number": args.number, "dry_run": args.dry_run, "reporter": args.reporter}
    try:
        report = invoke(args, function="expirer", event=event,
                        lambda_client=lambda_client)
    except CommandFailed as error:
        return fail(error, "unblock")
    if args.json:
        print_json(report)
    else:
        print(report.get("text", ""))
    return 0 if report.get("complete", False) else 1
