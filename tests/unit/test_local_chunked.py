"""make run's gateway reads a chunked body whole, within bounds of both its data and its framing
(local/chunked.py); tests/unit/test_local_gateway.py has the same over a socket."""

from __future__ import annotations

import io

import pytest

from local.chunked import MAX_FRAMING_BYTES, BodyTooLarge, MalformedBody, read_chunked

LIMIT = 10 * 1024 * 1024


def test_chunks_of_every_size_come_back_as_one_body() -> None:
    parts = [b"a" * n for n in (1, 15, 16, 4096, 70_000)]
    framed = b"".join(b"%X\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    assert read_chunked(io.BytesIO(framed), LIMIT) == b"".join(parts)


def test_a_body_of_tiny_chunks_is_refused_once_its_framing_passes_the_bound() -> None:
    # 2-byte chunks: 7 bytes of wire each. Unbounded, 10 MB of them cost seconds of CPU and
    # hundreds of MB of memory in the stack's process.
    chunks = MAX_FRAMING_BYTES // 5 + 1
    stream = io.BytesIO(b"2\r\nab\r\n" * chunks + b"0\r\n\r\n")
    with pytest.raises(BodyTooLarge, match="framing"):
        read_chunked(stream, LIMIT)
    assert stream.tell() < 2 * MAX_FRAMING_BYTES  # it stopped reading there


def test_endless_trailers_are_refused() -> None:
    with pytest.raises(BodyTooLarge, match="framing"):
        read_chunked(io.BytesIO(b"0\r\n" + b"X-T: 1\r\n" * (MAX_FRAMING_BYTES // 8 + 1)), LIMIT)


def test_a_chunk_size_with_trailing_garbage_is_malformed() -> None:
    with pytest.raises(MalformedBody):
        read_chunked(io.BytesIO(b"2 x\r\n{}\r\n0\r\n\r\n"), LIMIT)
