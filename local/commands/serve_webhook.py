"""`spam-blocker serve-webhook --port P [--host H]`: the ingest handler behind a local HTTP server, feeding
the local pipeline.

POST / takes Zoom webhook deliveries, verified with the secret token in ZOOM_WEBHOOK_SECRET_TOKEN
(exit 2 if unset). As `spam-blocker run` does, it runs moto in process (IngestQueue, BlockQueue, the
tables) and the real scorer and blocker handlers on the queues, against Zoom at ZOOM_API_URL (with
ZOOM_OAUTH_URL and the credentials) or, without it, its own emulator; Zoom's blocked list is adopted at
start, and `--allowlist` / `--own-numbers` are honoured. Spam reports (and any contract event) come from
`--events-file`: its lines, and each line appended while it runs. Each accepted delivery's call logs are printed on
stdout as they are enqueued, one contract event per line (JSON); each block or unblock request the scorer
makes is printed on stderr with its reason, and at the end the summary of `run` (stderr). Point a tunnel
(e.g. `ngrok http P`) at it and register the tunnel's URL in your Zoom app to watch live calls. Ctrl-C or
SIGTERM stops it: what is queued is scored and sent first. Exit 0; 2 bad usage; 3 Zoom unreachable or
credentials refused (checked at start).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from spam_blocker.config.ingest import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_SKEW_S

from local.commands import tcp_port

SECRET_ENV = "ZOOM_WEBHOOK_SECRET_TOKEN"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve-webhook", help="run the Zoom webhook endpoint (ingest) locally, feeding the pipeline",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=tcp_port, default=0, help="TCP port (0: any free port, printed at start)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES,
                        help=f"larger bodies are refused with 413 (default {DEFAULT_MAX_BODY_BYTES})")
    parser.add_argument("--max-skew-s", type=int, default=DEFAULT_MAX_SKEW_S,
                        help=f"allowed distance of x-zm-request-timestamp from now (default {DEFAULT_MAX_SKEW_S})")
    parser.add_argument("--log-requests", action="store_true", help="print one line per HTTP request (stderr)")
    parser.add_argument("--events-file", type=Path,
                        help="contract events (JSON lines) fed too: those in it at start, then every line appended "
                             "while it runs (`tail -f`), e.g. spam reports: "
                             "echo '{\"type\": \"spam_report\", ...}' >> FILE")
    parser.add_argument("--allowlist", type=Path, help="numbers / prefixes never blocked (as for run)")
    parser.add_argument("--own-numbers", type=Path, help="the account's own numbers (as for run)")
    parser.add_argument("--region", default="US", help="default region for numbers without a country code")
    parser.add_argument("--plan", choices=("pro", "business"), default="pro",
                        help="Zoom plan whose rate limits the blocker respects (and the emulator enforces)")
    parser.set_defaults(func=run)


class event_printer:  # noqa: N801 - a callback, reads like a function
    """Prints each enqueued delivery's events, one JSON a line, and counts them for the summary."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            for event in events:
                self.out.write(json.dumps(event, ensure_ascii=False) + "\n")
            self.out.flush()
            self.count += len(events)


def run(args: argparse.Namespace) -> int:
    from local.commands.run import own_emulator, parse_region
    from local.event_file import InputFileError
    from local.pipeline import Pipeline, RunFailed, RunOptions
    from local.summary_view import render_summary
    from local.zoom_access import ZoomConfigError, from_environment

    token = os.environ.get(SECRET_ENV, "")
    if not token:
        print(f"serve-webhook: {SECRET_ENV} is not set. Export the secret token of your Zoom app's event "
              "subscription (Marketplace > your app > Features > Access > Secret Token) and run again.",
              file=sys.stderr)
        return 2
    if args.max_body_bytes <= 0 or args.max_skew_s <= 0:
        print("serve-webhook: --max-body-bytes and --max-skew-s must be positive", file=sys.stderr)
        return 2
    try:
        options = RunOptions(events=None, follow=args.events_file, allowlist=args.allowlist,
                             own_numbers=args.own_numbers, region=parse_region(args.region), progress=False)
        access = from_environment(os.environ)
    except (InputFileError, ZoomConfigError) as exc:
        print(f"serve-webhook: {exc}", file=sys.stderr)
        return 2

    from local.webhook_server import build_webhook_server, start, stop

    events_out = sys.stdout
    printer = event_printer(events_out)
    sys.stdout = sys.stderr  # the handler's EMF metrics are print()ed: keep stdout for the events
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    listen_error: list[OSError] = []

    def start_server(resources: Any) -> Any:
        try:
            server = build_webhook_server(
                args.host, args.port, sqs_client=resources.sqs, ingest_queue_url=resources.queues["ingest"],
                dynamodb_client=resources.dynamodb, secret_token=token, on_enqueued=printer,
                max_body_bytes=args.max_body_bytes, max_skew_s=args.max_skew_s, log_requests=args.log_requests)
        except OSError as exc:
            listen_error.append(exc)
            stopping.set()
            return lambda: None
        thread = start(server)
        print(f"Zoom webhook endpoint listening on {server.base_url}/ (POST / takes deliveries)", file=sys.stderr)
        print(f"Signatures checked with {SECRET_ENV} (from the environment); timestamps within "
              f"{args.max_skew_s} s", file=sys.stderr)
        print(f"Call logs are printed here, one JSON event a line, and scored; blocks go to Zoom at "
              f"{access_now.api_url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        return lambda: stop(server, thread)

    try:
        with ExitStack() as stack:
            access_now = access if access is not None else stack.enter_context(own_emulator(args.plan))
            try:
                summary = Pipeline(options, access_now, log=sys.stderr).serve(start_server, stopping)
            except InputFileError as exc:
                print(f"serve-webhook: {exc}", file=sys.stderr)
                return 2
            except RunFailed as exc:
                print(f"serve-webhook: {exc}", file=sys.stderr)
                return exc.exit_code
        if listen_error:
            exc = listen_error[0]
            print(f"serve-webhook: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print("Zoom webhook endpoint stopped.", file=sys.stderr)
        summary.events_delivered = printer.count
        print(render_summary(summary), file=sys.stderr, flush=True)
        return 0
    finally:
        sys.stdout = events_out
