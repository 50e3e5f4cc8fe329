"""`/_emulator/...`: look inside and steer the emulator over HTTP (no auth, no rate limits, not recorded).

    GET    /_emulator                     this list
    GET    /_emulator/entries             {"entries": [...]}
    POST   /_emulator/entries             add one as a person in the portal would -> 201 {"id"}
    DELETE /_emulator/entries/{id}        remove one as a person would -> 204 (404 if unknown)
    GET    /_emulator/requests[?since=N]  {"requests": [...]} recorded OAuth/API requests (seq >= N)
    GET    /_emulator/stats               counts per route and status, per status, per fault
    GET    /_emulator/call_logs           {"call_logs": [...]}
    POST   /_emulator/call_logs           [records] or {"call_logs": [records]} -> {"added": n}
    GET    /_emulator/faults              {"faults": [...]} still pending
    POST   /_emulator/faults              {"kind", "route"?, "count"?, "rate"?, options...} -> 201 the fault
    DELETE /_emulator/faults              drop every pending fault
    GET    /_emulator/config              the configuration (see config.py)
    POST   /_emulator/config              change it: {"plan"?, "limits"?, "retry_after_qps"?, ...}
    GET    /_emulator/clock               {"now": iso}
    POST   /_emulator/clock               {"advance_s": n} or {"set": iso} (clocks that can move only)
    POST   /_emulator/expire_tokens       every issued access token stops working
    POST   /_emulator/reset               fresh account ({"tokens": true} also revokes tokens)

Errors are `{"error": "..."}` with 400 (bad input), 404 (unknown) or 405 (method).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from spam_blocker.clock import parse_iso

from local.emulator.messages import Request, Response, json_response

if TYPE_CHECKING:
    from local.emulator.app import ZoomEmulator

PREFIX = "/_emulator"


class _BadInput(Exception):
    pass


def _error(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def _body(request: Request) -> Any:
    if not request.body.strip():
        return {}
    try:
        return json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _BadInput(f"body is not JSON: {exc}") from None


def _object(request: Request) -> dict[str, Any]:
    body = _body(request)
    if not isinstance(body, dict):
        raise _BadInput("body must be a JSON object")
    return body


class Inspection:
    def __init__(self, emulator: ZoomEmulator) -> None:
        self._emulator = emulator
        self._routes = {
            ("GET", ""): self._index,
            ("GET", "/entries"): self._entries,
            ("POST", "/entries"): self._add_entry,
            ("GET", "/requests"): self._requests,
            ("GET", "/stats"): lambda r: json_response(200, self._emulator.stats()),
            ("GET", "/call_logs"): lambda r: json_response(200, {"call_logs": self._emulator.call_logs()}),
            ("POST", "/call_logs"): self._add_call_logs,
            ("GET", "/faults"): self._faults,
            ("POST", "/faults"): self._inject,
            ("DELETE", "/faults"): self._clear_faults,
            ("GET", "/config"): lambda r: json_response(200, self._emulator.config.to_dict()),
            ("POST", "/config"): self._configure,
            ("GET", "/clock"): self._clock,
            ("POST", "/clock"): self._move_clock,
            ("POST", "/expire_tokens"): self._expire_tokens,
            ("POST", "/reset"): self._reset,
        }

    def handle(self, request: Request) -> Response:
        sub = request.path[len(PREFIX):].rstrip("/")
        if sub.startswith("/entries/") and request.method == "DELETE":
            return self._remove_entry(sub[len("/entries/"):])
        handler = self._routes.get((request.method, sub))
        if handler is None:
            if any(path == sub for _, path in self._routes):
                return _error(405, f"{request.method} not allowed on {request.path}")
            return _error(404, f"no inspection endpoint {request.path}")
        try:
            return handler(request)
        except (_BadInput, ValueError, TypeError) as exc:
            return _error(400, str(exc))

    def _index(self, request: Request) -> Response:
        from local.emulator import inspection

        lines = [line.strip() for line in (inspection.__doc__ or "").splitlines() if line.strip().startswith(
            ("GET", "POST", "DELETE"))]
        return json_response(200, {"endpoints": lines})

    def _entries(self, request: Request) -> Response:
        return json_response(200, {"entries": self._emulator.entries()})

    def _add_entry(self, request: Request) -> Response:
        body = _object(request)
        if not isinstance(body.get("phone_number"), str):
            raise _BadInput("phone_number (a string) is required")
        fields = {k: body[k] for k in ("match_type", "block_type", "status", "comment") if k in body}
        return json_response(201, {"id": self._emulator.add_entry(body["phone_number"], **fields)})

    def _remove_entry(self, entry_id: str) -> Response:
        if self._emulator.remove_entry(entry_id):
            return Response(204)
        return _error(404, f"no entry {entry_id!r}")

    def _requests(self, request: Request) -> Response:
        since_raw = request.query_value("since") or "0"
        if not since_raw.isdigit():
            raise _BadInput("since must be a non-negative integer")
        since = int(since_raw)
        records = [r.to_dict() for r in self._emulator.requests if r.seq >= since]
        return json_response(200, {"requests": records})

    def _add_call_logs(self, request: Request) -> Response:
        body = _body(request)
        records = body.get("call_logs") if isinstance(body, dict) else body
        if not isinstance(records, list):
            raise _BadInput("send a list of call-log records, or {\"call_logs\": [...]}")
        return json_response(200, {"added": self._emulator.add_call_logs(records)})

    def _faults(self, request: Request) -> Response:
        return json_response(200, {"faults": [f.to_dict() for f in self._emulator.faults.pending()]})

    def _inject(self, request: Request) -> Response:
        body = _object(request)
        if "kind" not in body:
            raise _BadInput("kind is required")
        fault = self._emulator.faults.inject(**body)
        return json_response(201, fault.to_dict())

    def _clear_faults(self, request: Request) -> Response:
        self._emulator.faults.clear()
        return Response(204)

    def _configure(self, request: Request) -> Response:
        return json_response(200, self._emulator.configure(**_object(request)))

    def _clock(self, request: Request) -> Response:
        return json_response(200, {"now": self._emulator.clock.now().isoformat()})

    def _move_clock(self, request: Request) -> Response:
        body = _object(request)
        clock = self._emulator.clock
        if not (hasattr(clock, "advance") and hasattr(clock, "set")):
            return _error(409, "this emulator's clock cannot be moved")
        if "advance_s" in body:
            seconds = body["advance_s"]
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                raise _BadInput("advance_s must be a non-negative number")
            clock.advance(seconds)
        elif "set" in body:
            clock.set(parse_iso(str(body["set"])))
        else:
            raise _BadInput("send {\"advance_s\": n} or {\"set\": iso}")
        return self._clock(request)

    def _expire_tokens(self, request: Request) -> Response:
        self._emulator.expire_tokens()
        return Response(204)

    def _reset(self, request: Request) -> Response:
        body = _object(request)
        self._emulator.reset(tokens=bool(body.get("tokens", False)))
        return Response(204)
