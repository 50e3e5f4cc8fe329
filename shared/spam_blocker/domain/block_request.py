"""Block requests on BlockQueue (DESIGN.md) and the block key.

{"match_type": "phoneNumber"|"prefix", "phone_number": "+19075550123"|"1907555", "block_type": "inbound",
 "reason": "...", "evidence": {...}, "expires_at": "...", "decided_at": "..."}

Forms sent to Zoom: numbers in E.164 with '+', prefixes as digits with the country code and no '+'.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from spam_blocker.clock import iso, parse_iso

MatchType = Literal["phoneNumber", "prefix"]
BlockType = Literal["inbound", "outbound"]
UNBLOCK_REASON_PREFIX = "unblock: "  # the scorer's unblock requests: "unblock: <the decision's reason>"


class BlockKey(NamedTuple):
    match_type: str
    phone_number: str
    block_type: str

    def as_id(self) -> str:
        """One string for a DynamoDB partition key: 'prefix#1907555#inbound'."""
        return f"{self.match_type}#{self.phone_number}#{self.block_type}"

    @classmethod
    def from_id(cls, value: str) -> BlockKey:
        match_type, phone_number, block_type = value.split("#", 2)
        return cls(match_type, phone_number, block_type)


class BlockRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    # Compatible extension of DESIGN.md: "unblock" (from not_spam feedback or ops) removes the block from
    # Zoom and keeps the target off the list until `cooldown_until`. Absent means "block".
    action: Literal["block", "unblock"] = "block"
    cooldown_until: datetime | None = None
    match_type: MatchType
    phone_number: str = Field(min_length=1, max_length=50)
    block_type: BlockType = "inbound"
    reason: str = ""
    evidence: dict[str, Any] = Field(default_factory=dict)
    expires_at: datetime
    decided_at: datetime

    @field_validator("expires_at", "decided_at", "cooldown_until", mode="before")
    @classmethod
    def _time(cls, v: Any) -> Any:
        return parse_iso(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _form(self) -> BlockRequest:
        # ASCII digits only: str.isdigit() also accepts other scripts' digits and superscripts, which Zoom refuses.
        if self.match_type == "phoneNumber":
            if not (self.phone_number.startswith("+") and self.phone_number[1:].isascii()
                    and self.phone_number[1:].isdigit()):
                raise ValueError("a phoneNumber block needs E.164 with '+', e.g. +19075550123")
        elif not (self.phone_number.isascii() and self.phone_number.isdigit()):
            raise ValueError("a prefix block needs digits with the country code and no '+', e.g. 1907555")
        return self

    @property
    def key(self) -> BlockKey:
        return BlockKey(self.match_type, self.phone_number, self.block_type)

    def to_body(self) -> str:
        return json.dumps(self.to_json_dict(), separators=(",", ":"))

    def to_json_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["expires_at"] = iso(self.expires_at)
        data["decided_at"] = iso(self.decided_at)
        if self.cooldown_until is not None:
            data["cooldown_until"] = iso(self.cooldown_until)
        else:
            data.pop("cooldown_until", None)
        return data
