"""The emulator behind a real HTTP socket: a threading wsgiref server for the CLI and socket-level tests.

    server, thread = serve(emulator, port=0)     # background thread; server.base_url has the real port
    ...
    stop(server, thread)

Faults become real here: a "drop" closes the socket without writing a byte (the app raises a
ConnectionAbortedError, which wsgiref answers by closing), and a "slow" answer really sleeps, in the
request's own thread and outside the emulator's lock. One request per connection (HTTP/1.0 answers).
"""

from __future__ import annotations

import contextlib
import io
import socketserver
import sys
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer


class EmulatorServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False  # a request sleeping in a "slow" fault must not hold up shutdown
    allow_reuse_address = True
    log_requests = False

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up with socket.getfqdn (a DNS query): not needed here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)
        self.setup_environ()

    @property
    def base_url(self) -> str:
        return f"http://{self.server_name}:{self.server_port}"


class _RequestHandler(WSGIRequestHandler):
    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            # wsgiref passes chunked bodies through undecoded; real HTTP servers (Zoom's too) decode them.
            body = _read_chunked(self.rfile)
            self.rfile = io.BufferedReader(io.BytesIO(body))  # type: ignore[assignment]
            del self.headers["Transfer-Encoding"]
            self.headers["Content-Length"] = str(len(body))
        return True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if getattr(self.server, "log_requests", False):
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


def _read_chunked(stream: Any) -> bytes:
    body = bytearray()
    while True:
        size = int(stream.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline(65537).strip():  # trailer fields, up to the blank line
                pass
            return bytes(body)
        body += stream.read(size)
        stream.readline(65537)  # the CRLF after each chunk


def serve(emulator: Any, host: str = "127.0.0.1", port: int = 0, *,
          log_requests: bool = False) -> tuple[EmulatorServer, threading.Thread]:
    """Starts serving `emulator` (any WSGI app) on host:port in a daemon thread; port 0 picks a free one."""
    server = EmulatorServer((host, port), _RequestHandler)
    server.set_app(emulator)
    server.log_requests = log_requests
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"zoom-emulator-{server.server_port}", daemon=True)
    thread.start()
    return server, thread


def stop(server: EmulatorServer, thread: threading.Thread, timeout_s: float = 5.0) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout_s)


@contextlib.contextmanager
def running(emulator: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[EmulatorServer]:
    server, thread = serve(emulator, host, port)
    try:
        yield server
    finally:
        stop(server, thread)
