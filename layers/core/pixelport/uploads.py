"""POST /v1/image/edit/upload (SPEC 2.4): the two parts of a multipart/form-data body, `file` and
`data`, read with python-multipart (the framing) and the standard library's email package (the part
headers, including RFC 2231 `filename*=`). Every problem is a 4xx naming the part."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from pixelport.contract.limits import limits
from pixelport.errors import BODY_NOT_JSON, BODY_TOO_LARGE, Details, PixelportError, ValidationFailed

PARTS = ("file", "data")
PRESIGNED_ROUTE = "POST /v1/image/edit/upload/url"
# More than this many parts is not an upload of one file, whatever they are called.
MAX_PARTS = 16


@dataclass(frozen=True)
class Upload:
    data: Any  # the decoded JSON of the `data` part (validated by the caller)
    file: bytes
    filename: str


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def disposition(self) -> Message:
        message = Message()
        message["Content-Disposition"] = self.header("content-disposition")
        return message

    @property
    def name(self) -> str | None:
        value = self.disposition().get_param("name", header="content-disposition")
        return value if isinstance(value, str) else None

    @property
    def filename(self) -> str:
        return self.disposition().get_filename() or ""


def boundary_of(content_type: str | None) -> bytes:
    kind, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary", b"")
    if kind != b"multipart/form-data" or not boundary:
        raise PixelportError(
            BODY_NOT_JSON,
            "request body must be multipart/form-data (with a boundary) holding 'file' and 'data'",
        )
    return boundary


def _split(body: bytes, boundary: bytes) -> list[_Part]:
    parts: list[_Part] = []
    header: dict[str, bytes] = {"field": b"", "value": b""}

    def on_part_begin() -> None:
        if len(parts) >= MAX_PARTS:
            raise PixelportError(BODY_NOT_JSON, f"the multipart body has more than {MAX_PARTS} parts")
        parts.append(_Part())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        # Browsers and curl send a file name as raw UTF-8 inside the quotes.
        name = header["field"].decode("latin-1").strip().lower()
        parts[-1].headers[name] = header["value"].decode("utf-8", errors="replace").strip()
        header["field"] = header["value"] = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].chunks.append(data[start:end])

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise PixelportError(BODY_NOT_JSON, f"the multipart body is malformed: {exc}") from None
    if parser.state is not MultipartState.END:
        # A body cut short: what was read must not pass for a whole upload.
        raise PixelportError(BODY_NOT_JSON, "the multipart body ends before its closing boundary")
    return parts


def read_upload(body: bytes, content_type: str | None) -> Upload:
    if len(body) > limits().max_upload_body_bytes:
        raise PixelportError(
            BODY_TOO_LARGE,
            f"an upload through this route is at most {limits().max_upload_body_bytes} bytes; "
            f"upload larger files with {PRESIGNED_ROUTE}",
        )
    parts = _split(body, boundary_of(content_type))
    problems: Details = {}
    found: dict[str, _Part] = {}
    for part in parts:
        name = part.name
        if name is None:
            problems.setdefault("body", []).append("a part has no form-data name")
        elif name not in PARTS:
            problems.setdefault(name, []).append("unexpected part; an upload has exactly 'file' and 'data'")
        elif name in found:
            problems.setdefault(name, []).append("sent more than once")
        else:
            found[name] = part
    for name in PARTS:
        if name not in found:
            problems.setdefault(name, []).append("field required")
    data: Any = None
    if "data" in found:
        data, data_problem = _json_of(found["data"])
        if data_problem:
            problems.setdefault("data", []).append(data_problem)
    file = b"".join(found["file"].chunks) if "file" in found else b""
    if "file" in found and not file:
        problems.setdefault("file", []).append("is empty")
    if problems:
        raise ValidationFailed(problems)
    return Upload(data=data, file=file, filename=found["file"].filename)


def _json_of(part: _Part) -> tuple[Any, str]:
    raw = b"".join(part.chunks)
    if len(raw) > limits().max_request_body_bytes:
        return None, f"is larger than {limits().max_request_body_bytes} bytes"
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, "is not valid JSON"
    if not isinstance(value, dict):
        return None, "must be a JSON object: the edit request without 'input'"
    return value, ""
