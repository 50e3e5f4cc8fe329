"""The ingest Lambda behind a local HTTP server, as a Lambda Function URL would run it.

    server = build_webhook_server("127.0.0.1", 0, sqs_client=sqs, ingest_queue_url=url,
                                  secret_token=token, on_enqueued=print_events)
    thread = start(server)            # background thread; server.base_url has the real port
    ...
    stop(server, thread)

Each request becomes a Function URL event (payload format 2.0: lower-case headers, the body as text or
base64, `requestContext.http.method`), `functions.ingest.handler.lambda_handler` runs on it with a Lambda
context and deps composed here (the given clients, a Deliveries table), and its response is written
back. Invocations are serialised, as in one Lambda container; sockets are read and written in parallel.
Like a Function URL, a body over 6 MB is refused before the function runs, and a function that raises
answers 502.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from typing import Any
from urllib.parse import urlsplit

from spam_blocker.adapters.sqs_queue import SqsQueue
from spam_blocker.adapters.tables import DELIVERIES_TABLE, create_table
from spam_blocker.clock import Clock
from spam_blocker.config.ingest import (
    DEFAULT_DELIVERY_TTL_S,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_SKEW_S,
    IngestSettings,
)
from spam_blocker.domain.webhook import WebhookSecret
from spam_blocker.wiring.ingest import IngestDeps, build_deps

from local.esm_loop import LambdaContext

FUNCTION_URL_MAX_BODY = 6 * 1024 * 1024
FUNCTION_NAME = "ingest"
FUNCTION_TIMEOUT_S = 5.0
DEFAULT_DELIVERIES_TABLE = "webhook-deliveries"
_TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")

OnEnqueued = Callable[[list[dict[str, Any]]], None]
Invoke = Callable[[dict[str, Any], Any], dict[str, Any]]  # (Function URL event, Lambda context) -> response


class WebhookSecretMissing(RuntimeError):
    """No secret token given and ZOOM_WEBHOOK_SECRET_TOKEN unset."""


class ObservedQueue:
    """IngestQueue, telling `on_enqueued` about every batch of events once SQS has taken it."""

    def __init__(self, queue: SqsQueue, on_enqueued: OnEnqueued | None) -> None:
        self._queue = queue
        self._on_enqueued = on_enqueued

    def send_many(self, bodies: Iterable[str]) -> int:
        bodies = list(bodies)
        sent = self._queue.send_many(bodies)
        if self._on_enqueued is not None:
            try:
                self._on_enqueued([json.loads(body) for body in bodies])
            except Exception as exc:  # an observer must not turn an enqueued delivery into a failure
                print(f"serve-webhook: on_enqueued failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return sent


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], *, invoke: Invoke, log_requests: bool = False) -> None:
        self.invoke = invoke
        self.log_requests = log_requests
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up with socket.getfqdn (a DNS query): not needed here.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    @property
    def base_url(self) -> str:
        return f"http://{self.server_name}:{self.server_port}"


def function_url_event(*, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes,
                       source_ip: str, request_id: str) -> dict[str, Any]:
    """One HTTP request as a Lambda Function URL event, payload format 2.0."""
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    content_type = merged.get("content-type", "").lower()
    text: str | None = None
    if not body:
        text = ""
    elif content_type.startswith(_TEXT_TYPES):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    parts = urlsplit(target)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": merged,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": merged.get("host", "localhost"),
            "http": {"method": method, "path": parts.path or "/", "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": merged.get("user-agent", "")},
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
        },
        "isBase64Encoded": text is None,
    }
    if body or text is None:
        event["body"] = text if text is not None else base64.b64encode(body).decode("ascii")
    return event


class _RequestHandler(BaseHTTPRequestHandler):
    server: WebhookServer
    timeout = 10  # seconds a client may take to send its request

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in {"content-length", "connection", "date", "server"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._answer(status, {"content-type": "application/json"}, json.dumps({"message": message}).encode())

    def _dispatch(self) -> None:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._error(411, "Length Required")
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            return self._error(400, "Bad Request")
        if length < 0:
            return self._error(400, "Bad Request")
        if length > FUNCTION_URL_MAX_BODY:
            return self._error(413, "Request Entity Too Large")
        body = self.rfile.read(length) if length else b""
        context = LambdaContext(function_name=FUNCTION_NAME, timeout_s=FUNCTION_TIMEOUT_S)
        event = function_url_event(method=self.command, target=self.path, headers=self.headers.items(), body=body,
                                   source_ip=self.client_address[0], request_id=context.aws_request_id)
        try:
            response = self.server.invoke(event, context)
        except Exception as exc:  # a Function URL answers 502 when the function fails
            print(f"serve-webhook: ingest handler raised {type(exc).__name__}: {exc}", file=sys.stderr)
            return self._error(502, "Internal Server Error")
        payload = response.get("body") or ""
        raw = base64.b64decode(payload) if response.get("isBase64Encoded") else str(payload).encode("utf-8")
        self._answer(int(response.get("statusCode", 200)), dict(response.get("headers") or {}), raw)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.log_requests:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


def build_webhook_server(host: str, port: int, *, sqs_client: Any, ingest_queue_url: str,
                         dynamodb_client: Any = None, deliveries_table: str | None = None,
                         secret_token: str | None = None, clock: Clock | None = None,
                         on_enqueued: OnEnqueued | None = None,
                         max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_skew_s: int = DEFAULT_MAX_SKEW_S,
                         delivery_ttl_s: int = DEFAULT_DELIVERY_TTL_S,
                         log_requests: bool = False) -> WebhookServer:
    """A bound (not yet serving) server running the ingest handler; port 0 picks a free one.

    Events go to `ingest_queue_url` through `sqs_client`. Delivery keys go to `deliveries_table` through
    `dynamodb_client` (default: a DynamoDB client in the SQS client's region); the table is
    created if it does not exist (default name 'webhook-deliveries'). The secret token defaults to
    ZOOM_WEBHOOK_SECRET_TOKEN (WebhookSecretMissing if neither is set). `on_enqueued` gets the contract
    events of each accepted delivery once they are on the queue. `clock` defaults to the system clock.
    Serve it with `start(server)` or `server.serve_forever()`.
    """
    token = secret_token if secret_token is not None else os.environ.get("ZOOM_WEBHOOK_SECRET_TOKEN", "")
    if not token:
        raise WebhookSecretMissing("ZOOM_WEBHOOK_SECRET_TOKEN is not set")
    if dynamodb_client is None:
        import boto3

        dynamodb_client = boto3.client("dynamodb", region_name=sqs_client.meta.region_name)
    table = deliveries_table or DEFAULT_DELIVERIES_TABLE
    _ensure_table(dynamodb_client, table)
    settings = IngestSettings(ingest_queue_url=ingest_queue_url, deliveries_table=table,
                              zoom_webhook_secret_token=token, max_body_bytes=max_body_bytes,
                              max_skew_s=max_skew_s, delivery_ttl_s=delivery_ttl_s)
    deps = build_deps(settings, secret=WebhookSecret.of(token), sqs_client=sqs_client,
                      dynamodb_client=dynamodb_client, clock=clock,
                      queue=ObservedQueue(SqsQueue(sqs_client, ingest_queue_url), on_enqueued))
    return WebhookServer((host, port), invoke=_invoker(deps), log_requests=log_requests)


def _ingest_lambda_handler() -> Invoke:
    """functions/ is not an installed package (pyproject installs spam_blocker and local), so the
    console script finds it from the repository root, local/'s parent, when it is not on sys.path."""
    try:
        from functions.ingest.handler import lambda_handler
    except ModuleNotFoundError:
        sys.path.append(str(Path(__file__).resolve().parents[1]))
        from functions.ingest.handler import lambda_handler
    return lambda_handler


def _invoker(deps: IngestDeps) -> Invoke:
    lambda_handler = _ingest_lambda_handler()
    lock = threading.Lock()  # one invocation at a time, as in one Lambda container

    def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with lock:
            return lambda_handler(event, context, deps=deps)

    return invoke


def _ensure_table(client: Any, name: str) -> None:
    try:
        client.describe_table(TableName=name)
    except client.exceptions.ResourceNotFoundException:
        create_table(client, name, DELIVERIES_TABLE)


def start(server: WebhookServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"webhook-server-{server.server_port}", daemon=True)
    thread.start()
    return thread


def stop(server: WebhookServer, thread: threading.Thread, timeout_s: float = 5.0) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout_s)
