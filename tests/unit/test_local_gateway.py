"""The local gateway's HTTP front: what it answers before a request reaches a function."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from local.apigw import MAX_PAYLOAD_BYTES, GatewayAnswer
from local.stack import Stack
from local.template import Template

PROMPTLY = 5.0  # seconds; a gateway waiting for the promised body would take forever


class RecordingStack(Stack):
    """The stack's HTTP handler in front of a recorder, in place of the routes and functions."""

    def answer(
        self, method: str, target: str, headers: dict[str, list[str]], body: bytes, peer: str
    ) -> GatewayAnswer:
        self.calls.append((method, target, headers, body))
        return GatewayAnswer(200, {"Content-Type": "text/plain"}, b"ok")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.calls: list[tuple[Any, ...]] = []


class Gateway:
    def __init__(self, server: ThreadingHTTPServer, calls: list[tuple[Any, ...]]):
        self.server = server
        self.calls = calls
        self.port = int(server.server_address[1])

    def exchange(
        self, head: str, body: bytes = b"", *, end: bool = False
    ) -> tuple[int, dict[str, str], bytes]:
        """Send raw bytes (then end the stream, given `end`), read until the gateway closes the
        connection or PROMPTLY passes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=PROMPTLY) as sock:
            sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
            if end:
                sock.shutdown(socket.SHUT_WR)
            received = b""
            while b"\r\n\r\n" not in received or len(received) < _expected_length(received):
                chunk = sock.recv(65536)  # raises TimeoutError if the gateway never answers
                if not chunk:
                    break
                received += chunk
        status_line, _, rest = received.partition(b"\r\n")
        header_block, _, payload = rest.partition(b"\r\n\r\n")
        headers = {}
        for line in header_block.decode().split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers, payload


def _expected_length(received: bytes) -> int:
    head, _, _ = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(head) + 4 + int(line.split(b":")[1])
    return len(received)


@pytest.fixture
def gateway(template: Template) -> Iterator[Gateway]:
    stack = RecordingStack(port=0, api_key="test", template=template)
    server = ThreadingHTTPServer(("127.0.0.1", 0), stack._handler_class())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Gateway(server, stack.calls)
    server.shutdown()
    server.server_close()


def test_a_content_length_above_the_limit_is_413_at_once_without_waiting_for_the_body(
    gateway: Gateway,
) -> None:
    status, headers, body = gateway.exchange(
        f"POST /v1/image/edit HTTP/1.1\nHost: x\nContent-Length: {50 * MAX_PAYLOAD_BYTES}\n",
        b"only a few bytes",
    )
    assert status == 413
    assert json.loads(body)["error_code"] == "4133"  # the template's REQUEST_TOO_LARGE
    assert headers["connection"] == "close"  # the rest of the body is never read
    assert gateway.calls == []


@pytest.mark.parametrize("length", ["-1", "ten", "1e3", ""])
def test_a_negative_or_non_numeric_content_length_is_400(gateway: Gateway, length: str) -> None:
    status, headers, _ = gateway.exchange(
        f"POST /v1/image/edit HTTP/1.1\nHost: x\nContent-Length: {length}\n", b"{}"
    )
    assert status == 400
    assert headers["connection"] == "close"
    assert gateway.calls == []


def test_a_body_within_the_limit_reaches_the_stack(gateway: Gateway) -> None:
    status, _, body = gateway.exchange(
        "POST /v1/image/edit HTTP/1.1\nHost: x\nContent-Length: 2\nConnection: close\n", b"{}"
    )
    assert (status, body) == (200, b"ok")
    assert [call[:2] for call in gateway.calls] == [("POST", "/v1/image/edit")]
    assert gateway.calls[0][3] == b"{}"


def test_nagle_is_off_so_a_kept_alive_client_waits_for_no_delayed_ack(template: Template) -> None:
    # Headers and body are two writes; with Nagle's algorithm on, the body waited for the client's
    # delayed ACK of the headers (40 ms a request on a kept-alive connection, measured).
    seen: list[int] = []
    handler = RecordingStack(port=0, api_key="test", template=template)._handler_class()

    class Probe(handler):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            super().setup()
            seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Probe)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        status, _, _ = Gateway(server, []).exchange(
            "POST /v1/image/edit HTTP/1.1\nHost: x\nContent-Length: 2\nConnection: close\n", b"{}"
        )
    finally:
        server.shutdown()
        server.server_close()
    assert status == 200
    assert seen and seen[0] != 0


def _chunks(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_a_chunked_body_reaches_the_stack_whole_without_its_transfer_encoding(gateway: Gateway) -> None:
    # `curl -T -` and streaming clients send no Content-Length; API Gateway reads the chunks whole.
    status, _, body = gateway.exchange(
        "POST /v1/image/edit HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\nConnection: close\n",
        _chunks(b'{"in', b'put": 1}'),
    )
    assert (status, body) == (200, b"ok")
    assert gateway.calls[0][3] == b'{"input": 1}'
    assert "transfer-encoding" not in {name.lower() for name in gateway.calls[0][2]}


def test_chunk_extensions_and_trailers_are_read_and_dropped(gateway: Gateway) -> None:
    status, _, _ = gateway.exchange(
        "POST /v1/image/edit HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\nConnection: close\n",
        b"2;name=value\r\n{}\r\n0\r\nX-Trailer: yes\r\n\r\n",
    )
    assert status == 200
    assert gateway.calls[0][3] == b"{}"


def test_the_request_after_a_chunked_one_on_the_same_connection_is_served(gateway: Gateway) -> None:
    # Before, the chunks stayed unread and were parsed as the next request line (http.server's page).
    first = b"POST /v1/image/edit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunks(b"[1]")
    second = b"POST /v1/image/edit HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    received = b""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=PROMPTLY) as sock:
        sock.sendall(first + second)
        while chunk := sock.recv(65536):  # until the gateway closes, after the second answer
            received += chunk
    assert received.count(b"HTTP/1.1 200 ") == 2
    assert [call[3] for call in gateway.calls] == [b"[1]", b"{}"]


def test_chunks_adding_up_past_the_limit_are_413_in_the_envelope(gateway: Gateway) -> None:
    half = MAX_PAYLOAD_BYTES // 2 + 1
    status, headers, body = gateway.exchange(
        "POST /v1/image/edit HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n",
        b"%x\r\n" % half + b"a" * half + b"\r\n" + b"%x\r\n" % half + b"a" * half + b"\r\n0\r\n\r\n",
    )
    assert status == 413
    assert json.loads(body)["error_code"] == "4133"
    assert headers["connection"] == "close"
    assert gateway.calls == []


@pytest.mark.parametrize(
    "framing",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # not hexadecimal
        b"2\r\n{}XX0\r\n\r\n",  # a chunk without its CRLF
        b"-2\r\n{}\r\n0\r\n\r\n",
        b"5\r\n{}",  # the stream ends inside a chunk
        b"1" * 5000 + b"\r\n",  # a size line without end
    ],
)
def test_malformed_chunked_framing_is_400_in_the_envelope(gateway: Gateway, framing: bytes) -> None:
    status, headers, body = gateway.exchange(
        "POST /v1/image/edit HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n", framing, end=True
    )
    assert status == 400
    assert "chunked" in json.loads(body)["error_message"]
    assert headers["connection"] == "close"
    assert gateway.calls == []


@pytest.mark.parametrize(
    "head",
    [
        "Transfer-Encoding: chunked\nContent-Length: 2",  # both framings: how requests are smuggled
        "Transfer-Encoding: gzip, chunked",
        "Transfer-Encoding: identity",
    ],
)
def test_other_transfer_codings_or_both_framings_are_400(gateway: Gateway, head: str) -> None:
    status, headers, _ = gateway.exchange(
        f"POST /v1/image/edit HTTP/1.1\nHost: x\n{head}\n", b"2\r\n{}\r\n0\r\n\r\n"
    )
    assert status == 400
    assert headers["connection"] == "close"
    assert gateway.calls == []
