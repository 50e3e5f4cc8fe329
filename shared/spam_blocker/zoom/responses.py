"""Zoom's answers turned into our types: every failure into one ZoomError (`error_for`, the one mapping),
every success body into a pydantic model (`parse_model`). Never raises anything but ZoomError.

    transport error (httpx.RequestError)
        ConnectError / ConnectTimeout / PoolTimeout / ProxyError / UnsupportedProtocol
                                         -> ZoomTransportError(may_have_committed=False): never left
        anything else (read/write error or timeout, RemoteProtocolError "server disconnected", ...)
                                         -> ZoomTransportError(may_have_committed=True)
    429                                  -> ZoomRateLimited (category, limit type, retry_at: retry_after.py)
    401, 403                             -> ZoomAuthFailed (the auth flow already refreshed once on 401)
    404, 410, or 400 that says not found -> ZoomNotFound
    other 4xx (400/409/422/...)          -> ZoomInvalid(code, message)
    5xx                                  -> ZoomServerError (retry_at from a readable Retry-After, ≤ 1 h)
    anything else (1xx, 3xx)             -> ZoomBadResponse

"Says not found" (Zoom's code for an unknown id varies: 300, 400, 404, 13604, ...): Zoom code 404 or
13604, or a message such as "not found", "does not exist", "no such ...". A bare 300/400 code decides
nothing: Zoom uses them for validation failures ("Invalid country.") too.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from spam_blocker.zoom.errors import (
    ZoomAuthFailed,
    ZoomBadResponse,
    ZoomError,
    ZoomInvalid,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomServerError,
    ZoomTransportError,
)
from spam_blocker.zoom.retry_after import header, read_rate_limit, read_retry_after

NOT_FOUND_CODES = frozenset({404, 13604})
MAX_SERVER_RETRY_AFTER = timedelta(hours=1)
_NOT_FOUND_TEXT = re.compile(
    r"not[\s_-]*found|does\s*n[o']?t\s*exist|doesn'?t\s*exist|not\s*exists?\b|no\s+such\b"
    r"|can(?:no|')?t\s+be\s+found|could\s+not\s+find|unknown\s+(?:id|blocked)"
    # the id in the path refused ("Invalid parameter: blockedListId."): no entry has it
    r"|invalid\s+(?:parameter|value|id)?\s*:?\s*(?:the\s+)?blocked[\s_-]*list[\s_-]*id",
    re.IGNORECASE,
)
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError,
               httpx.UnsupportedProtocol)
_MAX_MESSAGE = 300

M = TypeVar("M", bound=BaseModel)


def error_for(failure: httpx.Response | httpx.RequestError, *, route: str, category: str, now: datetime,
              rng: random.Random | None = None) -> ZoomError:
    """The one place an HTTP failure becomes a typed error. Returns it; never raises."""
    if isinstance(failure, httpx.RequestError):
        committed = not isinstance(failure, _NEVER_SENT)
        detail = _clip(str(failure)) or "no detail"
        return ZoomTransportError(f"{type(failure).__name__} on {route}: {detail}",
                                  may_have_committed=committed, route=route)
    status = failure.status_code
    code, message = error_body(failure)
    text = message or f"Zoom answered {status}"
    if status == 429:
        limit = read_rate_limit(failure.headers, message, route_category=category, now=now, rng=rng)
        return ZoomRateLimited(text, category=limit.category, limit_type=limit.limit_type,
                               retry_at=limit.retry_at, code=code if code is not None else 429, route=route)
    if status in (401, 403):
        return ZoomAuthFailed(text, status=status, code=code, route=route)
    if status in (404, 410) or (status == 400 and says_not_found(code, message)):
        return ZoomNotFound(text, status=status, code=code, route=route)
    if 400 <= status < 500:
        return ZoomInvalid(text, status=status, code=code, route=route)
    if 500 <= status < 600:
        retry_at = read_retry_after(header(failure.headers, "Retry-After"), now=now,
                                    upper=now + MAX_SERVER_RETRY_AFTER)
        return ZoomServerError(text, status=status, code=code, route=route, retry_at=retry_at)
    return ZoomBadResponse(f"unexpected HTTP status {status} on {route}", status=status, code=code, route=route)


def says_not_found(code: int | None, message: str | None) -> bool:
    return code in NOT_FOUND_CODES or bool(message and _NOT_FOUND_TEXT.search(message))


def error_body(response: httpx.Response) -> tuple[int | None, str | None]:
    """Zoom's `{"code": int, "message": str}` (or OAuth's `error`/`reason`); a non-JSON body gives its
    text as the message. Never raises."""
    try:
        body = response.json()
    except (ValueError, RecursionError):  # not JSON, not decodable, or nested too deeply to decode
        return None, _clip(_safe_text(response))
    if not isinstance(body, dict):
        return None, _clip(_safe_text(response))
    code = _as_int(body.get("code"))
    for key in ("message", "reason", "error", "error_description"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return code, _clip(value)
    return code, None


def parse_model(response: httpx.Response, model: type[M], *, route: str) -> M:
    """A 2xx JSON body -> `model`; anything malformed -> ZoomBadResponse (never a raw pydantic/JSON error)."""
    try:
        return model.model_validate(response.json())
    except (ValueError, ValidationError, TypeError, RecursionError) as exc:
        reason = "not JSON" if not isinstance(exc, ValidationError) else f"{exc.error_count()} invalid field(s)"
        raise ZoomBadResponse(f"malformed {response.status_code} body on {route}: {reason}",
                              status=response.status_code, route=route) from None


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 10:
        return int(value.strip())
    return None


def _safe_text(response: httpx.Response) -> str:
    try:
        return response.text
    except Exception:  # an unknown charset or an unread stream: the status alone will do
        return ""


def _clip(text: str) -> str | None:
    text = " ".join(text.split())
    return text[:_MAX_MESSAGE] or None
