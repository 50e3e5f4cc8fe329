"""Errors from Zoom, one tree; callers decide by type, never by message text.

    ZoomError                 every failure the Zoom client raises (nothing else escapes it)
    ├── ZoomAuthFailed        credentials refused (OAuth 4xx), 401 again after one refresh, 403 (scopes)
    ├── ZoomRateLimited       429: category, limit type (QPS | Daily-limit), retry_at (exact UTC time).
    │                         Never retried by the client: the caller (limiter, blocker) decides.
    ├── ZoomNotFound          "400 + not found" (Zoom answers 400, not 404, for an unknown id), 404, 410
    ├── ZoomInvalid           other 4xx (400/409/422 validation...): Zoom's code and message;
    │                         retrying the same request will not help
    ├── ZoomServerError       5xx (after the client's bounded retries for GET/PATCH/DELETE);
    │   │                     `retry_at` when Zoom sent a Retry-After. A POST may have committed.
    │   └── ZoomBadResponse   Zoom answered, but not as documented: a malformed 2xx body (a POST's
    │                         entry may then exist), an unexpected status (1xx/3xx), an endless page token
    └── ZoomTransportError    connect/read timeout, dropped connection; `may_have_committed` is True
                              when the request had been sent (a POST may then have created the entry),
                              False when it provably never left (connect error, pool timeout)

Every error carries `message`, `status` (HTTP status or None), `code` (Zoom's error code or None) and
`route` ("METHOD /templated/path", or None before a route is known). Messages never hold secrets.
"""

from __future__ import annotations

from datetime import datetime


class ZoomError(Exception):
    def __init__(self, message: str, *, status: int | None = None, code: int | None = None,
                 route: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.route = route


class ZoomAuthFailed(ZoomError):
    pass


class ZoomRateLimited(ZoomError):
    def __init__(self, message: str, *, category: str, limit_type: str, retry_at: datetime,
                 status: int = 429, code: int | None = 429, route: str | None = None) -> None:
        super().__init__(message, status=status, code=code, route=route)
        self.category = category
        self.limit_type = limit_type  # "QPS" | "Daily-limit"
        self.retry_at = retry_at

    @property
    def is_daily(self) -> bool:
        return self.limit_type.lower().startswith("daily")


class ZoomNotFound(ZoomError):
    pass


class ZoomInvalid(ZoomError):
    pass


class ZoomServerError(ZoomError):
    def __init__(self, message: str, *, status: int | None = None, code: int | None = None,
                 route: str | None = None, retry_at: datetime | None = None) -> None:
        super().__init__(message, status=status, code=code, route=route)
        self.retry_at = retry_at  # from a Retry-After on a 5xx (e.g. 503), else None


class ZoomBadResponse(ZoomServerError):
    pass


class ZoomTransportError(ZoomError):
    def __init__(self, message: str, *, may_have_committed: bool, route: str | None = None) -> None:
        super().__init__(message, route=route)
        self.may_have_committed = may_have_committed


class PermitExpired(ZoomTransportError):
    """Not sent: the request's rate-limit permit ran out before it could leave (the caller's `send_by`)."""

    def __init__(self, message: str, *, route: str | None = None) -> None:
        super().__init__(message, may_have_committed=False, route=route)


DUPLICATE_CODE = 13601  # Zoom's inbound blocked-list API; our endpoint's answer to a duplicate is undocumented


def is_duplicate(exc: ZoomError) -> bool:
    """Zoom refused a create because the entry exists (a Zoom that rejects duplicates: 400 code 13601, or 409)."""
    return exc.status == 409 or exc.code == DUPLICATE_CODE
