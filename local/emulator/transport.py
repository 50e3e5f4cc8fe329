"""An httpx transport into the emulator that fails the way a real socket does, without a socket.

- A dropped connection raises `httpx.RemoteProtocolError("Server disconnected without sending a
  response.")`, which is what httpx raises when a server closes the connection unanswered.
- A slow answer raises `httpx.ReadTimeout` when its delay exceeds the request's read timeout, and is
  otherwise returned at once: nothing really sleeps. The request has taken effect either way, as it
  would on a server that finishes its work after the client gave up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from local.emulator.faults import DELAY_HOOK, ConnectionDropped

if TYPE_CHECKING:
    from local.emulator.app import ZoomEmulator

DISCONNECTED = "Server disconnected without sending a response."


class EmulatorTransport(httpx.BaseTransport):
    def __init__(self, emulator: ZoomEmulator) -> None:
        self._emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        delays: list[float] = []

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            environ[DELAY_HOOK] = delays.append
            return self._emulator(environ, start_response)

        try:
            response = httpx.WSGITransport(app=app).handle_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(DISCONNECTED, request=request) from None
        read_timeout = (request.extensions.get("timeout") or {}).get("read")
        if delays and read_timeout is not None and sum(delays) > read_timeout:
            response.close()
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        return response
