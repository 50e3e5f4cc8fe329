"""`spam-blocker report NUMBER --reporter ID [--reason TEXT] [--at ISO] [--not-spam]`: a person's word
about a number, sent to IngestQueue as the contract's `spam_report` (or `not_spam`) event — one of the
three ways spam reports reach the scorer (docs/contracts.md; the others are the event-bus rule and direct SQS sends).

The queue is INGEST_QUEUE_URL (or --queue-url); AWS credentials, region and AWS_ENDPOINT_URL are boto3's
own. The event is validated exactly as the scorer will validate it before anything is sent.
Exit codes: 0 sent; 2 bad usage or an invalid number/time; 1 the queue refused it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

FUTURE_TOLERANCE = timedelta(hours=1)  # clocks differ a little; a report dated days ahead is a typo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("report", help="report a number as spam (or, with --not-spam, as wanted)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("number", help="the number, in any written form (+1 907 555 0123, 907-555-0123)")
    parser.add_argument("--reporter", required=True, help="who reports it (an extension, an email, a bot's name)")
    parser.add_argument("--reason", help="why (robocall, scam, ...)")
    parser.add_argument("--at", metavar="ISO", help="when (ISO-8601 with zone); default now")
    parser.add_argument("--not-spam", action="store_true", help="send not_spam: the number is wanted")
    parser.add_argument("--queue-url", default=os.environ.get("INGEST_QUEUE_URL"),
                        help="IngestQueue URL (default: $INGEST_QUEUE_URL)")
    parser.add_argument("--region", default=os.environ.get("DEFAULT_REGION", "US"),
                        help="default region for numbers without a country code (default US)")
    parser.set_defaults(func=run)


def build_event(args: argparse.Namespace) -> dict[str, Any]:
    """The contract event; raises InvalidEvent with the scorer's own reason when it would be rejected."""
    from spam_blocker.domain.events import InvalidEvent, parse_ingest_event
    from spam_blocker.domain.evidence import Ignored, contribution_from

    event: dict[str, Any] = {
        "type": "not_spam" if args.not_spam else "spam_report",
        "phone_number": args.number,
        "reporter": args.reporter,
        "reported_at": args.at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if args.reason:
        event["reason"] = args.reason
    parsed = parse_ingest_event(json.dumps(event))
    if parsed.occurred_at > datetime.now(UTC) + FUTURE_TOLERANCE:
        raise InvalidEvent(f"--at {args.at} is in the future")
    result = contribution_from(parsed, args.region)
    if isinstance(result, Ignored):  # the scorer would drop it without a word: say so now
        raise InvalidEvent(f"{args.number!r} is never scored ({result.reason})")
    return event


def run(args: argparse.Namespace, *, sqs: Any = None) -> int:
    from spam_blocker.domain.events import InvalidEvent

    if not args.queue_url:
        print("spam-blocker report: no queue: set INGEST_QUEUE_URL or pass --queue-url", file=sys.stderr)
        return 2
    try:
        event = build_event(args)
    except InvalidEvent as exc:
        print(f"spam-blocker report: {exc.reason}", file=sys.stderr)
        return 2
    body = json.dumps(event, separators=(",", ":"))
    try:
        if sqs is None:
            import boto3

            sqs = boto3.client("sqs")
        response = sqs.send_message(QueueUrl=args.queue_url, MessageBody=body)
    except Exception as exc:  # boto3's errors and a missing region alike: say what happened, exit 1
        print(f"spam-blocker report: IngestQueue refused the report: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"sent": event, "message_id": response.get("MessageId")}))
    return 0
