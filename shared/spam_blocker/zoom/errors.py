"""Errors from Zoom, one tree; callers decide by type, never by message text.

    ZoomError
    ├── ZoomAuthFailed        credentials refused (OAuth 400/401), or 401 again after one refresh
    ├── ZoomRateLimited       429: category, limit type (QPS | Daily-limit), retry_at (exact UTC time)
    ├── ZoomNotFound          "400 + not found" (Zoom answers 400, not 404, for an unknown id), or 404
    ├── ZoomInvalid           400/409/422 validation: Zoom's code and message; retrying will not help
    ├── ZoomServerError       5xx
    └── ZoomTransportError    connect/read timeout, dropped connection; `may_have_committed` is True
                              when the request had been sent (a POST may then have created the entry)
"""

from __future__ import annotations

from datetime import datetime


class ZoomError(Exception):
    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class ZoomAuthFailed(ZoomError):
    pass


class ZoomRateLimited(ZoomError):
    def __init__(self, message: str, *, category: str, limit_type: str, retry_at: datetime,
                 status: int = 429, code: int | None = 429) -> None:
        super().__init__(message, status=status, code=code)
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
    pass


class ZoomTransportError(ZoomError):
    def __init__(self, message: str, *, may_have_committed: bool) -> None:
        super().__init__(message)
        self.may_have_committed = may_have_committed
