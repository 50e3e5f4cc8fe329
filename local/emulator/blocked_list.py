"""The five blocked-list operations under /v2/phone/blocked_list, with Zoom's status codes and bodies.

    GET    /phone/blocked_list        200 {"blocked_list", "next_page_token", "page_size", "total_records"}
    POST   /phone/blocked_list        201 {"id": "<12 alphanumerics>"}   (duplicates accepted)
    GET    /phone/blocked_list/{id}   200 entry
    PATCH  /phone/blocked_list/{id}   204, no body
    DELETE /phone/blocked_list/{id}   204, no body

An unknown id on GET/PATCH/DELETE is HTTP 400 (Zoom does not answer 404 here) with
{"code": 404, "message": "Blocked list not found."}; Zoom has been documented with codes 300, 400 and
404 for this, so the code is configurable (`not_found_code`). Validation: see `validation.py`.
The list is in creation order; `page_size` defaults to 30, at most 100 (larger is rejected).
"""

from __future__ import annotations

from datetime import datetime

from local.emulator.config import EmulatorConfig
from local.emulator.messages import ApiError, Request, Response, json_response, no_content
from local.emulator.pagination import PageTokens, page_size_of
from local.emulator.state import BlockedList, Entry
from local.emulator.validation import entry_fields, parse_json_object

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 100
NOT_FOUND_MESSAGE = "Blocked list not found."
LISTING = "blocked_list"


class BlockedListApi:
    def __init__(self, entries: BlockedList, page_tokens: PageTokens, config: EmulatorConfig) -> None:
        self._entries = entries
        self._page_tokens = page_tokens
        self._config = config

    def list(self, request: Request, now: datetime) -> Response:
        size = page_size_of(request.query_value("page_size"), default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        token = request.query_value("next_page_token")
        after = self._page_tokens.resume(token, LISTING, now)[1] if token else None
        everything = self._entries.ordered()
        page, next_token = self._page_tokens.page(
            everything, key=lambda e: e.seq, size=size, listing=LISTING, query=(), after=after, now=now)
        return json_response(200, {
            "blocked_list": [self._shown(e) for e in page],
            "next_page_token": next_token,
            "page_size": size,
            "total_records": len(everything),
        })

    def create(self, request: Request, now: datetime) -> Response:
        fields = entry_fields(parse_json_object(request.body))
        entry = self._entries.add(**fields)
        return json_response(201, {"id": entry.id})

    def get(self, request: Request, entry_id: str, now: datetime) -> Response:
        return json_response(200, self._shown(self._existing(entry_id)))

    def update(self, request: Request, entry_id: str, now: datetime) -> Response:
        entry = self._existing(entry_id)
        current = entry.as_dict()
        changes = entry_fields(parse_json_object(request.body), current=current)
        self._entries.update(entry.id, changes)
        return no_content()

    def delete(self, request: Request, entry_id: str, now: datetime) -> Response:
        self._existing(entry_id)
        self._entries.remove(entry_id)
        return no_content()

    def _existing(self, entry_id: str) -> Entry:
        entry = self._entries.get(entry_id)
        if entry is None:
            raise ApiError(400, self._config.not_found_code, NOT_FOUND_MESSAGE)
        return entry

    def _shown(self, entry: Entry) -> dict[str, str]:
        return entry.as_dict(echo_plus=self._config.echo_plus)
