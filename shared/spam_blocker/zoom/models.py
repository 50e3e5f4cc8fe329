"""Typed Zoom responses. Lenient on extra fields: Zoom adds fields without notice."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class BlockedEntry(_Model):
    id: str
    match_type: str | None = None  # phoneNumber | prefix
    phone_number: str | None = None
    block_type: str | None = None  # inbound | outbound (responses with 'threat' have been seen)
    status: str | None = None  # active | inactive
    comment: str | None = None


class BlockedListPage(_Model):
    blocked_list: list[BlockedEntry] = Field(default_factory=list)
    next_page_token: str | None = None
    page_size: int | None = None
    total_records: int | None = None


class CallLogsPage(_Model):
    call_logs: list[dict] = Field(default_factory=list)  # raw records: the ingest contract carries them as-is
    next_page_token: str | None = None
    page_size: int | None = None
    total_records: int | None = None
