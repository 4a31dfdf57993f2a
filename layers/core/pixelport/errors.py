"""The error envelope of SPEC section 1 and every error pixelport answers with, each with a stable code.

Everything the service refuses is a `PixelportError`; the API turns it into the envelope in one place,
and the processor stores it on the task so a waiting request answers with the same status and body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

ErrorType = Literal["auth", "validation", "general", "image", "storage", "user"]


@dataclass(frozen=True)
class ErrorKind:
    code: str
    status: int
    type: ErrorType


AUTH_REQUIRED = ErrorKind("111", 401, "auth")
SCOPE_MISSING = ErrorKind("112", 403, "auth")
RATE_LIMITED = ErrorKind("2001", 429, "general")
BODY_NOT_JSON = ErrorKind("4000", 400, "validation")
INPUT_UNREACHABLE = ErrorKind("4001", 400, "image")
INPUT_ADDRESS_REFUSED = ErrorKind("4002", 400, "image")
INPUT_HTTP_STATUS = ErrorKind("4003", 400, "image")
INPUT_TOO_MANY_REDIRECTS = ErrorKind("4004", 400, "image")
INPUT_NOT_IMAGE = ErrorKind("4005", 400, "image")
INPUT_CORRUPT = ErrorKind("4006", 400, "image")
GATEWAY_REFUSED = ErrorKind("4009", 400, "general")
STORAGE_OBJECT_MISSING = ErrorKind("4020", 400, "storage")
STORAGE_ACCESS_REFUSED = ErrorKind("4021", 400, "storage")
STORAGE_BUCKET_MISSING = ErrorKind("4022", 400, "storage")
STORAGE_UNREACHABLE = ErrorKind("4023", 400, "storage")
STORAGE_FAILED = ErrorKind("4024", 400, "storage")
BATCH_FOLDER_EMPTY = ErrorKind("4025", 400, "storage")
TASK_NOT_FOUND = ErrorKind("4040", 404, "user")
STORAGE_NOT_FOUND = ErrorKind("4041", 404, "user")
WEBHOOK_NOT_FOUND = ErrorKind("4042", 404, "user")
ROUTE_NOT_FOUND = ErrorKind("4044", 404, "user")
STORAGE_NAME_TAKEN = ErrorKind("4090", 409, "storage")
INPUT_TOO_LARGE = ErrorKind("4130", 413, "image")
INPUT_TOO_MANY_PIXELS = ErrorKind("4131", 413, "image")
OUTPUT_TOO_MANY_PIXELS = ErrorKind("4132", 413, "image")
BODY_TOO_LARGE = ErrorKind("4133", 413, "validation")
INPUT_NEEDS_TOO_MUCH_MEMORY = ErrorKind("4134", 413, "image")
INTERNAL = ErrorKind("5000", 500, "general")
PROCESSING_FAILED = ErrorKind("5001", 500, "general")
TASK_OVERDUE = ErrorKind("5002", 500, "general")
GATEWAY_TIMEOUT = ErrorKind("5040", 504, "general")
VALIDATION = ErrorKind("9000", 422, "validation")

# Every kind above, in code order. The README's table says when each happens (a test keeps them in step).
CATALOGUE: tuple[ErrorKind, ...] = tuple(v for v in dict(globals()).values() if isinstance(v, ErrorKind))
_BY_CODE = {kind.code: kind for kind in CATALOGUE}

Details = dict[str, list[str]]


class PixelportError(Exception):
    """A failure with its place in the catalogue, a message for humans and the fields to blame."""

    def __init__(self, kind: ErrorKind, message: str, details: Mapping[str, Iterable[str]] | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details: Details = {path: list(msgs) for path, msgs in (details or {}).items()}

    @property
    def status(self) -> int:
        return self.kind.status

    def envelope(self) -> dict[str, Any]:
        body = {
            "error_code": self.kind.code,
            "error_type": self.kind.type,
            "error_message": self.message,
            "error_details": self.details,
        }
        # SPEC section 1: clients read a 429 under "detail".
        return {"detail": body} if self.kind is RATE_LIMITED else body

    def to_record(self) -> dict[str, Any]:
        """The form stored on a task, read back by `from_record`."""
        return {"code": self.kind.code, "message": self.message, "details": self.details}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> PixelportError:
        kind = _BY_CODE.get(str(record.get("code")), INTERNAL)
        return cls(kind, str(record.get("message", "")), record.get("details") or {})


class ValidationFailed(PixelportError):
    """422 code 9000 with dotted field paths."""

    def __init__(self, details: Mapping[str, Iterable[str]]):
        listed = {path: list(msgs) for path, msgs in details.items()}
        super().__init__(VALIDATION, join_messages(listed), listed)


def join_messages(details: Mapping[str, list[str]]) -> str:
    """SPEC section 1: several reasons joined as sentences separated by '. '."""
    sentences = [f"{path}: {msg}" if path else msg for path, msgs in details.items() for msg in msgs]
    return ". ".join(s.rstrip(".") for s in sentences) + "." if sentences else ""


def merge_details(*found: Mapping[str, Iterable[str]]) -> Details:
    """Several sets of field errors as one, in order, each message listed once per path."""
    merged: Details = {}
    for details in found:
        for path, messages in details.items():
            listed = merged.setdefault(path, [])
            for message in messages:
                if message not in listed:
                    listed.append(message)
    return merged
