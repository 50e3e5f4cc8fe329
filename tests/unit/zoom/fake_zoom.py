"""A small Zoom with behaviour, served to httpx through MockTransport (no sockets).

OAuth at /oauth/token (Basic client_id:client_secret, form grant_type + account_id), the blocked list
and call logs under /v2. Failures are scripted per route with `fail(...)`: an httpx.Response to answer,
an exception to raise (optionally after the request took effect: `after_commit=True`).
"""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass
from urllib.parse import parse_qs

import httpx
from spam_blocker.clock import ManualClock

API_URL = "https://api.zoom.test/v2"
OAUTH_URL = "https://zoom.test/oauth/token"
ACCOUNT_ID = "acct-1"
CLIENT_ID = "client-1"
CLIENT_SECRET = "s3cret-value"

VALID_FIELDS = {"match_type": {"phoneNumber", "prefix"}, "block_type": {"inbound", "outbound"},
                "status": {"active", "inactive"}}


def answer(status: int, body: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    if isinstance(body, str | bytes):
        return httpx.Response(status, content=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class _Fault:
    method: str
    path: str
    result: httpx.Response | Exception
    times: int
    after_commit: bool


class FakeZoom:
    def __init__(self, clock: ManualClock, *, expires_in: int = 3600, not_found: tuple[int, str] | None = None,
                 call_logs_key: str = "call_logs") -> None:
        self.clock = clock
        self.expires_in = expires_in
        self.not_found = not_found or (404, "Blocked list not found.")
        self.call_logs_key = call_logs_key
        self.entries: dict[str, dict] = {}
        self.call_logs: list[dict] = []
        self.valid_tokens: set[str] = set()
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        self._token_ids = itertools.count(1)
        self._entry_ids = itertools.count(1)
        self._faults: list[_Fault] = []

    # --- scripting and inspection ---

    def fail(self, method: str, path: str, result: httpx.Response | Exception, *, times: int = 1,
             after_commit: bool = False) -> None:
        self._faults.append(_Fault(method, path, result, times, after_commit))

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def add(self, **fields: str) -> str:
        entry_id = f"bl-{next(self._entry_ids)}"
        self.entries[entry_id] = {"id": entry_id, "status": "active", **fields}
        return entry_id

    def api_routes(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.api_requests]

    # --- the app ---

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            self.token_requests.append(request)
            return self._fault_or(request, self._oauth)
        # a snapshot: the auth flow re-sends the same request object with a new token after a 401
        self.api_requests.append(httpx.Request(request.method, request.url, headers=request.headers.copy(),
                                               content=request.content))
        return self._fault_or(request, self._api)

    def _fault_or(self, request: httpx.Request, handler) -> httpx.Response:
        for fault in self._faults:
            if fault.times > 0 and fault.method == request.method and request.url.path == fault.path:
                fault.times -= 1
                if fault.after_commit:
                    handler(request)
                if isinstance(fault.result, Exception):
                    raise fault.result
                return fault.result
        return handler(request)

    def _oauth(self, request: httpx.Request) -> httpx.Response:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = parse_qs(request.content.decode())
        if request.headers.get("Authorization") != expected:
            return answer(400, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
        if form != {"grant_type": ["account_credentials"], "account_id": [ACCOUNT_ID]}:
            return answer(400, {"reason": "Invalid request", "error": "invalid_request"})
        token = f"tok-{next(self._token_ids)}"
        self.valid_tokens.add(token)
        return answer(200, {"access_token": token, "token_type": "bearer", "expires_in": self.expires_in,
                            "scope": "phone:read:admin phone:write:admin", "api_url": "https://api.zoom.test"})

    def _api(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
            return answer(401, {"code": 124, "message": "Invalid access token."})
        path = request.url.path.removeprefix("/v2")
        if path == "/phone/blocked_list":
            return self._list(request) if request.method == "GET" else self._create(request)
        if path.startswith("/phone/blocked_list/"):
            return self._entry(request, path.rsplit("/", 1)[1])
        if path == "/phone/call_logs" and request.method == "GET":
            return self._call_logs(request)
        return answer(404, {"code": 404, "message": "Not found"})

    def _list(self, request: httpx.Request) -> httpx.Response:
        size = int(request.url.params.get("page_size", "30"))
        if not 1 <= size <= 100:
            return answer(400, {"code": 300, "message": "Invalid page_size."})
        start = int(request.url.params.get("next_page_token") or "0")
        items = list(self.entries.values())
        page = items[start:start + size]
        more = start + size < len(items)
        return answer(200, {"blocked_list": page, "next_page_token": str(start + size) if more else "",
                            "page_size": size, "total_records": len(items)})

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        for name, allowed in VALID_FIELDS.items():
            if name in body and body[name] not in allowed:
                return answer(400, {"code": 300, "message": f"Invalid parameter: {name}."})
        return answer(201, {"id": self.add(**body)})

    def _entry(self, request: httpx.Request, entry_id: str) -> httpx.Response:
        if entry_id not in self.entries:
            code, message = self.not_found
            return answer(400, {"code": code, "message": message})
        if request.method == "GET":
            return answer(200, self.entries[entry_id])
        if request.method == "PATCH":
            self.entries[entry_id].update(json.loads(request.content))
            return answer(204)
        if request.method == "DELETE":
            del self.entries[entry_id]
            return answer(204)
        return answer(405, {"code": 405, "message": "Method not allowed"})

    def _call_logs(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if "from" not in params or "to" not in params:
            return answer(400, {"code": 300, "message": "from and to are required."})
        size = int(params.get("page_size", "30"))
        start = int(params.get("next_page_token") or "0")
        page = self.call_logs[start:start + size]
        more = start + size < len(self.call_logs)
        return answer(200, {self.call_logs_key: page, "next_page_token": str(start + size) if more else None,
                            "page_size": size, "total_records": len(self.call_logs),
                            "from": params["from"], "to": params["to"]})
