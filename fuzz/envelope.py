"""What every answer of the API must be (SPEC 1): a 2xx, or a 4xx whose body is the error envelope."""

from __future__ import annotations

import json
from typing import Any

ERROR_TYPES = frozenset({"auth", "validation", "general", "image", "storage", "user"})


def envelope_problem(status: int, body: bytes) -> str | None:
    """Why an answer breaks SPEC 1, or None when it keeps it."""
    if 200 <= status < 300:
        return None
    if status >= 500:
        return f"{status}: a server error"
    if status < 400:
        return f"{status}: neither a success nor an error"
    try:
        error: Any = json.loads(body)
    except ValueError:
        return f"{status}: the body is not JSON: {body[:120]!r}"
    if status == 429 and isinstance(error, dict):
        error = error.get("detail")
    if not isinstance(error, dict):
        return f"{status}: the body is not an error object"
    if not isinstance(error.get("error_code"), str) or error.get("error_type") not in ERROR_TYPES:
        return f"{status}: error_code/error_type missing or wrong: {error}"
    if not isinstance(error.get("error_message"), str) or not isinstance(error.get("error_details"), dict):
        return f"{status}: error_message/error_details missing or wrong: {error}"
    return None
