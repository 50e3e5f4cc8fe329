"""Zoom's Server-to-Server OAuth credentials from Secrets Manager: a JSON SecretString
{"account_id": "...", "client_id": "...", "client_secret": "..."}. Read once per container (wiring
caches it); the secret is held as a SecretStr and never logged or put in an error message."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError


class SecretError(RuntimeError):
    """The secret could not be read or does not hold usable credentials (the message names no value)."""


class ZoomCredentials(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    account_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr

    @classmethod
    def of(cls, account_id: str, client_id: str, client_secret: str) -> ZoomCredentials:
        return cls(account_id=account_id, client_id=client_id, client_secret=SecretStr(client_secret))


def read_zoom_credentials(client: Any, secret_arn: str) -> ZoomCredentials:
    try:
        text = client.get_secret_value(SecretId=secret_arn)["SecretString"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SecretError(f"cannot read the Zoom secret {secret_arn}: {code}") from None
    except KeyError:
        raise SecretError(f"the Zoom secret {secret_arn} has no SecretString") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise SecretError(f"the Zoom secret {secret_arn} is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("client_secret"), str) or not data["client_secret"]:
        raise SecretError(f"the Zoom secret {secret_arn} needs account_id, client_id and client_secret")
    try:
        return ZoomCredentials.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise SecretError(f"the Zoom secret {secret_arn} has unusable fields: {fields}") from None
