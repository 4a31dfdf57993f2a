"""A request body sent with `Transfer-Encoding: chunked` (RFC 9112 section 7.1), read whole by the
local gateway as API Gateway does before it calls the function: a client streaming an upload
(`curl -T -`, a Java or Go client writing to a stream) sends no Content-Length."""

from __future__ import annotations

import re
from typing import Protocol

# chunk-size [; extensions]: the size is hexadecimal; extensions are allowed and ignored.
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")
MAX_LINE_BYTES = 4096  # a size line or a trailer line
# The framing's own bytes (size lines, CRLFs, trailers) a body may spend: 1 MiB is 200,000 chunks of
# any size; a client sending 2-byte chunks would otherwise cost seconds of CPU for a 10 MB body.
MAX_FRAMING_BYTES = 1 << 20


class Stream(Protocol):
    """What is read from: the request's socket file (http.server's rfile)."""

    def read(self, size: int, /) -> bytes: ...

    def readline(self, size: int, /) -> bytes: ...


class BodyTooLarge(Exception):
    """The chunks add up to more than the limit, or their framing to more than MAX_FRAMING_BYTES."""


class MalformedBody(Exception):
    """Not chunked framing: a bad size line, a chunk without its CRLF, or the stream ended early."""


class _Framing:
    def __init__(self, stream: Stream):
        self.stream = stream
        self.spent = 0

    def line(self) -> bytes:
        """One line of the framing, without its CRLF (a bare LF is taken too, RFC 9112 section 2.2)."""
        line = self.stream.readline(MAX_LINE_BYTES + 1)
        if len(line) > MAX_LINE_BYTES:
            raise MalformedBody(f"a line of the chunked framing is longer than {MAX_LINE_BYTES} bytes")
        if not line.endswith(b"\n"):
            raise MalformedBody("the stream ended inside the chunked framing")
        self.spend(len(line))
        return line[:-2] if line.endswith(b"\r\n") else line[:-1]

    def spend(self, count: int) -> None:
        self.spent += count
        if self.spent > MAX_FRAMING_BYTES:
            raise BodyTooLarge(f"the chunked framing is larger than {MAX_FRAMING_BYTES} bytes")


def read_chunked(stream: Stream, limit: int) -> bytes:
    """The de-chunked body; trailers are read and dropped (API Gateway passes none to the function)."""
    framing = _Framing(stream)
    body = bytearray()
    while (size := _chunk_size(framing.line())) > 0:
        if len(body) + size > limit:
            raise BodyTooLarge(f"the chunks add up to more than {limit} bytes")
        data = stream.read(size)
        if len(data) != size:
            raise MalformedBody("the stream ended inside a chunk")
        if stream.read(2) != b"\r\n":
            raise MalformedBody("a chunk is not followed by CRLF")
        framing.spend(2)
        body += data
    while framing.line() != b"":  # trailers, up to the empty line
        pass
    return bytes(body)


def _chunk_size(line: bytes) -> int:
    found = _CHUNK_SIZE.fullmatch(line)
    if found is None:
        raise MalformedBody("a chunk size is not a hexadecimal number")
    return int(found.group(1), 16)
