"""The local moto server's HTTP handler (local/moto_http.py) keeps connections: several requests, with
bodies of either framing, answered on one connection, each app seeing its whole body."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from local.moto_http import KeepAliveMotoHandler


def echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answers what it was sent; /stream answers without a length (chunked), /boom raises."""
    body = environ["wsgi.input"].read()
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("boom")
    answer = json.dumps({"path": path, "body": body.decode(), "method": environ["REQUEST_METHOD"]}).encode()
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "application/json")])
        return iter([answer[:5], answer[5:]])
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
    return [answer]


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    httpd = make_server("127.0.0.1", 0, echo, threaded=True, request_handler=KeepAliveMotoHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", httpd.server_port
    finally:
        httpd.shutdown()
        httpd.server_close()


def ask(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None, **headers: str) -> Any:
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response, json.loads(data) if data else None


def test_one_connection_serves_requests_with_and_without_bodies(server: tuple[str, int]) -> None:
    conn = http.client.HTTPConnection(*server)
    conn.connect()
    first_socket = conn.sock
    answers = [
        ask(conn, "POST", "/a", body=b"x" * 100_000),
        ask(conn, "GET", "/b"),
        ask(conn, "PUT", "/c", body=b"hello"),
        ask(conn, "POST", "/stream", body=b"chunked answer"),
    ]
    assert [a["body"] for _, a in answers] == ["x" * 100_000, "", "hello", "chunked answer"]
    assert all(r.getheader("Connection") != "close" for r, _ in answers)
    assert conn.sock is first_socket  # never reconnected


def test_a_chunked_request_body_reaches_the_app_whole(server: tuple[str, int]) -> None:
    conn = http.client.HTTPConnection(*server)
    # http.client frames a body of unknown length as chunks (Transfer-Encoding: chunked).
    _, first = ask(conn, "PUT", "/chunks", body=iter([b"abc", b"def"]))
    _, second = ask(conn, "GET", "/after")
    assert first["body"] == "abcdef"
    assert second["path"] == "/after"


def test_nagle_is_off_on_the_server_side(server: tuple[str, int]) -> None:
    seen: list[int] = []

    class Probe(KeepAliveMotoHandler):
        def setup(self) -> None:
            super().setup()
            seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    httpd = make_server("127.0.0.1", 0, echo, threaded=True, request_handler=Probe)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        ask(http.client.HTTPConnection("127.0.0.1", httpd.server_port), "GET", "/")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert seen and seen[0] != 0


def test_an_app_error_answers_500_and_closes(server: tuple[str, int]) -> None:
    conn = http.client.HTTPConnection(*server)
    conn.request("GET", "/boom")
    response = conn.getresponse()
    response.read()
    assert response.status == 500
    assert response.getheader("Connection") == "close"


def test_a_malformed_length_is_refused(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400")


def test_an_idle_connection_is_let_go_quietly(caplog: pytest.LogCaptureFixture) -> None:
    class Impatient(KeepAliveMotoHandler):
        timeout = 0.2

    httpd = make_server("127.0.0.1", 0, echo, threaded=True, request_handler=Impatient)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", httpd.server_port)
        ask(conn, "GET", "/")
        assert conn.sock is not None
        conn.sock.settimeout(5)
        assert conn.sock.recv(1) == b""  # the server closed the idle connection
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "timed out" not in caplog.text
