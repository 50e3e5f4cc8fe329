"""`spam-blocker run --events FILE.jsonl [--allowlist FILE] [--own-numbers FILE] [--expire-at ISO]
[--dry-run] [--summary-json FILE]`: the whole pipeline locally (docs/contracts.md, "run").

Zoom: ZOOM_API_URL, ZOOM_OAUTH_URL, ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET; without
ZOOM_API_URL the runner starts its own Zoom emulator. Exit codes: 0 success; 2 bad usage or an
unreadable input file; 3 Zoom unreachable or credentials refused (checked before any work). Malformed
lines are counted and reported with their line numbers; the run goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from local.event_file import InputFileError
from local.zoom_access import ZoomAccess, ZoomConfigError, from_environment


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run the whole pipeline locally over a JSONL file of events",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", required=True, type=Path, metavar="FILE.jsonl",
                        help="one IngestQueue event (JSON) per line")
    parser.add_argument("--allowlist", type=Path, metavar="FILE", help="numbers/prefixes (trailing *) never blocked")
    parser.add_argument("--own-numbers", type=Path, metavar="FILE", help="the account's own numbers/prefixes")
    parser.add_argument("--expire-at", metavar="ISO", help="after the run, run the expirer with its clock at this time")
    parser.add_argument("--dry-run", action="store_true", help="read Zoom, never create, change or delete")
    parser.add_argument("--summary-json", type=Path, metavar="FILE", help="write the run's summary as JSON")
    parser.add_argument("--region", default=os.environ.get("DEFAULT_REGION", "US"),
                        help="default region for numbers without a country code (default US)")
    parser.add_argument("--plan", default=os.environ.get("ZOOM_PLAN", "pro"), choices=["pro", "business"],
                        help="Zoom plan whose rate limits the blocker respects (and the emulator enforces)")
    parser.add_argument("--parallel", action="store_true",
                        help="feed ahead and let two scorer pollers race, as Lambda scales out under a backlog: which "
                             "events share a batch, and so some decisions, then depend on thread timing (and it is "
                             "not always faster). Default: ordered, one scorer batch at a time, each once the last "
                             "one's block requests are handled: the same file makes the same blocks")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)


def parse_expire_at(value: str | None):
    if value is None:
        return None
    from spam_blocker.clock import parse_iso

    try:
        return parse_iso(value)
    except ValueError:
        raise InputFileError(f"--expire-at must be ISO-8601 with a zone, e.g. 2026-12-01T00:00:00Z (got {value!r})") from None


def parse_region(value: str) -> str:
    from spam_blocker.config.expirer import known_region

    try:
        return known_region(value)
    except ValueError as exc:
        raise InputFileError(f"--region (or DEFAULT_REGION): {exc}") from None


def parse_plan(value: str) -> str:
    """--plan, whose default comes from ZOOM_PLAN (argparse checks only the values typed on the command line)."""
    from spam_blocker.domain.rate_plan import PLANS

    plan = value.strip().lower()
    if plan not in PLANS:
        raise InputFileError(f"--plan / ZOOM_PLAN must be one of {', '.join(PLANS)} (got {value!r})")
    return plan


def dry_run_wanted(flag: bool) -> bool:
    """--dry-run, or DRY_RUN set true in the environment (the deployed blocker's switch: an operator who
    exported it expects no writes here either)."""
    raw = os.environ.get("DRY_RUN", "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return flag
    if raw in ("1", "true", "yes", "on"):
        return True
    raise InputFileError(f"DRY_RUN must be true or false (got {raw!r}); or pass --dry-run")


def parse_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise InputFileError(f"{name} must be a number of seconds (got {raw!r})") from None
    if not 0 < value < float("inf"):
        raise InputFileError(f"{name} must be positive (got {raw!r})")
    return value


def check_writable(path: Path) -> None:
    """Before any work: the summary's folder exists and can be written to (a run is not redone for that)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputFileError(f"--summary-json {path} is a folder")
    if not folder.is_dir():
        raise InputFileError(f"--summary-json: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputFileError(f"--summary-json: cannot write {path}")


INTERRUPTED = 130


def _write_summary(path: Path, summary: Any) -> bool:
    try:
        path.write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    except OSError as exc:
        print(f"spam-blocker run: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return False
    return True


def run(args: argparse.Namespace) -> int:
    from local.pipeline import Pipeline, RunFailed, RunOptions
    from local.summary_view import render_summary

    try:
        options = RunOptions(events=args.events, allowlist=args.allowlist, own_numbers=args.own_numbers,
                             expire_at=parse_expire_at(args.expire_at), dry_run=dry_run_wanted(args.dry_run),
                             region=parse_region(args.region), progress=not args.quiet, ordered=not args.parallel,
                             blocker_idle_limit_s=parse_seconds("RUN_MAX_DEFERRED_WAIT_S", 120.0),
                             ordered_wait_s=parse_seconds("RUN_ORDERED_WAIT_S", 5.0))
        if args.summary_json is not None:
            check_writable(args.summary_json)
        plan = parse_plan(args.plan)
        access = from_environment(os.environ)
    except (InputFileError, ZoomConfigError) as exc:
        print(f"spam-blocker run: {exc}", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        if access is None:
            access = stack.enter_context(own_emulator(plan))
        pipeline = Pipeline(options, access)
        try:
            summary = pipeline.run()
        except InputFileError as exc:
            print(f"spam-blocker run: {exc}", file=sys.stderr)
            return 2
        except RunFailed as exc:
            print(f"spam-blocker run: {exc}", file=sys.stderr)
            if exc.exit_code == INTERRUPTED and args.summary_json:
                _write_summary(args.summary_json, pipeline.summary_so_far())
            return exc.exit_code
        except KeyboardInterrupt:  # outside the replay's own wait (starting, finishing): the same record
            if args.summary_json:
                _write_summary(args.summary_json, pipeline.summary_so_far())
            raise
    if args.summary_json and not _write_summary(args.summary_json, summary):
        return 2
    print(render_summary(summary))
    if summary.zoom_refused:
        print(f"spam-blocker run: Zoom refused the credentials during the run: {summary.zoom_refused}", file=sys.stderr)
        return 3
    return 0


class own_emulator:  # noqa: N801 - used as a context manager, reads like one
    """The project's Zoom emulator on 127.0.0.1 (a free port), for runs without ZOOM_API_URL."""

    def __init__(self, plan: str) -> None:
        self.plan = plan

    def __enter__(self) -> ZoomAccess:
        from local.emulator import ZoomEmulator, serve

        self.emulator = ZoomEmulator(plan=self.plan)
        self.server, self.thread = serve(self.emulator, host="127.0.0.1", port=0)
        base = self.server.base_url
        return ZoomAccess(api_url=f"{base}/v2", oauth_url=f"{base}/oauth/token", account_id="dev-account",
                          client_id="dev-client-id", client_secret="dev-client-secret", plan=self.plan,
                          emulated=True)

    def __exit__(self, *exc: object) -> None:
        from local.emulator import stop

        stop(self.server, self.thread)
