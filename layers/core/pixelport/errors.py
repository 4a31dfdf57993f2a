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
    summary: str  # the README's description of when it happens


AUTH_REQUIRED = ErrorKind("111", 401, "auth", "no Authorization header, or an unknown key")
RATE_LIMITED = ErrorKind("2001", 429, "general", "rate limit exceeded (body nested under `detail`)")
BODY_NOT_JSON = ErrorKind("4000", 400, "validation", "the request body is not a JSON object")
INPUT_UNREACHABLE = ErrorKind(
    "4001", 400, "image", "the input URL could not be fetched (DNS, connection, TLS or timeout)"
)
INPUT_ADDRESS_REFUSED = ErrorKind(
    "4002", 400, "image", "the input URL resolves to a loopback, private or otherwise non-public address"
)
INPUT_HTTP_STATUS = ErrorKind("4003", 400, "image", "the input URL answered with a non-2xx status")
INPUT_TOO_MANY_REDIRECTS = ErrorKind("4004", 400, "image", "the input URL redirected more than 5 times")
INPUT_NOT_IMAGE = ErrorKind("4005", 400, "image", "the input is not an image of an accepted format")
INPUT_CORRUPT = ErrorKind(
    "4006", 400, "image", "the input looks like an accepted format but cannot be decoded"
)
GATEWAY_REFUSED = ErrorKind(
    "4009", 400, "general", "refused by API Gateway before reaching pixelport (status as the gateway sets it)"
)
TASK_NOT_FOUND = ErrorKind("4040", 404, "user", "unknown task id, or a task of another account")
ROUTE_NOT_FOUND = ErrorKind("4044", 404, "user", "no such route")
INPUT_TOO_LARGE = ErrorKind("4130", 413, "image", "the input is larger than the byte limit")
INPUT_TOO_MANY_PIXELS = ErrorKind(
    "4131", 413, "image", "the decoded input is larger than the megapixel limit"
)
OUTPUT_TOO_MANY_PIXELS = ErrorKind(
    "4132", 413, "image", "the output would be larger than the megapixel limit"
)
BODY_TOO_LARGE = ErrorKind("4133", 413, "validation", "the JSON request body is larger than its limit")
INTERNAL = ErrorKind("5000", 500, "general", "a bug or an outage of a service pixelport depends on")
PROCESSING_FAILED = ErrorKind(
    "5001", 500, "general", "processing failed on every retry (the task is marked ERROR, never left running)"
)
GATEWAY_TIMEOUT = ErrorKind("5040", 504, "general", "API Gateway's 29 s integration limit was reached")
VALIDATION = ErrorKind(
    "9000", 422, "validation", "the request fails validation; `error_details` names the fields"
)

# Every kind above, in code order (the README's table is checked against it).
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


def invalid(path: str, message: str) -> ValidationFailed:
    return ValidationFailed({path: [message]})


def join_messages(details: Mapping[str, list[str]]) -> str:
    """SPEC section 1: several reasons joined as sentences separated by '. '."""
    sentences = [f"{path}: {msg}" if path else msg for path, msgs in details.items() for msg in msgs]
    return ". ".join(s.rstrip(".") for s in sentences) + "." if sentences else ""
