"""`spam-blocker emulator --port P [--host H] [--plan pro|business]`: the Zoom emulator on a socket.

Credentials come from ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET when set, else fixed
development values, which are printed (a secret from the environment is not). Runs on the system
clock, shiftable through `POST /_emulator/clock`, until Ctrl-C or SIGTERM; exits 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any

from spam_blocker.clock import SystemClock
from spam_blocker.domain.rate_plan import PLANS

from local.commands import tcp_port
from local.emulator import ShiftedClock, ZoomEmulator, serve, stop
from local.emulator.config import CALL_LOG_APIS

DEV_CREDENTIALS = {
    "ZOOM_ACCOUNT_ID": "dev-account",
    "ZOOM_CLIENT_ID": "dev-client-id",
    "ZOOM_CLIENT_SECRET": "dev-client-secret",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("emulator", help="run the Zoom emulator as an HTTP server",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=tcp_port, default=0, help="TCP port (0: any free port, printed at start)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--plan", choices=sorted(PLANS), default="pro", help="Zoom plan whose rate limits apply")
    parser.add_argument("--token-ttl", type=int, default=3600, metavar="SECONDS", help="access token lifetime")
    parser.add_argument("--log-requests", action="store_true", help="print one line per HTTP request")
    parser.add_argument("--call-log-apis", choices=CALL_LOG_APIS, default="both",
                        help="which call-log API answers (the other 404s, as a retired one would; default both)")
    parser.set_defaults(func=run)


def credentials(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: environ.get(name) or default for name, default in DEV_CREDENTIALS.items()}


def run(args: argparse.Namespace) -> int:
    creds = credentials(os.environ)
    emulator = ZoomEmulator(args.plan, ShiftedClock(SystemClock()), account_id=creds["ZOOM_ACCOUNT_ID"],
                            client_id=creds["ZOOM_CLIENT_ID"], client_secret=creds["ZOOM_CLIENT_SECRET"],
                            token_ttl_s=args.token_ttl)
    emulator.configure(call_log_apis=args.call_log_apis)
    try:
        server, thread = serve(emulator, args.host, args.port, log_requests=args.log_requests)
    except OSError as exc:
        print(f"spam-blocker emulator: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())

    secret_from_env = bool(os.environ.get("ZOOM_CLIENT_SECRET"))
    base = server.base_url
    print(f"Zoom emulator ({args.plan} plan) listening on {base}")
    print(f"export ZOOM_OAUTH_URL={base}/oauth/token")  # shell lines: paste them, or eval them
    print(f"export ZOOM_API_URL={base}/v2")
    print(f"export ZOOM_ACCOUNT_ID={creds['ZOOM_ACCOUNT_ID']}")
    print(f"export ZOOM_CLIENT_ID={creds['ZOOM_CLIENT_ID']}")
    print("# ZOOM_CLIENT_SECRET: the one in your environment" if secret_from_env
          else f"export ZOOM_CLIENT_SECRET={creds['ZOOM_CLIENT_SECRET']}")
    print(f"Inspection: {base}/_emulator  (Ctrl-C to stop)", flush=True)
    try:
        while not stopping.wait(0.1):
            pass
    finally:
        stop(server, thread)
    print("Zoom emulator stopped.", flush=True)
    return 0
