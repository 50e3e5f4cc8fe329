"""Zoom Server-to-Server OAuth as an `httpx.Auth`: the flow yields requests, it never does I/O itself.

    token  = cached token for (oauth_url, account_id, client_id), unless it expires within 60 s
             (by the injected clock); else yield POST <oauth_url> (Basic client_id:client_secret,
             form grant_type=account_credentials&account_id=...) and cache the answer
    answer = yield the API request with "Authorization: Bearer <token>"
    401    -> drop that token, fetch a new one, yield the request once more; whatever comes back is
              final (a second 401 becomes ZoomAuthFailed in the client's error mapping)

The cache is module-level and thread-safe, so a warm Lambda container and every client instance in
the process share one token. The lock is never held across a `yield` (no I/O under the lock); two
threads that both find the cache empty may both fetch, which is harmless.

Token endpoint answers: 200 with `access_token` -> cached; 429 -> ZoomRateLimited; 5xx -> ZoomServerError;
any other 4xx (400 invalid_client, 401, ...) -> ZoomAuthFailed; a 2xx without a usable token ->
ZoomBadResponse. Secrets and tokens are never logged nor put in an error message.
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from spam_blocker.clock import Clock, SystemClock
from spam_blocker.zoom.errors import (
    ZoomAuthFailed,
    ZoomBadResponse,
    ZoomRateLimited,
    ZoomServerError,
)
from spam_blocker.zoom.retry_after import read_rate_limit

REFRESH_MARGIN = timedelta(seconds=60)
DEFAULT_EXPIRES_IN_S = 3600  # when Zoom's answer omits expires_in (it documents 3600)
OAUTH_ROUTE = "POST /oauth/token"
USER_AGENT = f"zoom-spam-blocker/0.1 httpx/{httpx.__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)

TokenFlow = Generator[httpx.Request, httpx.Response, str]


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: datetime
    lifetime: timedelta = timedelta(seconds=DEFAULT_EXPIRES_IN_S)


_cache: dict[tuple[str, str, str], _Token] = {}
_cache_lock = threading.Lock()
# Credentials Zoom refused (a 4xx to the token request), until when they are not offered again: with a
# rotated or revoked secret every deferred block request would otherwise ask for a token each time it comes
# back. Keyed by the credentials themselves, so corrected ones are tried at once.
REFUSAL_HOLD = timedelta(seconds=30)
_refused: dict[tuple[str, str, str, str], tuple[datetime, str]] = {}


def clear_token_cache() -> None:
    """Forget every cached token and refusal (tests; or after rotating credentials)."""
    with _cache_lock:
        _cache.clear()
        _refused.clear()


class ZoomOAuth(httpx.Auth):
    requires_response_body = True  # the token answer is JSON; API answers are read by the client anyway

    def __init__(self, oauth_url: str, account_id: str, client_id: str, client_secret: str, *,
                 clock: Clock | None = None, refresh_margin: timedelta = REFRESH_MARGIN,
                 rng: random.Random | None = None) -> None:
        self.oauth_url = oauth_url
        self._account_id = account_id
        self._client_id = client_id
        self._basic = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        self._clock = clock or SystemClock()
        self._margin = refresh_margin
        self._rng = rng
        self._key = (oauth_url, account_id, client_id)

    def __repr__(self) -> str:  # never show the secret
        return f"ZoomOAuth(oauth_url={self.oauth_url!r}, account_id={self._account_id!r}, client_id={self._client_id!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.cached_token()
        if token is None:
            token = yield from self.token_flow(request.extensions.get("timeout"))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        self._forget(token)
        token = self.cached_token()  # another thread may have refreshed it meanwhile
        if token is None:
            token = yield from self.token_flow(request.extensions.get("timeout"))
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def cached_token(self) -> str | None:
        """The shared token if it is good for more than the refresh margin, else None."""
        with _cache_lock:
            cached = _cache.get(self._key)
        # The margin is at most a tenth of the token's life: a server handing out minute-long tokens would
        # otherwise have every request fetch a new one.
        if cached is not None and self._clock.now() + min(self._margin, cached.lifetime / 10) < cached.expires_at:
            return cached.value
        return None

    def token_flow(self, timeout: dict | None = None) -> TokenFlow:
        """Yield one token request, read the answer, cache and return the token (or raise ZoomError).

        `timeout` is an httpx timeout extension (`Timeout.as_dict()`); the API request's is passed on so
        that the token request is bounded like every other (httpx sends auth-flow requests as built)."""
        asked_at = self._clock.now()
        refused_key = (*self._key, hashlib.sha256(self._basic.encode()).hexdigest())
        with _cache_lock:
            held = _refused.get(refused_key)
        if held is not None and asked_at < held[0]:
            raise ZoomAuthFailed(f"{held[1]}; not asked again before {held[0].isoformat()}", route=OAUTH_ROUTE)
        response = yield self.token_request(timeout)
        response.read()
        try:
            token = self._token_from(response, asked_at)
        except ZoomAuthFailed as exc:
            with _cache_lock:
                _refused[refused_key] = (asked_at + REFUSAL_HOLD, exc.message)
            raise
        with _cache_lock:
            _cache[self._key] = token
        return token.value

    def token_request(self, timeout: dict | None = None) -> httpx.Request:
        # Zoom documents the parameters in the query string (`?grant_type=account_credentials&account_id=`)
        # and accepts them in the form body too; servers written from either reading exist: send both.
        grant = {"grant_type": "account_credentials", "account_id": self._account_id}
        return httpx.Request(
            "POST", self.oauth_url, params=grant,
            headers={"Authorization": self._basic, "Accept": "application/json", "User-Agent": USER_AGENT},
            data=grant, extensions={"timeout": timeout or DEFAULT_TIMEOUT.as_dict()},
        )

    def _forget(self, token: str) -> None:
        with _cache_lock:
            cached = _cache.get(self._key)
            if cached is not None and cached.value == token:
                del _cache[self._key]

    def _token_from(self, response: httpx.Response, asked_at: datetime) -> _Token:
        status = response.status_code
        body = _json_object(response)
        reason = _text(body.get("error")) or _text(body.get("reason")) or "no reason given"
        if status == 429:
            limit = read_rate_limit(response.headers, _text(body.get("reason")), route_category="Light",
                                    now=self._clock.now(), rng=self._rng)
            raise ZoomRateLimited("Zoom OAuth rate limited the token request", category=limit.category,
                                  limit_type=limit.limit_type, retry_at=limit.retry_at, route=OAUTH_ROUTE)
        if status >= 500:
            raise ZoomServerError(f"Zoom OAuth answered {status}", status=status, route=OAUTH_ROUTE)
        if status in (404, 405) and reason == "no reason given":  # no token endpoint there: the URL is wrong
            raise ZoomAuthFailed(f"no OAuth token endpoint at {self.oauth_url} (HTTP {status}): is the OAuth URL "
                                 "right?", status=status, route=OAUTH_ROUTE)
        if 400 <= status < 500:
            raise ZoomAuthFailed(f"Zoom OAuth refused the credentials ({status}: {reason})",
                                 status=status, route=OAUTH_ROUTE)
        access_token = body.get("access_token")
        if not (200 <= status < 300) or not isinstance(access_token, str) or not access_token:
            raise ZoomBadResponse(f"Zoom OAuth answered {status} without an access token",
                                  status=status, route=OAUTH_ROUTE)
        expires_in = body.get("expires_in")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or not 0 < expires_in < 10**7:
            expires_in = DEFAULT_EXPIRES_IN_S
        # Counted from when we asked: the token's life started no later than that.
        lifetime = timedelta(seconds=float(expires_in))
        return _Token(access_token, asked_at + lifetime, lifetime)


def _json_object(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors; deep nesting
        return {}
    return body if isinstance(body, dict) else {}


def _text(value: object) -> str | None:
    return value[:200] if isinstance(value, str) and value else None
