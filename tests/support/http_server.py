"""A small programmable HTTP server on loopback for tests (stdlib only).

    with LocalHTTPServer() as server:
        server.add("/cat.png", body=png_bytes)                  # Content-Type guessed from the path
        server.add("/missing", status=404)
        server.add("/old", status=301, headers={"Location": "/cat.png"})
        server.add_redirect("/short", "/cat.png")               # 302 by default
        server.add("/slow", body=b"x" * 100, drip=0.05)         # one body byte every 0.05 s
        server.add("/silent", body=b"x", delay=2.0)             # says nothing for 2 s, then answers
        server.add("/huge", content_length=10**10)              # declares 10 GB, sends nothing
        server.add("/stream", body=data, chunked=True)          # Transfer-Encoding: chunked, no length
        server.add("/gz", body=data, gzip=True)                 # Content-Encoding: gzip
        fetch(server.url("/cat.png"), ...)
        assert server.request_count == 1
        assert server.requests[0].headers["User-Agent"] == ...

Routes match the request target exactly, then its path without the query, then that path
percent-decoded (so `add("/a b.png")` answers "/a%20b.png"); anything else is a 404.
Every response closes its connection. `connection_count` counts accepted connections, including ones
that never sent a valid request (e.g. a TLS handshake sent to this plain-HTTP server).
"""

from __future__ import annotations

import gzip as gzip_module
import mimetypes
import socket
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    gzip: bool = False
    drip: float | None = None
    delay: float = 0.0
    content_length: int | None = None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    target: str  # the request target as received, e.g. "/a%20b.png?x=1"
    headers: Message  # case-insensitive: headers["user-agent"]


class LocalHTTPServer:
    """A threaded HTTP/1.1 server on an ephemeral port; use it as a context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._routes: dict[str, Route] = {}
        self._requests: list[RecordedRequest] = []
        self._connections = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- programming the routes ---

    def add(
        self,
        path: str,
        body: bytes = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        chunked: bool = False,
        gzip: bool = False,
        drip: float | None = None,
        delay: float = 0.0,
        content_length: int | None = None,
    ) -> None:
        """Serve `body` at `path`.

        `headers` are sent as given (they override the defaults); Content-Type is guessed from the path
        unless given. `chunked` sends Transfer-Encoding: chunked and no Content-Length; `gzip` compresses
        the body and says so in Content-Encoding; `drip` sends the body one byte every `drip` seconds;
        `delay` waits that long before sending anything; `content_length` declares that length whatever
        the body is.
        """
        route = Route(
            status=status,
            body=body,
            headers=dict(headers or {}),
            chunked=chunked,
            gzip=gzip,
            drip=drip,
            delay=delay,
            content_length=content_length,
        )
        with self._lock:
            self._routes[path] = route

    def add_redirect(self, path: str, to: str, *, status: int = 302) -> None:
        """Answer `path` with a redirect to `to` (absolute or relative, sent as the Location)."""
        self.add(path, status=status, headers={"Location": to, "Content-Type": "text/plain"})

    # --- what the tests read ---

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def connection_count(self) -> int:
        with self._lock:
            return self._connections

    # --- life cycle ---

    def start(self) -> LocalHTTPServer:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_class = type("_BoundServer", (_Server,), {"address_family": family})
        self._httpd = server_class((self.host, 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends drips and delays
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- used by the handler ---

    def _route(self, target: str) -> Route:
        path = target.split("?", 1)[0]
        with self._lock:
            for candidate in (target, path, unquote(path)):
                if candidate in self._routes:
                    return self._routes[candidate]
        return _NOT_FOUND

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _count_connection(self) -> None:
        with self._lock:
            self._connections += 1


_NOT_FOUND = Route(status=404, body=b"not found", headers={"Content-Type": "text/plain"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LocalHTTPServer

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.owner._count_connection()
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away (the point of several tests) is not an error


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, *, send_body: bool) -> None:
        owner = self.server.owner
        owner._record(RecordedRequest(self.command, self.path, self.headers))
        route = owner._route(self.path)
        self.close_connection = True
        if route.delay and owner._stopping.wait(route.delay):
            return

        payload = gzip_module.compress(route.body) if route.gzip else route.body
        headers: dict[str, str] = {}
        content_type = mimetypes.guess_type(self.path.split("?", 1)[0])[0]
        headers["Content-Type"] = content_type or "application/octet-stream"
        if route.gzip:
            headers["Content-Encoding"] = "gzip"
        if route.chunked:
            headers["Transfer-Encoding"] = "chunked"
            payload = _chunked(payload)
        else:
            length = len(payload) if route.content_length is None else route.content_length
            headers["Content-Length"] = str(length)
        headers["Connection"] = "close"
        given = {name.lower() for name in route.headers}
        headers = {k: v for k, v in headers.items() if k.lower() not in given} | route.headers

        self.send_response(route.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not send_body:
            return
        if route.drip is None:
            self.wfile.write(payload)
            return
        for i in range(len(payload)):
            self.wfile.write(payload[i : i + 1])
            self.wfile.flush()
            if owner._stopping.wait(route.drip):
                return


def _chunked(payload: bytes, size: int = 8192) -> bytes:
    chunks = [payload[i : i + size] for i in range(0, len(payload), size)]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
    return framed + b"0\r\n\r\n"
