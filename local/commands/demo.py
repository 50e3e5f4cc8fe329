"""`spam-blocker demo`: the whole product on your laptop in well under a minute.

Starts the Zoom emulator and moto, generates a built-in scenario — a few days of call logs and spam
reports for a small company: robocallers, a rotating-number campaign spoofing numbers next to the
company's own, and legitimate look-alikes (a pharmacy's reminder calls, a bank's fraud line, customers,
a one-off delivery driver) — streams it through the real Lambda handlers, and prints what was blocked
and why, what was deliberately not blocked and why, and what Zoom now holds. A person's own entry in
the Zoom portal is there from the start, to show that it is respected and never duplicated.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

DEMO_SEED = 2026
DEMO_DAYS = 4
SHOW_ENTRIES = 12


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run a built-in scenario end to end and explain the result",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="scenario seed (another seed, another company)")
    parser.add_argument("--days", type=int, default=DEMO_DAYS, help="days of traffic (default 4)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="write the scenario's files to DIR (default: spam-blocker-demo in the temp folder, "
                             "overwritten by each demo)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from local.emulator import ZoomEmulator, serve, stop
    from local.pipeline import Pipeline, RunOptions
    from local.summary_view import render_summary
    from local.traffic.generator import generate
    from local.zoom_access import ZoomAccess

    if args.days < 3:
        print("spam-blocker demo: --days must be at least 3", file=sys.stderr)
        return 2
    scenario = generate(seed=args.seed, days=args.days)
    robocallers = [s for s in scenario.sources.values() if s.kind == "robocaller" and s.numbers]
    directory = args.keep or Path(tempfile.gettempdir()) / "spam-blocker-demo"  # the same one, each demo
    events = directory / "events.jsonl"
    own = directory / "own-numbers.txt"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        events.write_text(scenario.jsonl())
        own.write_text(scenario.own_numbers_text())
    except OSError as exc:
        print(f"spam-blocker demo: cannot write the scenario's files to {directory}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2

    emulator = ZoomEmulator(plan="pro")
    manual = None
    if robocallers:
        manual = robocallers[0].numbers[0]
        emulator.add_entry(manual, comment="blocked by Dana in the Zoom portal")
    server, thread = serve(emulator, host="127.0.0.1", port=0)
    try:
        base = server.base_url
        access = ZoomAccess(api_url=f"{base}/v2", oauth_url=f"{base}/oauth/token", account_id="dev-account",
                            client_id="dev-client-id", client_secret="dev-client-secret", emulated=True)
        print(f"Scenario: {len(scenario):,} events over {args.days} days for a company of "
              f"{len(scenario.employees)} people ({', '.join(f'{k} {v}' for k, v in sorted(scenario.counts().items()))})")
        print(f"Files: {events} and {own}; Zoom emulator at {base}")
        if manual:
            print(f"Before the run, a person had already blocked {manual} in the Zoom portal.")
        print()
        options = RunOptions(events=events, own_numbers=own, progress=True, total_events=len(scenario))
        summary = Pipeline(options, access).run()
        print(render_summary(summary))
        entries = sorted(emulator.entries(), key=lambda e: (e["match_type"] != "phoneNumber", e["phone_number"]))
        print()
        print(f"Zoom's blocked list now holds {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}:")
        for entry in entries[:SHOW_ENTRIES]:
            print(f"  {entry['match_type']:<11} {entry['phone_number']:<14} {entry['comment'][:80]}")
        if len(entries) > SHOW_ENTRIES:
            print(f"  … and {len(entries) - SHOW_ENTRIES} more")
        if manual:
            same = [e for e in entries if e["phone_number"] == manual]
            print(f"{manual}, blocked by hand before the run, has {len(same)} entr{'y' if len(same) == 1 else 'ies'}: "
                  + ("the person's own; the pipeline saw it blocked and asked for no second one." if len(same) == 1
                     else "a duplicate was made (a bug: please report it)."))
        print()
        print(f"Try: .venv/bin/spam-blocker run --events {events} --own-numbers {own} --summary-json summary.json")
        if manual:
            print(f"     (against a fresh emulator of its own, where nobody blocked {manual} by hand: that one is "
                  "then blocked by us)")
    finally:
        stop(server, thread)
    return 0
