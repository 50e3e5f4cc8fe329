"""`spam-blocker explain NUMBER [--now ISO] [--json] [--function-name NAME]`: why is (or isn't) this number
blocked? The decision the scorer makes now, the evidence behind it, the number's blocks and every covering
prefix block, and the Zoom entries they name, in words.
"""

from __future__ import annotations

import argparse
from typing import Any

from local.commands.ops_invoke import CommandFailed, add_invoke_arguments, fail, invoke, print_json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("explain", help="why is this number blocked (or not)?",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("number", metavar="NUMBER", help="a phone number in any written form")
    parser.add_argument("--now", metavar="ISO", help="decide as of this time (default: now)")
    parser.add_argument("--json", action="store_true", help="print the facts as JSON")
    add_invoke_arguments(parser, "expirer")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, lambda_client: Any = None) -> int:
    event: dict[str, Any] = {"action": "explain", "phone_number": args.number}
    if args.now:
        event["now"] = args.now
    try:
        facts = invoke(args, function="expirer", event=event,
                       lambda_client=lambda_client)
    except CommandFailed as error:
        return fail(error, "explain")
    if args.json:
        print_json(facts)
    else:
        print(facts.get("text", ""))
    return 0
