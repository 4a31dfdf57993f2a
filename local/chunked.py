"""A request body sent with `Transfer-Encoding: chunked` (RFC 9112 section 7.1), read whole by the
local gateway as API Gateway does before it calls the function: a client streaming an upload
(`curl -T -`, a Java or Go client writing to a stream) sends no Content-Length."""

from __future__ import annotations

import re
from typing import Protocol

# chunk-size [; extensions]: the size is hexadecimal; extensions are allowed and ignored.
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")
MAX_LINE_BYTES = 4096  # a size line or a trailer line
MAX_TRAILER_LINES = 64


class Stream(Protocol):
    """What is read from: the request's socket file (http.server's rfile)."""

    def read(self, size: int, /) -> bytes: ...

    def readline(self, size: int, /) -> bytes: ...


class BodyTooLarge(Exception):
    """The chunks add up to more than the limit (nothing past the limit was read)."""


class MalformedBody(Exception):
    """Not chunked framing: a bad size line, a chunk without its CRLF, or the stream ended early."""


def read_chunked(stream: Stream, limit: int) -> bytes:
    """The de-chunked body; trailers are read and dropped (API Gateway passes none to the function)."""
    parts: list[bytes] = []
    total = 0
    while True:
        size = _chunk_size(_line(stream))
        if size == 0:
            break
        total += size
        if total > limit:
            raise BodyTooLarge(f"the chunks add up to more than {limit} bytes")
        data = stream.read(size)
        if len(data) != size:
            raise MalformedBody("the stream ended inside a chunk")
        if stream.read(2) != b"\r\n":
            raise MalformedBody("a chunk is not followed by CRLF")
        parts.append(data)
    for _ in range(MAX_TRAILER_LINES):
        if _line(stream) == b"":
            return b"".join(parts)
    raise MalformedBody(f"more than {MAX_TRAILER_LINES} trailer lines")


def _line(stream: Stream) -> bytes:
    line = stream.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES:
        raise MalformedBody(f"a line of the chunked framing is longer than {MAX_LINE_BYTES} bytes")
    if not line.endswith(b"\n"):
        raise MalformedBody("the stream ended inside the chunked framing")
    return line.rstrip(b"\r\n")


def _chunk_size(line: bytes) -> int:
    found = _CHUNK_SIZE.fullmatch(line)
    if found is None:
        raise MalformedBody("a chunk size is not a hexadecimal number")
    return int(found.group(1), 16)
