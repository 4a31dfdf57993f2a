"""Fetch an input URL (SPEC section 7): http/https only, public addresses only, bounded in size and time.

Every hop is resolved here, every resolved address is checked by the `NetworkPolicy`, and the socket is
connected to the checked address itself: `http.client` is handed the connected socket and never resolves
the name again, so a DNS answer cannot change between the check and the connection. The Host header,
TLS SNI and certificate verification use the host name of the URL. Every URL, the input and each
redirect's Location, is held to the contract's rules (`pixelport.contract.source_url`), and a redirect
from https never leads to plain http.

Every failure is a `PixelportError`: 4001 unreachable (a URL breaking the rules, DNS, connection, TLS,
timeout, bad HTTP), 4002 refused address, 4003 non-2xx status, 4004 too many redirects, 4130 larger
than `max_input_bytes`.

Stdlib only (socket, ssl, http.client): the Lambda layer carries no HTTP client library.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import io
import ipaddress
import posixpath
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from urllib.parse import quote, unquote, urljoin, urlsplit

from pixelport.contract.limits import Limits, limits, text_limit
from pixelport.contract.source_url import DEFAULT_PORTS, MAX_URL_LENGTH, check_characters, check_source_url
from pixelport.errors import (
    INPUT_HTTP_STATUS,
    INPUT_TOO_LARGE,
    INPUT_TOO_MANY_REDIRECTS,
    INPUT_UNREACHABLE,
    PixelportError,
)
from pixelport.sources.network_guard import NetworkPolicy, policy_from_env

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

Resolver = Callable[[str, int], list[str]]
"""(host, port) -> the IP addresses (as strings) the host name resolves to."""

USER_AGENT = "pixelport/1.0 (+image fetch)"
ACCEPT = "image/*,*/*;q=0.8"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

_READ_CHUNK = 64 * 1024
# RFC 3986 characters allowed in a request target as they are: unreserved, reserved (gen-delims
# without '#', sub-delims). '%' is handled on its own: kept when it starts an escape, quoted otherwise.
_TARGET_SAFE = "-._~:/?[]@!$&'()*+,;="
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Fetched:
    data: bytes
    url: str  # the final URL, after redirects
    content_type: str | None  # the Content-Type header as sent, None when absent
    name: str  # the percent-decoded last path segment of the requested URL, "" when there is none


def fetch_input(url: str) -> Fetched:
    """Fetch an input URL with the deployment's network policy and limits."""
    return fetch(url, policy=policy_from_env(), limits=limits())


def fetch(
    url: str,
    *,
    policy: NetworkPolicy,
    limits: Limits,
    resolve: Resolver | None = None,
) -> Fetched:
    """GET `url`, following up to `limits.max_redirects` redirects, within `limits.fetch_timeout_seconds`.

    `resolve` replaces DNS (tests); by default `socket.getaddrinfo` is used.
    """
    deadline = _Deadline(limits.fetch_timeout_seconds)
    target = _Target.first(url, limits)
    name = _name_of(target.url)
    redirects = 0
    while True:
        with _Exchange(target, policy=policy, limits=limits, deadline=deadline, resolve=resolve) as exchange:
            response = exchange.response
            status = response.status
            if status in REDIRECT_STATUSES:
                location = response.getheader("Location")
                if not location:
                    raise PixelportError(
                        INPUT_HTTP_STATUS, f"input URL answered HTTP {status} without a Location header"
                    )
                if redirects >= limits.max_redirects:
                    raise PixelportError(
                        INPUT_TOO_MANY_REDIRECTS,
                        f"input URL redirected more than {limits.max_redirects} times",
                    )
                redirects += 1
                target = target.redirect(_header_text(location))
                continue
            if not 200 <= status < 300:
                raise PixelportError(INPUT_HTTP_STATUS, f"input URL answered HTTP {status}")
            data = exchange.read_body()
            content_type = response.getheader("Content-Type")
            return Fetched(
                data=data,
                url=target.url,
                content_type=content_type.strip() if content_type is not None else None,
                name=name,
            )


class Lookups:
    """DNS lookups, each on a daemon thread of its own that a fetch stops waiting for at its deadline.

    `getaddrinfo` blocks in C and cannot be cancelled: a lookup to a DNS server that never answers runs
    until the resolver's own timeouts end it. In a shared pool such lookups would fill every worker and
    make each later fetch of a warm Lambda time out; here one stuck lookup delays no other. The cap bounds
    the threads a flood of dead hosts can hold: past it a lookup is refused at once, never queued.
    """

    def __init__(self, cap: int):
        self.cap = cap
        self._slots = threading.BoundedSemaphore(cap)

    def resolve(self, resolve: Resolver, host: str, port: int, *, timeout: float) -> list[str]:
        """`resolve(host, port)`; `TimeoutError` after `timeout` s, its own exception if it fails."""
        if not self._slots.acquire(blocking=False):
            raise PixelportError(
                INPUT_UNREACHABLE,
                f"could not resolve host {host}: {self.cap} earlier DNS lookups are still unanswered; "
                "try again later",
            )
        answer: concurrent.futures.Future[list[str]] = concurrent.futures.Future()

        def run() -> None:
            try:
                answer.set_result(list(resolve(host, port)))
            except BaseException as exc:  # handed to the waiting fetch, if it still waits
                answer.set_exception(exc)
            finally:
                self._slots.release()

        threading.Thread(target=run, name=f"resolve {host}", daemon=True).start()
        return answer.result(timeout=timeout)


_LOOKUPS = Lookups(cap=32)


def resolve_with_dns(host: str, port: int) -> list[str]:
    """The default resolver: every address `getaddrinfo` answers, in its order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# --- the URL ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    url: str  # as given (absolute), reported back as Fetched.url
    scheme: str  # "http" or "https"
    host: str  # ASCII: IDNA-encoded name, or the IP literal without brackets
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None  # set when the host is an IP literal
    port: int
    request_target: str  # path and query, percent-encoded where RFC 3986 requires

    @classmethod
    def first(cls, url: str, limits: Limits) -> _Target:
        """The input URL, held to the contract's rules (it normally comes from a validated request)."""
        # A request accepted earlier (contract.limits.accepted_request): not held to a lower limit set since.
        return cls._checked(url, "input URL", max_length=text_limit(limits.max_input_url_length))

    def redirect(self, location: str) -> _Target:
        """Where a redirect's Location (resolved against this URL) leads, held to the same rules."""
        what = f"input URL redirected to {_shown(location)}"
        try:
            # urljoin drops tabs and newlines (WHATWG); the rule refusing them must see the header as sent.
            check_characters(location)
            url = urljoin(self.url, location)
        except ValueError as exc:
            raise PixelportError(INPUT_UNREACHABLE, f"{what}: {exc}") from None
        target = self._checked(url, what, max_length=MAX_URL_LENGTH)
        if self.scheme == "https" and target.scheme == "http":
            raise PixelportError(
                INPUT_UNREACHABLE, f"{what}: a redirect from https to plain http is not followed"
            )
        return target

    @classmethod
    def _checked(cls, url: str, what: str, *, max_length: int) -> _Target:
        try:
            checked = check_source_url(url, max_length=max_length)
        except ValueError as exc:
            raise PixelportError(INPUT_UNREACHABLE, f"{what}: {exc}") from None
        return cls(
            url=url,
            scheme=checked.scheme,
            host=checked.host,
            ip=checked.ip,
            port=checked.port,
            request_target=_request_target(checked.path, checked.query),
        )

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _shown(url: str) -> str:
    return repr(url if len(url) <= 200 else url[:200] + "...")


def _request_target(path: str, query: str) -> str:
    """Path and query as given, with what RFC 3986 does not allow there (non-ASCII, stray '%') escaped."""
    target = path or "/"
    if query:
        target += "?" + query
    target = _STRAY_PERCENT.sub("%25", target)
    return quote(target, safe=_TARGET_SAFE + "%", encoding="utf-8", errors="strict")


def _name_of(url: str) -> str:
    """The percent-decoded last path segment ("my photo.png"), "" when the path ends with '/'."""
    decoded = unquote(posixpath.basename(urlsplit(url).path))
    return decoded.rsplit("/", 1)[-1]  # an escaped '/' (%2F) must not smuggle a directory in


def _header_text(value: str) -> str:
    """A header value as text: http.client decodes as Latin-1, servers often send UTF-8 (non-ASCII URLs)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


# --- time ------------------------------------------------------------------------------------------


class _Deadline:
    """The one time limit of the whole fetch: every hop, every connect, every read takes from it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def timeout(self, cap: float | None = None) -> float:
        """The socket timeout for the next operation; `TimeoutError` once nothing is left."""
        left = self.remaining()
        if left <= 0:
            raise TimeoutError("the fetch deadline has passed")
        return left if cap is None else min(left, cap)


class _DeadlineReader(io.RawIOBase):
    """The socket as `http.client` reads it: each receive gets only the time left before the deadline.

    A plain socket timeout restarts on every receive, so a server dripping a byte a second would never
    time out; this one cannot outlast the deadline.
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline):
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        self._sock.settimeout(self._deadline.timeout())
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What `http.client` gets instead of the socket: sends and reads bounded by the deadline.

    `close` is a no-op: `http.client` closes its connection while the response is still being read
    (`Connection: close`), and the socket belongs to `_Exchange`, which closes it when done.
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline):
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._deadline.timeout())
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        pass


class _PinnedConnection(http.client.HTTPConnection):
    """An `HTTPConnection` over a socket already connected to a checked address; it never connects."""

    def __init__(self, sock: _DeadlineSocket, host: str, port: int):
        super().__init__(host, port)
        self.sock = cast(socket.socket, sock)
        self.auto_open = 0

    def connect(self) -> None:
        raise ConnectionError("a pinned connection does not reconnect")


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    policy: NetworkPolicy,
    limits: Limits,
    resolve: Resolver | None = None,
) -> int:
    """POST `body` to `url` through the same guard as every fetch (the address checked on connect, the
    same deadlines); redirects are not followed. Answers the HTTP status; `PixelportError` when the
    address is refused or cannot be reached."""
    deadline = _Deadline(limits.fetch_timeout_seconds)
    target = _Target.first(url, limits)
    with _Exchange(
        target,
        policy=policy,
        limits=limits,
        deadline=deadline,
        resolve=resolve,
        method="POST",
        body=body,
        headers=headers,
    ) as exchange:
        status = exchange.response.status
        with contextlib.suppress(OSError, http.client.HTTPException):
            exchange.response.read(64 * 1024)  # the receiver's answer is not ours to keep
        return status


# --- one request and its response ------------------------------------------------------------------


class _Exchange:
    """One hop: resolve, check, connect to the checked address, send the GET, read the head."""

    def __init__(
        self,
        target: _Target,
        *,
        policy: NetworkPolicy,
        limits: Limits,
        deadline: _Deadline,
        resolve: Resolver | None,
        method: str = "GET",
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ):
        self.method = method
        self.body = body
        self.headers = dict(headers or {})
        self.target = target
        self.policy = policy
        self.limits = limits
        self.deadline = deadline
        self.resolve = resolve or resolve_with_dns
        self.sock: socket.socket | None = None
        self.peer = ""
        self._response: http.client.HTTPResponse | None = None

    @property
    def response(self) -> http.client.HTTPResponse:
        assert self._response is not None
        return self._response

    def __enter__(self) -> _Exchange:
        try:
            addresses = self._addresses()
            self.sock = self._connect(addresses)
            self._response = self._request(self.sock)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _addresses(self) -> list[str]:
        target = self.target
        if target.ip is not None:
            addresses = [str(target.ip)]
        else:
            try:
                addresses = _LOOKUPS.resolve(
                    self.resolve,
                    target.host,
                    target.port,
                    timeout=self.deadline.timeout(self.limits.connect_timeout_seconds),
                )
            except concurrent.futures.TimeoutError:
                raise PixelportError(INPUT_UNREACHABLE, f"resolving host {target.host} timed out") from None
            except (OSError, UnicodeError) as exc:
                raise PixelportError(
                    INPUT_UNREACHABLE, f"could not resolve host {target.host}: {_reason(exc)}"
                ) from None
            if not addresses:
                raise PixelportError(INPUT_UNREACHABLE, f"could not resolve host {target.host}: no addresses")
        # Every address must pass, not just the one connected to: an answer mixing public and private
        # addresses is a DNS-rebinding trick, and refusing it whole keeps the rule simple to reason about.
        for address in addresses:
            self.policy.check(address, host=target.host)
        return addresses

    def _connect(self, addresses: list[str]) -> socket.socket:
        failure: PixelportError | None = None
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped  # it is that IPv4 address: connect to it as one
            peer = f"[{ip}]:{self.target.port}" if ip.version == 6 else f"{ip}:{self.target.port}"
            try:
                timeout = self.deadline.timeout(self.limits.connect_timeout_seconds)
                # A numeric address: create_connection does no name resolution here.
                sock = socket.create_connection((str(ip), self.target.port), timeout=timeout)
            except OSError as exc:
                failure = self._unreachable(exc, peer, connecting=True)
                if self.deadline.expired():
                    break
                continue
            self.peer = peer
            if self.target.scheme == "https":
                return self._tls(sock, peer)
            return sock
        assert failure is not None
        raise failure

    def _tls(self, sock: socket.socket, peer: str) -> socket.socket:
        context = ssl.create_default_context()
        try:
            sock.settimeout(self.deadline.timeout())
            return context.wrap_socket(sock, server_hostname=self.target.host)
        except (OSError, ValueError) as exc:
            sock.close()
            raise self._unreachable(exc, peer) from None

    def _request(self, sock: socket.socket) -> http.client.HTTPResponse:
        target = self.target
        connection = _PinnedConnection(_DeadlineSocket(sock, self.deadline), target.host, target.port)
        try:
            connection.putrequest(
                self.method, target.request_target, skip_host=True, skip_accept_encoding=True
            )
            connection.putheader("Host", target.host_header)
            connection.putheader("User-Agent", USER_AGENT)
            connection.putheader("Accept", ACCEPT if self.method == "GET" else "*/*")
            connection.putheader("Accept-Encoding", "identity")
            connection.putheader("Connection", "close")
            for name, value in self.headers.items():
                connection.putheader(name, value)
            if self.method != "GET":
                connection.putheader("Content-Length", str(len(self.body)))
            connection.endheaders(self.body or None)
            return connection.getresponse()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self._unreachable(exc, self.peer) from None

    def read_body(self) -> bytes:
        response = self.response
        limit = self.limits.max_input_bytes
        declared = response.length  # None when chunked or absent
        if declared is not None and declared > limit:
            raise _too_large(limit, f" (Content-Length: {declared} bytes)")
        decoder = _Decoder.for_encodings(response.msg.get_all("Content-Encoding") or [], limit)
        received = 0
        try:
            while True:
                chunk = response.read(min(_READ_CHUNK, limit + 1 - received))
                if not chunk:
                    break
                received += len(chunk)
                if received > limit:
                    raise _too_large(limit)
                decoder.feed(chunk)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self._unreachable(exc, self.peer) from None
        if declared is not None and received < declared:
            raise PixelportError(
                INPUT_UNREACHABLE,
                f"connection to {self.peer} closed after {received} of {declared} bytes of the body",
            )
        return decoder.finish()

    def _unreachable(self, exc: BaseException, peer: str, *, connecting: bool = False) -> PixelportError:
        host = self.target.host
        if self.deadline.expired():
            message = f"fetching the input URL did not finish within {self.deadline.seconds:g} s"
        elif isinstance(exc, ssl.SSLCertVerificationError):
            message = f"TLS certificate verification failed for host {host}: {exc.verify_message}"
        elif isinstance(exc, ssl.SSLError):
            message = f"TLS error with host {host} ({peer}): {_reason(exc)}"
        elif isinstance(exc, TimeoutError):
            message = f"connection to {peer} timed out" if connecting else f"{peer} stopped answering"
        elif isinstance(exc, ConnectionRefusedError):
            message = f"connection to {peer} was refused"
        elif isinstance(exc, http.client.RemoteDisconnected):
            message = f"{peer} closed the connection without answering"
        elif isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
            message = f"connection to {peer} was reset"
        elif isinstance(exc, http.client.HTTPException):
            message = f"{peer} sent an invalid HTTP response ({type(exc).__name__}: {exc})"
        elif connecting:
            message = f"could not connect to {peer}: {_reason(exc)}"
        else:
            message = f"fetching from {peer} failed: {_reason(exc)}"
        return PixelportError(INPUT_UNREACHABLE, message)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _too_large(limit: int, detail: str = "") -> PixelportError:
    return PixelportError(INPUT_TOO_LARGE, f"input is larger than {_size(limit)}{detail}")


def _size(n: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} bytes"


# --- Content-Encoding ------------------------------------------------------------------------------


class _Decoder:
    """Undo a gzip or deflate Content-Encoding (sent despite `Accept-Encoding: identity`).

    The decoded size is held to the same byte limit as the transfer, and decompression never produces
    more than one byte past it, so a small compressed bomb cannot expand in memory.
    """

    def __init__(self, encoding: str | None, limit: int):
        self.encoding = encoding
        self.limit = limit
        self._out = bytearray()
        self._decompressor: zlib._Decompress | None = None
        self._head = b""  # the start of a deflate body, kept until its format (zlib or raw) is known
        if encoding in ("gzip", "x-gzip"):
            self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)

    @classmethod
    def for_encodings(cls, headers: list[str], limit: int) -> _Decoder:
        codings = [c.strip().lower() for header in headers for c in header.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if not codings:
            return cls(None, limit)
        if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
            return cls(codings[0], limit)
        raise PixelportError(
            INPUT_UNREACHABLE,
            f"input URL answered with Content-Encoding {', '.join(codings)}, which pixelport does not "
            "decode (it asks for identity; gzip and deflate alone are accepted)",
        )

    def feed(self, data: bytes) -> None:
        if self.encoding is None:
            self._out += data
            return
        if self._decompressor is None:  # deflate: zlib-wrapped as the RFC says, or raw as some send
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            zlib_wrapped = (data[0] & 0x0F) == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._decompressor = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
        self._inflate(data)

    def _inflate(self, data: bytes) -> None:
        decompressor = self._decompressor
        assert decompressor is not None
        try:
            while data and not decompressor.eof:
                room = self.limit + 1 - len(self._out)
                self._out += decompressor.decompress(data, room)
                if len(self._out) > self.limit:
                    raise _too_large(self.limit, " once decompressed")
                data = decompressor.unconsumed_tail
        except zlib.error as exc:
            raise PixelportError(
                INPUT_UNREACHABLE, f"input URL sent a corrupt {self.encoding} body: {exc}"
            ) from None

    def finish(self) -> bytes:
        if self.encoding is not None and (self._decompressor is None or not self._decompressor.eof):
            raise PixelportError(INPUT_UNREACHABLE, f"input URL sent a truncated {self.encoding} body")
        return bytes(self._out)
