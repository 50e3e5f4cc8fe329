"""Field rules for blocked-list bodies (POST and PATCH), answered as Zoom does: 400, code 300.

Rules (REFERENCE.md and the OpenAPI description, read strictly so code that passes here passes at Zoom):
- the body must be a JSON object;
- every field we know must be a string when present (JSON null is rejected, not treated as absent);
- `match_type` phoneNumber | prefix, `block_type` inbound | outbound, `status` active | inactive;
- `phone_number` is required on POST, 1..50 characters: digits with an optional leading '+' for
  phoneNumber, digits only for prefix (checked against the match type the entry ends up with);
- `comment` at most 255 characters; `country` a two-letter code ("Invalid country." otherwise);
- unknown fields are ignored.
POST defaults: match_type phoneNumber, block_type inbound, status active, comment "".

The message names every problem; the `errors` list repeats them per field, as Zoom's
"Validation Failed." answers do.
"""

from __future__ import annotations

import json
import re
from typing import Any

from local.emulator.messages import INVALID_JSON_MESSAGE, validation_error

MATCH_TYPES = ("phoneNumber", "prefix")
BLOCK_TYPES = ("inbound", "outbound")
# Zoom has been seen answering "threat" (its own spam database); only the portal can create one here.
PORTAL_BLOCK_TYPES = (*BLOCK_TYPES, "threat")
STATUSES = ("active", "inactive")
PHONE_NUMBER_MAX = 50
COMMENT_MAX = 255

_PHONE_NUMBER = re.compile(r"^\+?[0-9]+$")
_PREFIX = re.compile(r"^[0-9]+$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")

POST_DEFAULTS = {"match_type": "phoneNumber", "block_type": "inbound", "status": "active", "comment": ""}
_ENUMS = {"match_type": MATCH_TYPES, "block_type": BLOCK_TYPES, "status": STATUSES}
_STRING_FIELDS = ("match_type", "phone_number", "block_type", "status", "comment", "country")


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        value = None
    if not isinstance(value, dict):
        raise validation_error(INVALID_JSON_MESSAGE)
    return value


def entry_fields(body: dict[str, Any], *, current: dict[str, str] | None = None,
                 block_types: tuple[str, ...] = BLOCK_TYPES) -> dict[str, str]:
    """The stored fields a POST (current=None) or PATCH (current=the entry) body asks for.

    Returns only the entry fields (`country` is checked, not stored). Raises ApiError(400, 300).
    """
    problems: list[tuple[str, str]] = []
    changes: dict[str, str] = {}
    for name in _STRING_FIELDS:
        if name not in body:
            continue
        value = body[name]
        if not isinstance(value, str):
            problems.append((name, f"{name} must be a string."))
            continue
        allowed = block_types if name == "block_type" else _ENUMS.get(name)
        if allowed is not None and value not in allowed:
            problems.append((name, f"Invalid {name} {value!r}: must be one of {', '.join(allowed)}."))
        elif name == "comment" and len(value) > COMMENT_MAX:
            problems.append((name, f"comment must be at most {COMMENT_MAX} characters (got {len(value)})."))
        elif name == "country" and not _COUNTRY.match(value):
            problems.append((name, "Invalid country."))
        elif name != "country":
            changes[name] = value

    if current is None and "phone_number" not in body:
        problems.append(("phone_number", "phone_number is required."))
    if "phone_number" in changes or ("match_type" in changes and current is not None):
        resulting = {**POST_DEFAULTS, **(current or {}), **changes}
        problem = phone_number_problem(resulting["phone_number"], resulting["match_type"])
        if problem:
            problems.append(("phone_number", problem))

    if problems:
        message = " ".join(text for _, text in problems)
        raise validation_error(message, errors=[{"field": f, "message": m} for f, m in problems])
    if current is None:
        return {**POST_DEFAULTS, **changes}
    return changes


def phone_number_problem(number: str, match_type: str) -> str | None:
    if not number:
        return "phone_number must not be empty."
    if len(number) > PHONE_NUMBER_MAX:
        return f"phone_number must be at most {PHONE_NUMBER_MAX} characters (got {len(number)})."
    if match_type == "prefix" and not _PREFIX.match(number):
        return f"Invalid phone_number {number!r} for match_type prefix: digits only, with the country code."
    if match_type == "phoneNumber" and not _PHONE_NUMBER.match(number):
        return (f"Invalid phone_number {number!r} for match_type phoneNumber: "
                "digits with an optional leading '+', including the country code.")
    return None
