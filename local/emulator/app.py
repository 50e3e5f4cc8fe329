"""`ZoomEmulator`: a faithful fake of Zoom's OAuth and Phone blocked-list/call-log API, as a WSGI app.

Every request to `/oauth/token` or `/v2/...` goes through, in order:

    bearer check (401 code 124) -> rate limits (429) -> injected fault -> the operation

A request refused by the bearer check or the rate limiter does not count toward the limits or consume a
fault; an injected 429 does not count either; everything else that reaches the "backend" counts.
Each is recorded in `requests`. `/_emulator/...` is the inspection and control API (see
`inspection.py`): no auth, no limits, not recorded, never faulted.

The same object runs in-process (`emulator.transport()` for httpx) and behind a socket (`server.serve`).
A "drop" answer raises `ConnectionDropped` out of the WSGI call; a "slow" answer asks the host to wait
through the `DELAY_HOOK` environ key (the in-process transport only compares the delay with the
client's read timeout) and otherwise really sleeps. State is guarded by one lock; delays happen
outside it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import httpx
from spam_blocker.clock import Clock, SystemClock
from spam_blocker.domain.rate_plan import plan_limits, route_of

from local.emulator.blocked_list import BlockedListApi
from local.emulator.call_logs import CallLogsApi
from local.emulator.config import EmulatorConfig
from local.emulator.faults import DELAY_HOOK, OAUTH_ROUTE, ConnectionDropped, Fault, Faults
from local.emulator.messages import ApiError, Request, Response, json_response
from local.emulator.oauth import issue_token, require_bearer
from local.emulator.pagination import PageTokens
from local.emulator.rate_limits import QPS, RateLimiter, Rejection, next_gmt_midnight, too_many_requests
from local.emulator.request_log import RecordedRequest, RequestLog
from local.emulator.state import BlockedList, CallLogs, IdSource, Tokens
from local.emulator.validation import PORTAL_BLOCK_TYPES, entry_fields

OAUTH_PATH = "/oauth/token"
API_PREFIX = "/v2"
INSPECTION_PREFIX = "/_emulator"

_METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT")


class ZoomEmulator:
    def __init__(self, plan: str = "pro", clock: Clock | None = None, *, account_id: str = "dev-account",
                 client_id: str = "dev-client-id", client_secret: str = "dev-client-secret",
                 token_ttl_s: int = 3600, seed: int = 0) -> None:
        self.clock: Clock = clock or SystemClock()
        self.account_id = account_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl_s = token_ttl_s
        self.seed = seed
        self._lock = threading.RLock()
        self._initial_config = EmulatorConfig(plan_limits(plan))
        self.config = self._initial_config.copy()
        ids = IdSource(seed)
        self._entries = BlockedList(ids)
        self._tokens = Tokens()
        self._call_logs = CallLogs(ids)
        self._page_tokens = PageTokens()
        self._log = RequestLog()
        self._limiter = RateLimiter(self.config.limits)
        self.faults = Faults(seed)
        self._blocked_list = BlockedListApi(self._entries, self._page_tokens, self.config)
        self._call_logs_api = CallLogsApi(self._call_logs, self._page_tokens, self.config)
        self._routes: dict[str, Callable[[Request, datetime], Response]] = {
            "GET /phone/blocked_list": self._blocked_list.list,
            "POST /phone/blocked_list": self._blocked_list.create,
            "GET /phone/blocked_list/{id}": lambda r, now: self._blocked_list.get(r, _last_segment(r), now),
            "PATCH /phone/blocked_list/{id}": lambda r, now: self._blocked_list.update(r, _last_segment(r), now),
            "DELETE /phone/blocked_list/{id}": lambda r, now: self._blocked_list.delete(r, _last_segment(r), now),
            "GET /phone/call_logs": self._call_logs_api.list,
            "GET /phone/call_history": self._call_logs_api.history,
        }
        from local.emulator.inspection import Inspection  # circular: inspection drives this class

        self._inspection = Inspection(self)

    # ---- WSGI -------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = self.handle(Request.from_environ(environ))
        if response.delay_s > 0:
            environ.get(DELAY_HOOK, time.sleep)(response.delay_s)
        if response.drop:
            raise ConnectionDropped("emulated fault: connection dropped without a response")
        headers = list(response.headers)
        if response.status != 204 and response.status != 304:
            headers.append(("Content-Length", str(len(response.body))))
        start_response(response.status_line, headers)
        return [response.body] if response.body else []

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport into this emulator, with socket-like failures (see `transport.py`)."""
        from local.emulator.transport import EmulatorTransport

        return EmulatorTransport(self)

    # ---- inspection and control (in-process) -------------------------------------------------------

    def entries(self) -> list[dict[str, str]]:
        with self._lock:
            return [entry.as_dict() for entry in self._entries.ordered()]

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return self._log.all()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self._log.stats(), "entries": len(self._entries), "call_logs": len(self._call_logs),
                    "tokens_issued": self._tokens.issued_count}

    def add_entry(self, phone_number: str, match_type: str = "phoneNumber", block_type: str = "inbound",
                  status: str = "active", comment: str = "") -> str:
        """Adds an entry as a person in the Zoom portal would (block_type "threat" allowed); returns its id."""
        body = {"phone_number": phone_number, "match_type": match_type, "block_type": block_type,
                "status": status, "comment": comment}
        try:
            fields = entry_fields(body, block_types=PORTAL_BLOCK_TYPES)
        except ApiError as exc:
            raise ValueError(exc.message) from None
        with self._lock:
            return self._entries.add(**fields).id

    def remove_entry(self, entry_id: str) -> bool:
        """Deletes an entry as a person in the portal would; False if there was none."""
        with self._lock:
            return self._entries.remove(entry_id)

    def add_call_logs(self, records: list[dict[str, Any]]) -> int:
        with self._lock:
            return self._call_logs.add(records)

    def call_logs(self) -> list[dict[str, Any]]:
        with self._lock:
            return [log.record for log in self._call_logs.all()]

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (the next API call answers 401 code 124)."""
        with self._lock:
            self._tokens.expire_all()

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Changes behaviour (see `config.py`: plan, limits, retry_after_qps, retry_after_daily,
        not_found_code, echo_plus, call_log_apis); returns the whole configuration."""
        with self._lock:
            self.config.update(**changes)
            self._limiter.limits = self.config.limits
            return self.config.to_dict()

    def reset(self, *, tokens: bool = False) -> None:
        """Back to a fresh account: no entries, call logs, recorded requests, faults, page tokens or rate
        counters, and the configuration given at construction. Issued access tokens stay valid unless
        `tokens=True` (credentials are not account data)."""
        with self._lock:
            self._entries.clear()
            self._call_logs.clear()
            self._page_tokens.clear()
            self._log.clear()
            self._limiter.reset()
            self.faults.clear()
            self.config.restore(self._initial_config)
            self._limiter.limits = self.config.limits
            if tokens:
                self._tokens.expire_all()

    # ---- request handling --------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path == INSPECTION_PREFIX or request.path.startswith(INSPECTION_PREFIX + "/"):
            with self._lock:
                return self._inspection.handle(request)
        with self._lock:
            now = self.clock.now()
            fault: Fault | None = None
            if request.path == OAUTH_PATH:
                route, category = f"{request.method} {OAUTH_PATH}", None
                fault = self.faults.take(route) if route == OAUTH_ROUTE else None
                response = self._answer(fault, lambda: self._issue_token(request, now))
            elif request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/"):
                route, category = route_of(request.method, request.path)
                response, fault = self._api(request, route, category, now)
            else:
                route, category = f"{request.method} {request.path}", None
                response = json_response(404, {"code": 404, "message": f"No such path: {request.path}"})
            self._log.add(at=now, method=request.method, path=request.path, query=request.query_string,
                          route=route, category=category, status=None if response.drop else response.status,
                          fault=fault.kind if fault else None, body=request.body_text())
            return response

    def _issue_token(self, request: Request, now: datetime) -> Response:
        return issue_token(request, tokens=self._tokens, account_id=self.account_id, client_id=self.client_id,
                           client_secret=self.client_secret, ttl_s=self.token_ttl_s, now=now)

    def _api(self, request: Request, route: str, category: str, now: datetime) -> tuple[Response, Fault | None]:
        try:
            require_bearer(request, self._tokens, now)
        except ApiError as exc:
            return self._with_limit_headers(exc.to_response(), category, now), None
        rejection = self._limiter.check(category, now)
        if rejection is not None:
            form = self.config.retry_after[rejection.limit_type]
            return too_many_requests(rejection, now, form).to_response(), None
        fault = self.faults.take(route)
        if fault is not None and fault.kind == "429":
            return self._injected_429(fault, category, now), fault
        self._limiter.record(category, now)
        response = self._answer(fault, lambda: self._dispatch(request, route, now))
        if not response.drop and response.header("Content-Type") != "text/html":
            self._with_limit_headers(response, category, now)
        return response, fault

    def _dispatch(self, request: Request, route: str, now: datetime) -> Response:
        handler = self._routes.get(route)
        try:
            if handler is not None:
                return handler(request, now)
            if any(route_of(method, request.path)[0] in self._routes for method in _METHODS):
                raise ApiError(405, 405, f"Method {request.method} not allowed on {request.path}.")
            raise ApiError(404, 404, f"No such API: {request.method} {request.path}.")
        except ApiError as exc:
            return exc.to_response()

    def _answer(self, fault: Fault | None, run: Callable[[], Response]) -> Response:
        """Runs the operation, shaped by a fault. (A 429 fault on an API route never gets here: `_api` answers
        it before the limiter counts the request. On OAuth it does.)"""
        if fault is None:
            return run()
        if fault.kind == "429":
            return self._injected_429(fault, "Light", self.clock.now())
        if fault.kind == "drop":
            return Response(0, drop=True)
        if fault.kind == "5xx":
            return _server_error(fault)
        response = run()
        if fault.kind == "slow":
            response.delay_s = fault.delay_s
            return response
        # commit_then_fail: the operation took effect; its answer is lost.
        return Response(0, drop=True) if fault.fail_with == "drop" else _server_error(fault)

    def _injected_429(self, fault: Fault, category: str, now: datetime) -> Response:
        limits = self.config.limits
        if fault.limit_type == QPS:
            retry_at = now + timedelta(seconds=fault.retry_after_s if fault.retry_after_s is not None else 1)
            rejection = Rejection(category, QPS, limits.qps(category), retry_at)
        else:
            rejection = Rejection(category, fault.limit_type, limits.daily, next_gmt_midnight(now))
        form = fault.retry_after or self.config.retry_after[fault.limit_type]
        return too_many_requests(rejection, now, form).to_response()

    def _with_limit_headers(self, response: Response, category: str, now: datetime) -> Response:
        if response.header("X-RateLimit-Category") is None:
            response.headers.extend(self._limiter.headers(category, now))
        return response


def _last_segment(request: Request) -> str:
    return request.path.rstrip("/").rsplit("/", 1)[-1]


def _server_error(fault: Fault) -> Response:
    status = int(fault.status)
    if fault.html:
        page = f"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
        return Response(status, [("Content-Type", "text/html")], page.encode())
    response = json_response(status, {"code": status, "message": Response(status).status_line[4:] + "."})
    if fault.retry_after_s is not None:
        response.headers.append(("Retry-After", str(max(0, round(fault.retry_after_s)))))
    return response
