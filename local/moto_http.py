"""How the local moto server speaks HTTP: kept-alive connections without Nagle's delay.

werkzeug's development server, which moto's ThreadedMotoServer uses, answers every request with
`Connection: close` and then lingers up to 10 ms on the socket discarding input; so every botocore
call of the functions, the gateway and the event pumps paid a TCP connect and a new server thread.
This handler keeps the connection (HTTP/1.1, as botocore's urllib3 pool expects), reads each request's
body whole before moto sees it, so nothing unread is left between two requests, and sets TCP_NODELAY:
headers and body are two writes, and Nagle would hold the second until the client's delayed ACK.
"""

from __future__ import annotations

import io
import socket
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

# An idle kept-alive connection frees its server thread after this long (botocore reconnects).
IDLE_SECONDS = 120.0
_NO_BODY_STATUSES = frozenset({204, 304})


class _Answer:
    """One response being written: headers on the first write, chunked when the app gave no length."""

    def __init__(self, handler: KeepAliveMotoHandler):
        self.handler = handler
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.sent = False
        self.chunked = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and self.sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, headers
        return self.write

    def write(self, data: bytes) -> None:
        handler = self.handler
        if not self.sent:
            self._send_headers()
        if not data or handler.command == "HEAD":
            return
        if self.chunked:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            handler.wfile.write(data)

    def finish(self) -> None:
        if not self.sent:
            self._send_headers()
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")

    def _send_headers(self) -> None:
        handler = self.handler
        if self.status is None:
            raise AssertionError("write() before start_response")
        code_text, _, message = self.status.partition(" ")
        code = int(code_text)
        handler.send_response(code, message)
        names = set()
        for name, value in self.headers:
            if name.lower() == "connection":
                continue  # the connection's fate is this server's, not moto's
            handler.send_header(name, value)
            names.add(name.lower())
        bodiless = handler.command == "HEAD" or code < 200 or code in _NO_BODY_STATUSES
        if "content-length" not in names and not bodiless:
            if handler.request_version >= "HTTP/1.1":
                self.chunked = True
                handler.send_header("Transfer-Encoding", "chunked")
            else:
                handler.close_connection = True  # the body ends where the connection does
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()
        self.sent = True


class KeepAliveMotoHandler(MotoRequestHandler):
    """MotoRequestHandler (moto's header handling) with its own WSGI call: keep-alive, TCP_NODELAY."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("Request timed out"):
            return  # an idle kept-alive connection let go: botocore reconnects, nothing went wrong
        super().log_error(format, *args)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body = self._read_body(environ)
        if body is None:
            self.close_connection = True
            self.send_error(400, "Bad Request: unreadable body")
            return
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.input_terminated"] = True  # it ends with the body: werkzeug reads it in one go
        answer = _Answer(self)
        try:
            self._run(self.server.app, environ, answer)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            self.close_connection = True
            self.log_error("Error on request:\n%s", traceback.format_exc())
            if not answer.sent:
                from werkzeug.exceptions import InternalServerError

                self._run(InternalServerError(), environ, _Answer(self))

    def _read_body(self, environ: dict[str, Any]) -> bytes | None:
        """The whole body (chunked or Content-Length); None when the client sent less or nonsense."""
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's DechunkedInput
            try:
                data = bytes(environ["wsgi.input"].read())
            except (OSError, ValueError):
                return None
            environ["CONTENT_LENGTH"] = str(len(data))
            return data
        length_text = environ.get("CONTENT_LENGTH") or "0"
        if not length_text.isdigit():
            return None
        length = int(length_text)
        data = self.rfile.read(length) if length else b""
        return data if len(data) == length else None

    @staticmethod
    def _run(app: Callable[..., Iterable[bytes]], environ: dict[str, Any], answer: _Answer) -> None:
        iterable = app(environ, answer.start_response)
        try:
            for data in iterable:
                answer.write(data)
            answer.finish()
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
