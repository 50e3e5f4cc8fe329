"""Settings: one pydantic model per function, built from a mapping (os.environ in Lambda, a dict in tests).

Validated once at cold start by `wiring`; a missing or bad setting fails with the field's name.
Resource names never have defaults. Each function's model lives in `config/<function>.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, ValidationError


class SettingsError(ValueError):
    """A missing or invalid setting, named."""


class BaseSettings(BaseModel):
    """Field names are the environment variable names, upper-case."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = name.upper()
            if key in env and env[key] != "":
                values[name] = env[key]
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" if e["loc"] else e["msg"]
                for e in exc.errors()
            )
            raise SettingsError(f"{cls.__name__}: {problems}") from None

    @classmethod
    def env_names(cls) -> set[str]:
        return {name.upper() for name in cls.model_fields}


class ZoomSettings(BaseModel):
    """Where Zoom is and how to authenticate. In AWS the credentials come from Secrets Manager
    (ZOOM_SECRET_ARN, a JSON object with account_id, client_id, client_secret); locally from env."""

    zoom_api_url: str = "https://api.zoom.us/v2"
    zoom_oauth_url: str = "https://zoom.us/oauth/token"
    zoom_secret_arn: str | None = None
    zoom_account_id: str | None = None
    zoom_client_id: str | None = None
    zoom_client_secret: str | None = None
    zoom_plan: str = "pro"
    # Which call-log API backfills read: auto tries /phone/call_logs and moves to /phone/call_history where
    # the old one is retired (404/410); call_logs or call_history pins one.
    zoom_call_log_api: Literal["auto", "call_logs", "call_history"] = "auto"
