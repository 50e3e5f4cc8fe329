"""Typed Zoom responses. Lenient on extra fields: Zoom adds fields without notice."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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

    @field_validator("blocked_list", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class CallLogsPage(_Model):
    """A page of `GET /phone/call_logs`; Zoom's newer `GET /phone/call_history` shape (records under
    `call_history`) is read into the same `call_logs` field."""

    call_logs: list[dict] = Field(default_factory=list)  # raw records: the ingest contract carries them as-is
    next_page_token: str | None = None
    page_size: int | None = None
    total_records: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _either_shape(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("call_logs") is None and "call_history" in data:
            data = {**data, "call_logs": data["call_history"]}
        if isinstance(data, dict) and "call_logs" in data and data["call_logs"] is None:
            data = {**data, "call_logs": []}
        return data


class CreatedEntry(_Model):
    """The answer to `POST /phone/blocked_list` (201, or 200 from some deployments)."""

    id: str = Field(min_length=1)
