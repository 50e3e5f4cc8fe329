"""Server-to-Server OAuth: `POST /oauth/token` and the bearer check every API request passes first.

Token request: HTTP Basic `client_id:client_secret`, `grant_type=account_credentials` and `account_id`
in the form body or (as Zoom's own docs show) in the query string.

    200 {"access_token", "token_type": "bearer", "expires_in", "scope", "api_url"}
    400 {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}   missing/bad Basic auth
    400 {"reason": "Unsupported grant type", "error": "unsupported_grant_type"}
    400 {"reason": "Invalid account_id", "error": "invalid_request"}                   missing or not ours

`api_url` is this emulator's own address (scheme and host the client used), the counterpart of Zoom's
"https://api.zoom.us". Several tokens may be valid at once; each expires by the injected clock.
A missing, unknown or expired bearer on the API is 401 {"code": 124, "message": "Invalid access token."}.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import datetime
from urllib.parse import parse_qs

from local.emulator.messages import Request, Response, invalid_token, json_response
from local.emulator.state import Tokens

SCOPES = "phone:read:admin phone:write:admin"
GRANT_TYPE = "account_credentials"


def _oauth_error(reason: str, error: str) -> Response:
    return json_response(400, {"reason": reason, "error": error})


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def issue_token(request: Request, *, tokens: Tokens, account_id: str, client_id: str, client_secret: str,
                ttl_s: int, now: datetime) -> Response:
    if request.method != "POST":
        return json_response(405, {"reason": "Method not allowed; use POST", "error": "invalid_request"})
    credentials = _basic_credentials(request.headers.get("authorization"))
    if credentials is None or not (_same(credentials[0], client_id) and _same(credentials[1], client_secret)):
        return _oauth_error("Invalid client_id or client_secret", "invalid_client")

    params = parse_qs(request.query_string)
    params.update(parse_qs(request.body.decode("utf-8", errors="replace")))
    grant_type = (params.get("grant_type") or [""])[0]
    if grant_type != GRANT_TYPE:
        return _oauth_error("Unsupported grant type", "unsupported_grant_type")
    requested_account = (params.get("account_id") or [""])[0]
    if not requested_account or not _same(requested_account, account_id):
        return _oauth_error("Invalid account_id", "invalid_request")

    token = tokens.issue(now, ttl_s)
    return json_response(200, {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": ttl_s,
        "scope": SCOPES,
        "api_url": request.base_url,
    })


def require_bearer(request: Request, tokens: Tokens, now: datetime) -> None:
    """Raises the 401 code 124 answer unless the request carries a live access token."""
    scheme, _, token = (request.headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not tokens.is_valid(token.strip(), now):
        raise invalid_token()
