"""ZoomClient: the Phone API calls we use (ports.ZoomPhone), the httpx way.

`ZoomClient(http)` takes an `httpx.Client` that already carries `base_url` (…/v2) and the auth
(`ZoomOAuth`); `ZoomClient.create(...)` builds one with timeouts, connection limits and a User-Agent.

Per call:
- One request, with the OAuth flow inside httpx (token cached per process, refresh-once on 401).
- Success: the body parsed into a pydantic model (a malformed one -> ZoomBadResponse).
- Failure: one typed ZoomError from `responses.error_for` (the tree is in errors.py).
- Retries: only for idempotent methods (GET, PATCH, DELETE), only on 5xx and transport errors, at most
  `max_retries`, with capped exponential backoff and equal jitter (attempt n waits between half and all
  of min(backoff_cap_s, backoff_base_s * 2**n); a 5xx's Retry-After raises the wait to it). A retry
  whose wait would push the call's total sleep past `max_inline_wait_s` is not made: the error goes to
  the caller, who owns long waits. POST is never retried (not idempotent; the blocker resolves the
  ambiguity of `may_have_committed`). 429 is never retried: ZoomRateLimited carries `retry_at`.
  A retried DELETE whose first attempt did commit ends in ZoomNotFound, which callers treat as done.
- `on_request(RequestRecord)` for every API request actually sent: each retry, the 401 before a refresh,
  429s and transport failures (status None) included; OAuth token requests excluded.

Call logs: Zoom is replacing `GET /phone/call_logs` with `GET /phone/call_history` (same query, records in
a new shape that domain.events reads as well). `call_log_api="auto"` (the default) asks `/phone/call_logs`
and, once that answers 404 or 410 (retired), switches to `/phone/call_history` for the client's life - one
extra request per container. "call_logs" or "call_history" pins one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import httpx

from spam_blocker.clock import Clock, SystemClock
from spam_blocker.domain.rate_plan import route_of
from spam_blocker.observability import logger
from spam_blocker.zoom.auth import DEFAULT_TIMEOUT, USER_AGENT, ZoomOAuth
from spam_blocker.zoom.errors import (
    PermitExpired,
    ZoomBadResponse,
    ZoomError,
    ZoomNotFound,
    ZoomServerError,
    ZoomTransportError,
)
from spam_blocker.zoom.models import BlockedEntry, BlockedListPage, CallLogsPage, CreatedEntry
from spam_blocker.zoom.responses import error_for, parse_model

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
DEFAULT_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5, keepalive_expiry=30.0)
BLOCKED_LIST = "/phone/blocked_list"
CALL_LOGS = "/phone/call_logs"
CALL_HISTORY = "/phone/call_history"
CALL_LOG_APIS = ("auto", "call_logs", "call_history")


@dataclass(frozen=True)
class RequestRecord:
    """One API request sent to Zoom (OAuth excluded)."""

    route: str  # "METHOD /templated/path", e.g. "DELETE /phone/blocked_list/{id}"
    category: str  # Light | Medium | Heavy (rate_plan.route_of)
    status: int | None  # None: a transport error, no answer
    at: datetime  # by the client's clock, when the request was sent


class ZoomClient:
    def __init__(self, http: httpx.Client, *, clock: Clock | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_retries: int = 2,
                 max_inline_wait_s: float = 1.0, rng: random.Random | None = None,
                 on_request: Callable[[RequestRecord], None] | None = None,
                 backoff_base_s: float = 0.2, backoff_cap_s: float = 0.8, call_log_api: str = "auto") -> None:
        if max_retries < 0 or max_inline_wait_s < 0:
            raise ValueError("max_retries and max_inline_wait_s must be >= 0")
        if call_log_api not in CALL_LOG_APIS:
            raise ValueError(f"call_log_api must be one of {', '.join(CALL_LOG_APIS)}, not {call_log_api!r}")
        self._call_log_auto = call_log_api == "auto"
        self._call_log_path = CALL_HISTORY if call_log_api == "call_history" else CALL_LOGS
        self._http = http
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._max_retries = max_retries
        self._max_wait = max_inline_wait_s
        self._rng = rng or random.Random()
        self._on_request = on_request
        self._backoff_base = backoff_base_s
        self._backoff_cap = backoff_cap_s

    @classmethod
    def create(cls, api_url: str, oauth_url: str, account_id: str, client_id: str, client_secret: str, *,
               transport: httpx.BaseTransport | None = None, timeout: httpx.Timeout = DEFAULT_TIMEOUT,
               limits: httpx.Limits = DEFAULT_LIMITS, clock: Clock | None = None,
               on_request: Callable[[RequestRecord], None] | None = None,
               sleep: Callable[[float], None] = time.sleep, max_retries: int = 2,
               max_inline_wait_s: float = 1.0, rng: random.Random | None = None,
               call_log_api: str = "auto") -> ZoomClient:
        """A client with its own httpx.Client: pooled keep-alive connections, a timeout on every phase
        (connect, read, write, pool), redirects off, our User-Agent. `api_url` may end in /v2 or not."""
        auth = ZoomOAuth(oauth_url, account_id, client_id, client_secret, clock=clock, rng=rng)
        http = httpx.Client(
            base_url=api_base(api_url), auth=auth, transport=transport, timeout=timeout, limits=limits,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"}, follow_redirects=False,
        )
        return cls(http, clock=clock, sleep=sleep, max_retries=max_retries,
                   max_inline_wait_s=max_inline_wait_s, rng=rng, on_request=on_request, call_log_api=call_log_api)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ZoomClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the Phone API (ports.ZoomPhone) ---------------------------------------------------------------

    def check_credentials(self) -> None:
        """Fetch a token now (refreshing the shared cache): ZoomAuthFailed if refused, ZoomTransportError
        if the token endpoint is unreachable. Without ZoomOAuth, the cheapest read proves the credentials."""
        auth = self._http.auth
        if not isinstance(auth, ZoomOAuth):
            self.list_blocked_page(page_size=1)
            return
        flow = auth.token_flow(self._http.timeout.as_dict())
        token_request = next(flow)
        try:
            response = self._http.send(token_request, auth=None)
        except httpx.RequestError as exc:
            raise ZoomTransportError(f"{type(exc).__name__} while fetching a Zoom OAuth token",
                                     may_have_committed=False, route="POST /oauth/token") from None
        try:
            flow.send(response)
        except StopIteration:
            return
        raise ZoomBadResponse("the token flow asked for a second request", route="POST /oauth/token")

    def list_blocked(self, page_size: int = 100) -> Iterator[BlockedEntry]:
        """Every entry, following `next_page_token` until it is empty or absent."""
        for page in self._pages(lambda token: self.list_blocked_page(page_size, token)):
            yield from page.blocked_list

    def list_blocked_page(self, page_size: int = 100, next_page_token: str | None = None) -> BlockedListPage:
        params: dict[str, Any] = {"page_size": page_size}
        if next_page_token:
            params["next_page_token"] = next_page_token
        route, response = self._request("GET", BLOCKED_LIST, params=params)
        return parse_model(response, BlockedListPage, route=route)

    def get_blocked(self, blocked_id: str) -> BlockedEntry:
        route, response = self._request("GET", _entry_path(blocked_id))
        return parse_model(response, BlockedEntry, route=route)

    def create_blocked(self, *, match_type: str, phone_number: str, block_type: str,
                       comment: str | None = None, status: str = "active", send_by: datetime | None = None) -> str:
        """The new entry's id (201, or 200 with an `id`). Never retried: on ZoomTransportError with
        `may_have_committed`, or a 5xx, the entry may exist; the caller resolves that. With `send_by` (a
        rate-limit permit's deadline) the request is checked the moment before it is handed to the
        transport, and not sent after it: PermitExpired."""
        body = {"match_type": match_type, "phone_number": phone_number, "block_type": block_type,
                "status": status}
        if comment is not None:
            body["comment"] = comment
        route, response = self._request("POST", BLOCKED_LIST, json=body, send_by=send_by)
        return parse_model(response, CreatedEntry, route=route).id

    def update_blocked(self, blocked_id: str, **fields: str) -> None:
        if not fields:
            raise ValueError("update_blocked needs at least one field")
        self._request("PATCH", _entry_path(blocked_id), json=fields)

    def delete_blocked(self, blocked_id: str) -> None:
        self._request("DELETE", _entry_path(blocked_id))

    def call_logs_page(self, *, date_from: date, date_to: date, next_page_token: str | None = None,
                       page_size: int = 300, log_type: str = "all") -> CallLogsPage:
        """One page of the account's call logs, from whichever of the two APIs this account answers (see the
        module docstring). `log_type` "missed" exists on `/phone/call_logs` only."""
        params: dict[str, Any] = {"from": _day(date_from), "to": _day(date_to), "page_size": page_size}
        if next_page_token:
            params["next_page_token"] = next_page_token
        path = self._call_log_path
        try:
            return self._call_logs_from(path, params, log_type)
        except ZoomNotFound as exc:
            if not (self._call_log_auto and path == CALL_LOGS and exc.status in (404, 410)):
                raise
            logger.warning("GET /phone/call_logs is retired here; reading GET /phone/call_history",
                           extra={"status": exc.status})
            self._call_log_path = CALL_HISTORY
            return self._call_logs_from(CALL_HISTORY, params, log_type)

    @property
    def call_log_path(self) -> str:
        """The call-log API this client reads: CALL_LOGS, or CALL_HISTORY (pinned, or after a fallback)."""
        return self._call_log_path

    def _call_logs_from(self, path: str, params: dict[str, Any], log_type: str) -> CallLogsPage:
        if path == CALL_LOGS:
            params = {**params, "type": log_type}
        elif log_type != "all":
            raise ValueError(f"log_type {log_type!r} exists on {CALL_LOGS} only")
        route, response = self._request("GET", path, params=params)
        return parse_model(response, CallLogsPage, route=route)

    def iter_call_logs(self, date_from: date, date_to: date, *, page_size: int = 300,
                       log_type: str = "all") -> Iterator[dict]:
        """Every call-log record in the range, page after page."""
        def page(token: str | None) -> CallLogsPage:
            return self.call_logs_page(date_from=date_from, date_to=date_to, next_page_token=token,
                                       page_size=page_size, log_type=log_type)

        for one in self._pages(page):
            yield from one.call_logs

    # --- machinery -------------------------------------------------------------------------------------

    def _pages(self, fetch: Callable[[str | None], Any]) -> Iterator[Any]:
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = fetch(token)
            yield page
            token = page.next_page_token
            if not token:
                return
            if token in seen:  # an endless loop otherwise
                raise ZoomBadResponse("Zoom repeated a next_page_token", status=200)
            seen.add(token)

    def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                 json: Any = None, send_by: datetime | None = None) -> tuple[str, httpx.Response]:
        """One call: send, retry what may be retried, map failures. Returns (route, 2xx response)."""
        route, category = route_of(method, path)
        retryable = method in IDEMPOTENT_METHODS
        waited = 0.0
        attempt = 0
        while True:
            try:
                return route, self._send_once(method, path, params, json, route, category, send_by)
            except (ZoomServerError, ZoomTransportError) as exc:
                if (not retryable or isinstance(exc, ZoomBadResponse | PermitExpired)
                        or attempt >= self._max_retries):
                    raise
                delay = self._backoff(attempt, exc)
                if waited + delay > self._max_wait:
                    raise
                logger.warning("Zoom call failed; retrying", extra={
                    "route": route, "status": exc.status, "error": type(exc).__name__,
                    "attempt": attempt + 1, "delay_s": round(delay, 3)})
                self._sleep(delay)
                waited += delay
                attempt += 1

    def _backoff(self, attempt: int, exc: ZoomError) -> float:
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** attempt)
        delay = ceiling / 2 + self._rng.random() * ceiling / 2
        retry_at = getattr(exc, "retry_at", None)
        if retry_at is not None:
            delay = max(delay, (retry_at - self._clock.now()).total_seconds())
        return delay

    def _send_once(self, method: str, path: str, params: Mapping[str, Any] | None, json: Any,
                   route: str, category: str, send_by: datetime | None = None) -> httpx.Response:
        request = self._http.build_request(method, path, params=params, json=json)
        observed = _Observed(self._http.auth, request, route, category, self._clock, self._record, send_by)
        try:
            response = self._http.send(request, auth=observed)
        except httpx.RequestError as exc:
            failed = _failed_request(exc)
            if failed is None or failed is request:  # ours (or unknown: assume ours, the cautious reading)
                self._record(RequestRecord(route, category, None, observed.sent_at or self._clock.now()))
                raise error_for(exc, route=route, category=category, now=self._clock.now()) from None
            raise ZoomTransportError(f"{type(exc).__name__} while fetching a Zoom OAuth token",
                                     may_have_committed=False, route=route) from None
        except ZoomError as exc:  # raised by the OAuth flow (credentials refused, token endpoint 5xx...)
            if exc.route is None:
                exc.route = route
            raise
        if 200 <= response.status_code < 300:
            return response
        raise error_for(response, route=route, category=category, now=self._clock.now(), rng=self._rng)

    def _record(self, record: RequestRecord) -> None:
        if self._on_request is not None:
            self._on_request(record)


class _Observed(httpx.Auth):
    """Wraps the client's auth for one call to see each attempt of *our* request (not the token's)."""

    def __init__(self, inner: httpx.Auth | None, request: httpx.Request, route: str, category: str,
                 clock: Clock, record: Callable[[RequestRecord], None], send_by: datetime | None = None) -> None:
        self._inner = inner or httpx.Auth()
        self._send_by = send_by
        self._request = request
        self._route = route
        self._category = category
        self._clock = clock
        self._record = record
        self.sent_at: datetime | None = None  # when our request was last handed to the transport

    def sync_auth_flow(self, request: httpx.Request):
        flow = self._inner.sync_auth_flow(request)
        outgoing = next(flow)
        while True:
            ours = outgoing is self._request
            if ours:
                self.sent_at = self._clock.now()
                if self._send_by is not None and self.sent_at > self._send_by:
                    late_ms = (self.sent_at - self._send_by).total_seconds() * 1000
                    raise PermitExpired(f"not sent: its rate-limit permit ran out {late_ms:.0f} ms ago",
                                        route=self._route)
            response = yield outgoing
            if ours:
                self._record(RequestRecord(self._route, self._category, response.status_code, self.sent_at))
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return


def api_base(api_url: str) -> str:
    """'https://api.zoom.us' or 'https://api.zoom.us/v2/' -> 'https://api.zoom.us/v2'."""
    base = api_url.rstrip("/")
    return base if base.endswith("/v2") else base + "/v2"


def _entry_path(blocked_id: str) -> str:
    if not isinstance(blocked_id, str) or not blocked_id.strip():
        raise ValueError("a blocked-list id must be a non-empty string")
    return f"{BLOCKED_LIST}/{quote(blocked_id, safe='')}"


def _day(value: date) -> str:
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def _failed_request(exc: httpx.RequestError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:  # httpx raises when no request was attached
        return None
