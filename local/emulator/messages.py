"""The request and response values the emulator's handlers work on, and Zoom's error shape.

Handlers never see WSGI: `Request.from_environ` reads one, `Response` says what to answer. A response can
also say "answer late" (`delay_s`) or "never answer" (`drop`); the host (in-process transport or the
socket server) decides how to make that real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    base_url: str  # scheme://host[:port] as the client addressed us

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        headers = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = value
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = environ.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            size = 0
        body = environ["wsgi.input"].read(size) if size > 0 else b""
        scheme = environ.get("wsgi.url_scheme", "http")
        host = headers.get("host") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        return cls(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=environ.get("PATH_INFO", "") or "/",
            query_string=environ.get("QUERY_STRING", ""),
            headers=headers,
            body=body,
            base_url=f"{scheme}://{host}",
        )

    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def query_value(self, name: str) -> str | None:
        """The first value of a query parameter, or None when absent."""
        values = self.query().get(name)
        return values[0] if values else None

    def body_text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    delay_s: float = 0.0  # answer only after this many seconds ("slow" fault)
    drop: bool = False  # close the connection without any answer ("drop" fault)

    @property
    def status_line(self) -> str:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Error"
        return f"{self.status} {phrase}"

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode("utf-8")
    return Response(status, [("Content-Type", JSON_CONTENT_TYPE), *(headers or [])], body)


def no_content() -> Response:
    return Response(204)


class ApiError(Exception):
    """A Zoom API error answer: HTTP status plus Zoom's `{"code": int, "message": str}` body."""

    def __init__(self, status: int, code: int, message: str, *, errors: list[dict[str, str]] | None = None,
                 headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or []

    def to_response(self) -> Response:
        payload: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            payload["errors"] = self.errors
        return json_response(self.status, payload, self.headers)


# Zoom's own error codes and messages for the cases every endpoint shares.
INVALID_TOKEN = (401, 124, "Invalid access token.")
VALIDATION_CODE = 300
INVALID_JSON_MESSAGE = "Request Body should be a valid JSON object."


def invalid_token() -> ApiError:
    return ApiError(*INVALID_TOKEN)


def validation_error(message: str, errors: list[dict[str, str]] | None = None) -> ApiError:
    return ApiError(400, VALIDATION_CODE, message, errors=errors)
