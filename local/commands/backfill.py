"""`spam-blocker backfill --from D --to D [--numbers FILE] [--reporter ID] [--reason TEXT] [--dry-run]
[--function-name NAME]`

Feeds history to IngestQueue: Zoom's call logs for the days D..D (yyyy-mm-dd, both included; split into
Zoom's windows of at most a month within its last six months; older days are clipped with a note, a range
entirely older is refused), and/or a spam report for every number in FILE (one a line, any written form;
'#' comments). Checkpointed: the same command again resumes where it stopped (Zoom's daily limit, a rate
limit it cannot wait out, Zoom unavailable) and does nothing once it is done. `--dry-run` counts what it
would enqueue. Progress on stderr; the final progress as JSON on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from local.commands.ops_invoke import (
    EXIT_FAILED,
    EXIT_USAGE,
    CommandFailed,
    add_invoke_arguments,
    fail,
    invoke,
    print_json,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("backfill", help="feed call logs of a date range (or spam reports) to the pipeline",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="date_from", metavar="D", help="first day, yyyy-mm-dd")
    parser.add_argument("--to", dest="date_to", metavar="D", help="last day, yyyy-mm-dd (included)")
    parser.add_argument("--numbers", metavar="FILE", help="report every number in FILE as spam")
    parser.add_argument("--reporter", help="who reports the numbers in FILE (default: backfill)")
    parser.add_argument("--reason", help="why the numbers in FILE are reported")
    parser.add_argument("--dry-run", action="store_true", help="count what would be enqueued; enqueue nothing")
    add_invoke_arguments(parser, "backfill")
    parser.set_defaults(func=run)


def read_numbers(path: str, region: str = "US") -> list[str]:
    """One number a line; '#' starts a comment; blank lines ignored. OSError if unreadable; ValueError naming
    the file and line of a number that cannot be reported (as the allowlist files do)."""
    from spam_blocker.domain import phone

    numbers = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            if phone.is_emergency_or_short(text, region):
                raise phone.InvalidNumber("an emergency or short code")
            phone.normalize(text, region)
        except phone.InvalidNumber as exc:
            raise ValueError(f"{path}:{number}: {text!r} cannot be reported as spam: {exc}") from None
        numbers.append(text)
    return numbers


def progress_printer(out: Any = None):
    def show(progress: dict[str, Any]) -> None:
        stream = out or sys.stderr
        if progress.get("phase") == "reports":
            print(f"backfill: {progress['reports_enqueued']}/{progress['numbers']} spam reports enqueued",
                  file=stream, flush=True)
            return
        print(f"backfill: {progress.get('window', '')}: page of {progress.get('page_records', 0)} "
              f"(+{progress.get('page_enqueued', 0)} new); {progress['call_logs_enqueued']} call logs enqueued, "
              f"{progress['windows_done']}/{progress['windows']} windows done", file=stream, flush=True)

    return show


def run(args: argparse.Namespace, *, lambda_client: Any = None) -> int:
    if not args.numbers and not (args.date_from and args.date_to):
        print("backfill: give --from D and --to D, and/or --numbers FILE", file=sys.stderr)
        return EXIT_USAGE
    event: dict[str, Any] = {"dry_run": args.dry_run}
    if args.date_from or args.date_to:
        event.update({"from": args.date_from, "to": args.date_to})
    if args.numbers:
        try:
            event["phone_numbers"] = read_numbers(args.numbers, os.environ.get("DEFAULT_REGION") or "US")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"backfill: cannot read {args.numbers}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except ValueError as exc:
            print(f"backfill: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if not event["phone_numbers"]:
            print(f"backfill: {args.numbers} holds no numbers", file=sys.stderr)
            return EXIT_USAGE
        for name in ("reporter", "reason"):
            if getattr(args, name):
                event[name] = getattr(args, name)
    extra = {} if args.function_name else {"on_progress": progress_printer()}
    try:
        result = invoke(args, function="backfill", event=event,
                        lambda_client=lambda_client, **extra)
    except CommandFailed as error:
        return fail(error, "backfill")
    print_json(result)
    for note in result.get("notes", []):
        print(f"backfill: note: {note}", file=sys.stderr)
    status = result.get("status")
    if status == "busy":
        until = f" until {result['resume_at']}" if result.get("resume_at") else ""
        print(f"backfill: another run of the same input holds its checkpoint{until} (it renews that while it "
              "works); try again when it is finished, or after that time if it was killed", file=sys.stderr)
        return EXIT_FAILED
    if status == "paused":
        when = f" after {result['resume_at']}" if result.get("resume_at") else ""
        print(f"backfill: paused ({result.get('paused_reason')}): run the same command again{when} to resume",
              file=sys.stderr)
    elif status == "done":
        done = "already done before" if result.get("already_done") else "done"
        print(f"backfill: {done}: {result.get('call_logs_enqueued', 0)} call logs and "
              f"{result.get('reports_enqueued', 0)} spam reports enqueued in total", file=sys.stderr)
    return 0
