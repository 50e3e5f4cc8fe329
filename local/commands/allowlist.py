"""`spam-blocker allow | disallow | own [NUMBER_OR_PREFIX ...] [--file FILE]`: the allowlist and the account's
own numbers, as DynamoDB items the scorer reads (the Evidence table, EVIDENCE_TABLE; DEFAULT_REGION for
numbers written without a country code).

    allow     add to the allowlist (never blocked, and no range over them)
    own       add to the account's own numbers (never blocked)
    disallow  remove from the allowlist (with --own: from the own numbers)

Entries are numbers in any written form or prefixes marked by a trailing '*' (+1907212*); FILE has one a
line, '#' comments, the same format `spam-blocker run --allowlist` takes. With no entry and no file, the
current list is printed. The scorer sees a change within its cache time (LISTS_CACHE_SECONDS); an existing
block of a newly allowed number stays until it expires, or `spam-blocker unblock NUMBER` removes it now.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from local.commands.ops_invoke import EXIT_FAILED, EXIT_USAGE


def register(subparsers: Any) -> None:
    for name, help_text in (("allow", "add numbers or prefixes to the allowlist"),
                            ("disallow", "remove numbers or prefixes from the allowlist (or, with --own, "
                                         "from the own numbers)"),
                            ("own", "add the account's own numbers")):
        parser = subparsers.add_parser(name, help=help_text, description=__doc__,
                                       formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("entries", nargs="*", metavar="NUMBER_OR_PREFIX", help="+19072120000, (907) 212-0000, +1907212*")
        parser.add_argument("--file", help="one entry a line ('#' comments)")
        if name == "disallow":
            parser.add_argument("--own", action="store_true", help="remove from the own numbers instead")
        parser.set_defaults(func=run, list_command=name)


def run(args: argparse.Namespace, *, dynamodb: Any = None) -> int:
    from spam_blocker.clock import SystemClock
    from spam_blocker.domain.allowlist import ListFileError, load_list_file, parse_entry

    command = args.list_command
    kind = "own" if command == "own" or getattr(args, "own", False) else "allow"
    table = os.environ.get("EVIDENCE_TABLE", "").strip()
    if not table:
        print(f"{command}: EVIDENCE_TABLE is not set (the table holding the allowlist and own numbers)",
              file=sys.stderr)
        return EXIT_USAGE
    region = (os.environ.get("DEFAULT_REGION") or "US").strip().upper()
    entries = []
    try:
        for raw in args.entries:
            try:
                entries.append(parse_entry(raw, region))
            except ValueError as exc:
                raise ListFileError("<command line>", args.entries.index(raw) + 1, f"{raw!r}: {exc}") from None
        if args.file:
            entries += load_list_file(args.file, region)
    except ListFileError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{command}: cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_USAGE

    from spam_blocker.adapters.dynamo_allowlist import DynamoListStore

    if dynamodb is None:
        from spam_blocker.wiring import aws_client

        dynamodb = aws_client("dynamodb")
    store = DynamoListStore(dynamodb, table, region)
    label = "own numbers" if kind == "own" else "allowlist"
    try:
        if not entries:
            current = store.entries(kind)
            for entry in current:
                print(entry.key + (f"  # {entry.source}" if entry.source else ""))
            print(f"{command}: {len(current)} entries on the {label}", file=sys.stderr)
            return 0
        if command == "disallow":
            listed = {e.key for e in store.entries(kind)}
            absent = [e.key for e in entries if e.key not in listed]
            entries = [e for e in entries if e.key in listed]  # stdout: what was removed
            count = store.remove(kind, entries)
            print(f"disallow: removed {count} entries from the {label}"
                  + (f"; not on it: {', '.join(absent)}" if absent else ""), file=sys.stderr)
        else:
            count = store.add(kind, [e if e.source else _from_cli(e) for e in entries], now=SystemClock().now())
            print(f"{command}: {count} entries on the {label} (added or kept)", file=sys.stderr)
            if kind == "allow":
                print(f"{command}: an existing block of one of them stays until it expires; "
                      "`spam-blocker unblock NUMBER` removes it now", file=sys.stderr)
    except Exception as exc:  # DynamoDB unreachable, table missing, credentials: a failure, named
        print(f"{command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for entry in entries:
        print(entry.key)
    return 0


def _from_cli(entry):
    from dataclasses import replace

    return replace(entry, source="cli")
