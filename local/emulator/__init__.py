"""A faithful fake of Zoom's Server-to-Server OAuth and Phone API (blocked list, call logs) for local runs.

    emulator = ZoomEmulator(plan="pro", clock=ManualClock())
    http = httpx.Client(transport=emulator.transport(), base_url="https://api.zoom.us/v2")   # in-process
    server, thread = serve(emulator, port=0)                                                 # or a socket

See README.md beside this file for the behaviour chosen where Zoom's documentation is unclear.
"""

from local.emulator.app import ZoomEmulator
from local.emulator.faults import ConnectionDropped, Fault, Faults
from local.emulator.request_log import RecordedRequest
from local.emulator.server import EmulatorServer, running, serve, stop
from local.emulator.shifted_clock import ShiftedClock

__all__ = [
    "ConnectionDropped",
    "EmulatorServer",
    "Fault",
    "Faults",
    "RecordedRequest",
    "ShiftedClock",
    "ZoomEmulator",
    "running",
    "serve",
    "stop",
]
