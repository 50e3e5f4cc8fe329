"""`spam-blocker serve-webhook --port P [--host H]`: the ingest handler behind a local HTTP server.

POST / takes Zoom webhook deliveries, verified with the secret token in ZOOM_WEBHOOK_SECRET_TOKEN
(exit 2 if unset). moto, in process, provides IngestQueue and the Deliveries table. Each accepted
delivery's call logs are printed on stdout as they are enqueued, one contract event per line (JSON), and
stay on the moto queue; everything else (start-up lines, the handler's logs and metrics) goes to stderr.
Point a tunnel (e.g. `ngrok http P`) at it and register the tunnel's URL in your Zoom app to watch live
calls. Ctrl-C or SIGTERM stops it; exit 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any, TextIO

from spam_blocker.config.ingest import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_SKEW_S

SECRET_ENV = "ZOOM_WEBHOOK_SECRET_TOKEN"
QUEUE_NAME = "IngestQueue"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve-webhook", help="run the Zoom webhook endpoint (ingest) locally",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: any free port, printed at start)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES,
                        help=f"larger bodies are refused with 413 (default {DEFAULT_MAX_BODY_BYTES})")
    parser.add_argument("--max-skew-s", type=int, default=DEFAULT_MAX_SKEW_S,
                        help=f"allowed distance of x-zm-request-timestamp from now (default {DEFAULT_MAX_SKEW_S})")
    parser.add_argument("--log-requests", action="store_true", help="print one line per HTTP request (stderr)")
    parser.set_defaults(func=run)


def event_printer(out: TextIO) -> Any:
    lock = threading.Lock()

    def print_events(events: list[dict[str, Any]]) -> None:
        with lock:
            for event in events:
                out.write(json.dumps(event, ensure_ascii=False) + "\n")
            out.flush()

    return print_events


def run(args: argparse.Namespace) -> int:
    token = os.environ.get(SECRET_ENV, "")
    if not token:
        print(f"serve-webhook: {SECRET_ENV} is not set. Export the secret token of your Zoom app's event "
              "subscription (Marketplace > your app > Features > Access > Secret Token) and run again.",
              file=sys.stderr)
        return 2
    if args.max_body_bytes <= 0 or args.max_skew_s <= 0:
        print("serve-webhook: --max-body-bytes and --max-skew-s must be positive", file=sys.stderr)
        return 2

    import boto3
    from moto import mock_aws

    from local.moto_locks import make_moto_thread_safe
    from local.webhook_server import build_webhook_server, start, stop

    events_out = sys.stdout
    sys.stdout = sys.stderr  # the handler's EMF metrics are print()ed: keep stdout for the events
    try:
        from spam_blocker.observability import logger

        handler = logger.registered_handler
        if hasattr(handler, "setStream"):
            handler.setStream(sys.stderr)

        stopping = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())

        region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
        with mock_aws():
            make_moto_thread_safe()
            sqs = boto3.client("sqs", region_name=region)
            queue_url = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
            try:
                server = build_webhook_server(
                    args.host, args.port, sqs_client=sqs, ingest_queue_url=queue_url, secret_token=token,
                    on_enqueued=event_printer(events_out), max_body_bytes=args.max_body_bytes,
                    max_skew_s=args.max_skew_s, log_requests=args.log_requests)
            except OSError as exc:
                print(f"serve-webhook: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                      file=sys.stderr)
                return 2
            thread = start(server)
            print(f"Zoom webhook endpoint listening on {server.base_url}/ (POST / takes deliveries)", file=sys.stderr)
            print(f"Signatures checked with {SECRET_ENV} (from the environment); "
                  f"timestamps within {args.max_skew_s} s", file=sys.stderr)
            print(f"Call logs go to the moto queue {QUEUE_NAME} and are printed here, one JSON event a line"
                  " (Ctrl-C to stop)", file=sys.stderr, flush=True)
            try:
                while not stopping.wait(0.2):
                    pass
            finally:
                stop(server, thread)
        print("Zoom webhook endpoint stopped.", file=sys.stderr, flush=True)
        return 0
    finally:
        sys.stdout = events_out
