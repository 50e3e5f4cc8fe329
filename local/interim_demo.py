"""Interim `make demo`: the Zoom emulator on 127.0.0.1, three numbers blocked through the real client.

    .venv/bin/python -m local.interim_demo

Until the full pipeline demo (`spam-blocker demo`) lands, this shows the Zoom half end to end over a
real socket: OAuth, POST /phone/blocked_list, the paged list, and the request counts the runner reports.
"""

from __future__ import annotations

import sys
from collections import Counter

from spam_blocker.zoom.client import RequestRecord, ZoomClient
from spam_blocker.zoom.errors import ZoomError

from local.emulator import ZoomEmulator, running

NUMBERS = ("+19075550123", "+14155550199", "+12125550147")
ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET = "demo-account", "demo-client-id", "demo-client-secret"


def main() -> int:
    emulator = ZoomEmulator(plan="pro", account_id=ACCOUNT_ID, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    records: list[RequestRecord] = []
    with running(emulator) as server:
        print(f"Zoom emulator listening on {server.base_url}")
        client = ZoomClient.create(f"{server.base_url}/v2", f"{server.base_url}/oauth/token", ACCOUNT_ID,
                                   CLIENT_ID, CLIENT_SECRET, on_request=records.append)
        with client:
            try:
                client.check_credentials()
                for number in NUMBERS:
                    entry_id = client.create_blocked(match_type="phoneNumber", phone_number=number,
                                                     block_type="inbound", comment="spam-blocker: interim demo")
                    print(f"  blocked {number:<14} -> Zoom entry {entry_id}")
                held = list(client.list_blocked())
            except ZoomError as exc:
                print(f"Zoom refused: {type(exc).__name__}: {exc}", file=sys.stderr)
                return 1

    print(f"\nZoom now holds {len(held)} blocked-list entries:")
    print(f"  {'id':<14} {'match_type':<12} {'phone_number':<14} {'block_type':<10} {'status':<8} comment")
    for entry in held:
        print(f"  {entry.id:<14} {entry.match_type or '':<12} {entry.phone_number or '':<14} "
              f"{entry.block_type or '':<10} {entry.status or '':<8} {entry.comment or ''}")
    counts = Counter(record.route for record in records)
    print("\nzoom_requests:", dict(sorted(counts.items())), "| zoom_429s:", sum(r.status == 429 for r in records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
