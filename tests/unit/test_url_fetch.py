"""Fetching an input URL (SPEC section 7), against a local server on 127.0.0.1 only.

No test reaches the internet: every host name goes through an injected resolver, and the only
addresses ever connected to are loopback ones (connections are spied on where it matters).
"""

from __future__ import annotations

import gzip
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pixelport.contract.limits import Limits
from pixelport.errors import (
    INPUT_ADDRESS_REFUSED,
    INPUT_HTTP_STATUS,
    INPUT_TOO_LARGE,
    INPUT_TOO_MANY_REDIRECTS,
    INPUT_UNREACHABLE,
    ErrorKind,
    PixelportError,
)
from pixelport.sources import url as url_module
from pixelport.sources.network_guard import NetworkPolicy
from pixelport.sources.url import Fetched, fetch
from tests.support.http_server import LocalHTTPServer
from tests.unit.test_contract import SOURCE_URL_RULES

LOOPBACK = NetworkPolicy(allowed=(ipaddress.ip_network("127.0.0.0/8"),))
PUBLIC_ONLY = NetworkPolicy()
LIMITS = Limits(fetch_timeout_seconds=5.0, connect_timeout_seconds=2.0)


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as running:
        yield running


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every (address, port) the fetcher connects to; connecting to a non-loopback address fails the test."""
    seen: list[tuple[str, int]] = []
    real = socket.create_connection

    def spy(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        seen.append(address)
        assert ipaddress.ip_address(address[0]).is_loopback, f"test tried to connect to {address}"
        return real(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "create_connection", spy)
    return seen


def resolver(
    table: dict[str, list[str]], calls: list[tuple[str, int]] | None = None
) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append((host, port))
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


def refuses(kind: ErrorKind, call: Callable[[], Fetched]) -> PixelportError:
    with pytest.raises(PixelportError) as caught:
        call()
    assert caught.value.kind is kind, caught.value.message
    return caught.value


def get(
    url: str,
    *,
    policy: NetworkPolicy = LOOPBACK,
    limits: Limits = LIMITS,
    resolve: Callable[[str, int], list[str]] | None = None,
) -> Fetched:
    return fetch(url, policy=policy, limits=limits, resolve=resolve)


# --- success ---------------------------------------------------------------------------------------


def test_200_returns_body_content_type_final_url_and_decoded_name(server: LocalHTTPServer) -> None:
    server.add("/images/my photo.png", body=b"\x89PNG fake", headers={"Content-Type": "image/png"})
    url = server.url("/images/my%20photo.png?size=large")
    fetched = get(url)
    assert fetched == Fetched(data=b"\x89PNG fake", url=url, content_type="image/png", name="my photo.png")


def test_name_is_empty_when_the_path_ends_with_a_slash(server: LocalHTTPServer) -> None:
    server.add("/dir/", body=b"x")
    assert get(server.url("/dir/")).name == ""
    server.add("/", body=b"x")
    assert get(server.url("")).name == ""


def test_escaped_slash_in_the_name_does_not_smuggle_a_directory(server: LocalHTTPServer) -> None:
    server.add("/a%2F..%2Fb.png", body=b"x")
    assert get(server.url("/a%2F..%2Fb.png")).name == "b.png"


def test_absent_content_type_is_none() -> None:
    with RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok") as port:
        assert get(f"http://127.0.0.1:{port}/x").content_type is None


def test_sends_user_agent_accept_identity_encoding_and_connection_close(server: LocalHTTPServer) -> None:
    server.add("/a.png", body=b"x")
    get(server.url("/a.png"))
    (request,) = server.requests
    assert request.method == "GET"
    assert request.headers["User-Agent"] == "pixelport/1.0 (+image fetch)"
    assert request.headers["Accept"] == "image/*,*/*;q=0.8"
    assert request.headers["Accept-Encoding"] == "identity"
    assert request.headers["Connection"] == "close"
    assert request.headers["Host"] == f"127.0.0.1:{server.port}"


def test_host_name_is_resolved_by_the_resolver_and_sent_as_host_while_the_checked_ip_is_connected(
    server: LocalHTTPServer, connections: list[tuple[str, int]]
) -> None:
    server.add("/a.png", body=b"img")
    calls: list[tuple[str, int]] = []
    # img.test resolves nowhere in real DNS: success proves the connection used the checked address.
    fetched = get(
        f"http://img.test:{server.port}/a.png", resolve=resolver({"img.test": ["127.0.0.1"]}, calls)
    )
    assert fetched.data == b"img"
    assert calls == [("img.test", server.port)]
    assert connections == [("127.0.0.1", server.port)]
    assert server.requests[0].headers["Host"] == f"img.test:{server.port}"


def test_idn_host_is_idna_encoded_for_resolving_and_the_host_header(server: LocalHTTPServer) -> None:
    server.add("/a.png", body=b"img")
    calls: list[tuple[str, int]] = []
    get(
        f"http://Bücher.test:{server.port}/a.png",
        resolve=resolver({"xn--bcher-kva.test": ["127.0.0.1"]}, calls),
    )
    assert calls == [("xn--bcher-kva.test", server.port)]
    assert server.requests[0].headers["Host"] == f"xn--bcher-kva.test:{server.port}"


def test_ip_literal_host_is_not_given_to_the_resolver(server: LocalHTTPServer) -> None:
    server.add("/a.png", body=b"img")
    calls: list[tuple[str, int]] = []
    assert get(server.url("/a.png"), resolve=resolver({}, calls)).data == b"img"
    assert calls == []


def test_request_target_escapes_non_ascii_and_stray_percent_and_keeps_escapes_and_reserved_characters(
    server: LocalHTTPServer,
) -> None:
    # Spaces are refused by the URL rules (see SOURCE_URL_RULES), so a URL reaching here has none.
    server.add("/a b/ü.png", body=b"x")
    fetched = get(server.url("/a%20b/ü.png?q=x%20y&z=%41&w=100%&k=(1);[2]"))
    assert server.requests[0].target == "/a%20b/%C3%BC.png?q=x%20y&z=%41&w=100%25&k=(1);[2]"
    assert fetched.name == "ü.png"


def test_fragment_is_not_sent(server: LocalHTTPServer) -> None:
    server.add("/a.png", body=b"x")
    get(server.url("/a.png#top"))
    assert server.requests[0].target == "/a.png"


def test_body_exactly_at_the_limit_is_accepted(server: LocalHTTPServer) -> None:
    server.add("/a.bin", body=b"x" * 1024)
    server.add("/chunked.bin", body=b"y" * 1024, chunked=True)
    limits = Limits(max_input_bytes=1024)
    assert get(server.url("/a.bin"), limits=limits).data == b"x" * 1024
    assert get(server.url("/chunked.bin"), limits=limits).data == b"y" * 1024


def test_chunked_body_without_length_is_read_whole(server: LocalHTTPServer) -> None:
    body = bytes(range(256)) * 2000  # 512 000 bytes in 8 KiB chunks
    server.add("/big.bin", body=body, chunked=True)
    assert get(server.url("/big.bin")).data == body


def test_gzip_encoded_body_is_decoded_despite_asking_for_identity(server: LocalHTTPServer) -> None:
    body = b"pixels" * 10_000
    server.add("/a.png", body=body, gzip=True)
    assert get(server.url("/a.png")).data == body


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize("compress", [zlib.compress, _raw_deflate], ids=["zlib-wrapped", "raw"])
def test_deflate_encoded_body_is_decoded_in_either_form(
    server: LocalHTTPServer, compress: Callable[[bytes], bytes]
) -> None:
    body = b"pixels" * 10_000
    encoded = compress(body)
    server.add("/a.png", body=encoded, headers={"Content-Encoding": "deflate"})
    assert get(server.url("/a.png")).data == body


# --- status and redirects --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 403, 500, 503, 304, 101])
def test_non_2xx_final_status_is_input_http_status_naming_it(server: LocalHTTPServer, status: int) -> None:
    server.add("/a.png", body=b"nope", status=status)
    error = refuses(INPUT_HTTP_STATUS, lambda: get(server.url("/a.png")))
    assert error.message == f"input URL answered HTTP {status}"
    assert error.kind.code == "4003"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_each_redirect_status_is_followed_to_the_final_url(server: LocalHTTPServer, status: int) -> None:
    server.add_redirect("/old.png", "/new.png", status=status)
    server.add("/new.png", body=b"new")
    fetched = get(server.url("/old.png"))
    assert (fetched.data, fetched.url, fetched.name) == (b"new", server.url("/new.png"), "old.png")


def test_redirect_chain_of_5_is_followed(server: LocalHTTPServer) -> None:
    for i in range(5):
        server.add_redirect(f"/r{i}", f"/r{i + 1}")
    server.add("/r5", body=b"end")
    assert get(server.url("/r0")).data == b"end"
    assert server.request_count == 6


def test_redirect_chain_of_6_is_too_many_redirects(server: LocalHTTPServer) -> None:
    for i in range(6):
        server.add_redirect(f"/r{i}", f"/r{i + 1}")
    server.add("/r6", body=b"end")
    error = refuses(INPUT_TOO_MANY_REDIRECTS, lambda: get(server.url("/r0")))
    assert error.message == "input URL redirected more than 5 times"
    assert server.request_count == 6  # the 7th URL is never asked for


def test_max_redirects_0_refuses_the_first_redirect(server: LocalHTTPServer) -> None:
    server.add_redirect("/r", "/a.png")
    refuses(INPUT_TOO_MANY_REDIRECTS, lambda: get(server.url("/r"), limits=Limits(max_redirects=0)))


def test_redirect_loop_ends_as_too_many_redirects(server: LocalHTTPServer) -> None:
    server.add_redirect("/loop", "/loop")
    refuses(INPUT_TOO_MANY_REDIRECTS, lambda: get(server.url("/loop")))


def test_relative_location_is_resolved_against_the_current_url(server: LocalHTTPServer) -> None:
    server.add_redirect("/a/b/c.png", "../d/e.png?v=2")
    server.add("/a/d/e.png", body=b"e")
    fetched = get(server.url("/a/b/c.png"))
    assert (fetched.data, fetched.url) == (b"e", server.url("/a/d/e.png?v=2"))


def test_every_hop_is_resolved_again(server: LocalHTTPServer) -> None:
    server.add_redirect("/a", f"http://second.test:{server.port}/b")
    server.add("/b", body=b"b")
    calls: list[tuple[str, int]] = []
    table = {"first.test": ["127.0.0.1"], "second.test": ["127.0.0.1"]}
    assert get(f"http://first.test:{server.port}/a", resolve=resolver(table, calls)).data == b"b"
    assert calls == [("first.test", server.port), ("second.test", server.port)]


@pytest.mark.parametrize("location", ["http://[::1", "http://a.test:99999/", "https:///x.png"])
def test_redirect_to_an_invalid_url_is_unreachable_not_a_crash(
    server: LocalHTTPServer, location: str
) -> None:
    server.add_redirect("/r", location)
    error = refuses(INPUT_UNREACHABLE, lambda: get(server.url("/r"), resolve=resolver({})))
    assert error.message.startswith("input URL redirected to")


def test_redirect_without_location_is_input_http_status(server: LocalHTTPServer) -> None:
    server.add("/r", status=302)
    error = refuses(INPUT_HTTP_STATUS, lambda: get(server.url("/r")))
    assert "302" in error.message


@pytest.mark.parametrize(
    "location",
    [
        "ftp://127.0.0.1/a.png",
        "file:///etc/passwd",
        "storage://bucket/a.png",
        "javascript:alert(1)",
        "gopher://x/",
    ],
)
def test_redirect_to_a_non_http_scheme_is_refused_clearly(server: LocalHTTPServer, location: str) -> None:
    server.add_redirect("/r", location)
    error = refuses(INPUT_UNREACHABLE, lambda: get(server.url("/r")))
    scheme = location.split(":", 1)[0]
    assert f"{scheme}:" in error.message
    assert "only http and https" in error.message
    assert server.request_count == 1


@pytest.mark.parametrize(
    "location", ["http://10.0.0.1/a.png", "http://169.254.169.254/latest/meta-data/", "[::1]"]
)
def test_redirect_to_a_refused_address_is_refused_before_connecting(
    server: LocalHTTPServer, connections: list[tuple[str, int]], location: str
) -> None:
    if location == "[::1]":
        location = f"http://[::1]:{server.port}/a.png"
    server.add_redirect("/r", location)
    refuses(INPUT_ADDRESS_REFUSED, lambda: get(server.url("/r")))
    assert connections == [("127.0.0.1", server.port)]  # the first hop only
    assert server.connection_count == 1


def test_redirect_to_a_host_with_a_mixed_dns_answer_is_refused_before_connecting(
    server: LocalHTTPServer, connections: list[tuple[str, int]]
) -> None:
    server.add_redirect("/r", f"http://rebind.test:{server.port}/a.png")
    server.add("/a.png", body=b"x")
    resolve = resolver({"rebind.test": ["127.0.0.1", "10.0.0.1"]})
    error = refuses(INPUT_ADDRESS_REFUSED, lambda: get(server.url("/r"), resolve=resolve))
    assert "rebind.test resolves to 10.0.0.1, a private address" in error.message
    assert connections == [("127.0.0.1", server.port)]
    assert server.request_count == 1


# --- the network guard on the first hop ------------------------------------------------------------


def test_default_policy_refuses_loopback_and_the_server_sees_no_connection(server: LocalHTTPServer) -> None:
    server.add("/a.png", body=b"x")
    error = refuses(INPUT_ADDRESS_REFUSED, lambda: get(server.url("/a.png"), policy=PUBLIC_ONLY))
    assert error.kind.code == "4002"
    assert "127.0.0.1, a loopback address" in error.message
    assert server.connection_count == 0
    assert server.request_count == 0


def test_default_policy_refuses_a_host_name_resolving_to_loopback(server: LocalHTTPServer) -> None:
    resolve = resolver({"localhost.test": ["127.0.0.1"]})
    url = f"http://localhost.test:{server.port}/a.png"
    refuses(INPUT_ADDRESS_REFUSED, lambda: get(url, policy=PUBLIC_ONLY, resolve=resolve))
    assert server.connection_count == 0


def test_ipv6_loopback_literal_is_refused_by_the_default_policy(connections: list[tuple[str, int]]) -> None:
    refuses(INPUT_ADDRESS_REFUSED, lambda: get("http://[::1]:8080/a.png", policy=PUBLIC_ONLY))
    assert connections == []


@pytest.mark.parametrize(
    "answer",
    [["8.8.8.8", "10.0.0.1"], ["10.0.0.1", "8.8.8.8"], ["2606:4700:4700::1111", "::ffff:169.254.169.254"]],
)
def test_resolver_answer_mixing_public_and_private_addresses_is_refused_whole(
    connections: list[tuple[str, int]], answer: list[str]
) -> None:
    resolve = resolver({"mixed.test": answer})
    refuses(
        INPUT_ADDRESS_REFUSED, lambda: get("http://mixed.test/a.png", policy=PUBLIC_ONLY, resolve=resolve)
    )
    assert connections == []


def test_mixed_answer_is_refused_even_when_the_allowed_address_comes_first(server: LocalHTTPServer) -> None:
    resolve = resolver({"mixed.test": ["127.0.0.1", "10.0.0.1"]})
    refuses(INPUT_ADDRESS_REFUSED, lambda: get(f"http://mixed.test:{server.port}/", resolve=resolve))
    assert server.connection_count == 0


# --- size ------------------------------------------------------------------------------------------


def test_content_length_over_the_limit_is_refused_without_reading_the_body(server: LocalHTTPServer) -> None:
    # Declares 10 GB and sends nothing: reading would end as a truncated body (4001), not 4130.
    server.add("/huge.png", content_length=10 * 1024**3)
    started = time.monotonic()
    error = refuses(
        INPUT_TOO_LARGE, lambda: get(server.url("/huge.png"), limits=Limits(max_input_bytes=1024))
    )
    assert time.monotonic() - started < 1
    assert error.kind.code == "4130"
    assert error.message.startswith("input is larger than 1 KB")


def test_too_large_message_gives_the_real_limit(server: LocalHTTPServer) -> None:
    server.add("/huge.png", content_length=60 * 1024 * 1024)
    error = refuses(INPUT_TOO_LARGE, lambda: get(server.url("/huge.png"), limits=Limits()))
    assert error.message.startswith("input is larger than 50 MB")


def test_chunked_body_over_the_limit_is_refused(server: LocalHTTPServer) -> None:
    server.add("/big.png", body=b"x" * 100_000, chunked=True)
    error = refuses(
        INPUT_TOO_LARGE, lambda: get(server.url("/big.png"), limits=Limits(max_input_bytes=10_000))
    )
    assert error.message == "input is larger than 10000 bytes"


def test_streamed_body_stops_being_read_once_past_the_limit(server: LocalHTTPServer) -> None:
    # 1 MB dripped slowly would take minutes; passing the limit after 11 bytes ends it at once.
    server.add("/slow.png", body=b"x" * 1_000_000, chunked=True, drip=0.001)
    started = time.monotonic()
    refuses(INPUT_TOO_LARGE, lambda: get(server.url("/slow.png"), limits=Limits(max_input_bytes=10)))
    assert time.monotonic() - started < 2


def test_gzip_bomb_is_refused_on_its_decoded_size(server: LocalHTTPServer) -> None:
    server.add("/bomb.png", body=b"\0" * 5_000_000, gzip=True)  # about 5 KB on the wire
    error = refuses(
        INPUT_TOO_LARGE, lambda: get(server.url("/bomb.png"), limits=Limits(max_input_bytes=65536))
    )
    assert error.message == "input is larger than 64 KB once decompressed"


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
def test_content_encoding_other_than_gzip_or_deflate_is_refused_clearly(
    server: LocalHTTPServer, encoding: str
) -> None:
    server.add("/a.png", body=b"whatever", headers={"Content-Encoding": encoding})
    error = refuses(INPUT_UNREACHABLE, lambda: get(server.url("/a.png")))
    assert f"Content-Encoding {encoding}" in error.message


def test_corrupt_gzip_body_is_unreachable_not_a_crash(server: LocalHTTPServer) -> None:
    server.add("/a.png", body=b"definitely not gzip", headers={"Content-Encoding": "gzip"})
    refuses(INPUT_UNREACHABLE, lambda: get(server.url("/a.png")))


def test_truncated_gzip_body_is_unreachable(server: LocalHTTPServer) -> None:
    server.add("/a.png", body=gzip.compress(b"pixels" * 1000)[:-20], headers={"Content-Encoding": "gzip"})
    error = refuses(INPUT_UNREACHABLE, lambda: get(server.url("/a.png")))
    assert "truncated gzip" in error.message


def test_body_shorter_than_its_content_length_is_unreachable(server: LocalHTTPServer) -> None:
    server.add("/short.png", body=b"abc", content_length=1000)
    error = refuses(INPUT_UNREACHABLE, lambda: get(server.url("/short.png")))
    assert "closed after 3 of 1000 bytes" in error.message


# --- time ------------------------------------------------------------------------------------------


def test_dripping_body_is_cut_off_at_the_total_deadline(server: LocalHTTPServer) -> None:
    server.add("/drip.png", body=b"x" * 1000, drip=0.05)  # 50 s in all, a byte every 50 ms
    limits = Limits(fetch_timeout_seconds=0.5, connect_timeout_seconds=0.5)
    started = time.monotonic()
    error = refuses(INPUT_UNREACHABLE, lambda: get(server.url("/drip.png"), limits=limits))
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 0.5 + 1
    assert error.message == "fetching the input URL did not finish within 0.5 s"


def test_silent_server_is_cut_off_at_the_total_deadline(server: LocalHTTPServer) -> None:
    server.add("/silent.png", body=b"x", delay=10)
    limits = Limits(fetch_timeout_seconds=0.5)
    started = time.monotonic()
    refuses(INPUT_UNREACHABLE, lambda: get(server.url("/silent.png"), limits=limits))
    assert time.monotonic() - started < 0.5 + 1


def test_deadline_spans_all_redirect_hops(server: LocalHTTPServer) -> None:
    server.add("/r1", status=302, headers={"Location": "/r2"}, delay=0.3)
    server.add("/r2", status=302, headers={"Location": "/r3"}, delay=0.3)
    server.add("/r3", body=b"x", delay=0.3)
    started = time.monotonic()
    refuses(INPUT_UNREACHABLE, lambda: get(server.url("/r1"), limits=Limits(fetch_timeout_seconds=0.5)))
    assert time.monotonic() - started < 0.5 + 1


# --- unreachable -----------------------------------------------------------------------------------


def test_connection_refused_on_a_closed_port_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = refuses(INPUT_UNREACHABLE, lambda: get(f"http://127.0.0.1:{port}/a.png"))
    assert error.message == f"connection to 127.0.0.1:{port} was refused"


def test_unresolvable_host_is_unreachable() -> None:
    error = refuses(INPUT_UNREACHABLE, lambda: get("http://example.invalid/a.png", resolve=resolver({})))
    assert error.message.startswith("could not resolve host example.invalid")


def test_resolver_answering_no_address_is_unreachable() -> None:
    error = refuses(
        INPUT_UNREACHABLE, lambda: get("http://empty.test/a.png", resolve=resolver({"empty.test": []}))
    )
    assert error.message == "could not resolve host empty.test: no addresses"


def test_https_url_against_a_plain_http_server_is_a_tls_error_not_a_crash(server: LocalHTTPServer) -> None:
    server.add("/a.png", body=b"x")
    url = server.url("/a.png").replace("http://", "https://")
    error = refuses(INPUT_UNREACHABLE, lambda: get(url))
    assert "TLS" in error.message
    assert server.request_count == 0


@pytest.mark.parametrize(
    ("reply", "said"),
    [(b"", "closed the connection without answering"), (b"NOT HTTP AT ALL\r\n\r\n", "invalid HTTP response")],
    ids=["closes", "garbage"],
)
def test_server_that_does_not_speak_http_is_unreachable(reply: bytes, said: str) -> None:
    with RawServer(reply) as port:
        error = refuses(INPUT_UNREACHABLE, lambda: get(f"http://127.0.0.1:{port}/a.png"))
    assert said in error.message


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "example.com/a.png",
        "http://",
        "http:///a.png",
        "http://exa mple.test/a.png",
        "http://example.test:99999/a.png",
        "http://example.test:port/a.png",
        "http://[::1/a.png",
        "http://" + "a" * 70 + ".test/",
        "http://a.test/\ud800.png",
        "http://\ud800.test/",
    ],
)
def test_invalid_input_url_is_a_pixelport_error_never_a_raw_exception(url: str) -> None:
    refuses(INPUT_UNREACHABLE, lambda: get(url, resolve=resolver({})))


# --- helpers ---------------------------------------------------------------------------------------


class RawServer:
    """A listener on 127.0.0.1 that answers one connection with `reply` bytes and closes it."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> int:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.thread.start()
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()
        self.thread.join(timeout=5)

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                conn.sendall(self.reply)
            except OSError:
                pass


def test_a_resolver_that_hangs_is_cut_off_at_the_deadline() -> None:
    release = threading.Event()

    def hanging(host: str, port: int) -> list[str]:
        release.wait(10)  # a DNS server that never answers
        return ["93.184.216.34"]

    limits = Limits(fetch_timeout_seconds=0.5, connect_timeout_seconds=0.5)
    started = time.monotonic()
    try:
        error = refuses(
            INPUT_UNREACHABLE, lambda: get("http://slow-dns.test/a.png", resolve=hanging, limits=limits)
        )
    finally:
        release.set()
    assert error.message == "resolving host slow-dns.test timed out"
    assert time.monotonic() - started < 1.5


# --- one URL validator: a redirect is held to the contract's rules (tests/unit/test_contract.py) -------


@pytest.mark.parametrize(("location", "message"), SOURCE_URL_RULES)
def test_redirect_to_a_url_the_contract_refuses_is_refused_with_the_contracts_message(
    server: LocalHTTPServer, connections: list[tuple[str, int]], location: str, message: str
) -> None:
    server.add_redirect("/r", location)
    calls: list[tuple[str, int]] = []
    error = refuses(INPUT_UNREACHABLE, lambda: get(server.url("/r"), resolve=resolver({}, calls)))
    assert error.message.startswith("input URL redirected to ")
    assert error.message.endswith(": " + message)
    assert calls == []  # refused before any lookup
    assert connections == [("127.0.0.1", server.port)]  # and before any connection


@pytest.mark.parametrize(("url", "message"), SOURCE_URL_RULES)
def test_input_url_the_contract_refuses_is_refused_by_the_fetcher_too(url: str, message: str) -> None:
    calls: list[tuple[str, int]] = []
    error = refuses(INPUT_UNREACHABLE, lambda: get(url, resolve=resolver({}, calls)))
    assert error.message == "input URL: " + message
    assert calls == []


def test_redirect_to_a_long_presigned_url_is_followed(server: LocalHTTPServer) -> None:
    # Object stores redirect to signed URLs far longer than the input's 512 characters.
    target = "/object.png?" + "X-Amz-Signature=" + "f" * 1000
    server.add_redirect("/r", target)
    server.add("/object.png", body=b"img")
    assert get(server.url("/r")).data == b"img"


def test_redirect_to_a_url_longer_than_4096_characters_is_refused(server: LocalHTTPServer) -> None:
    location = server.url("/object.png?q=") + "a" * 4096
    server.add_redirect("/r", location)
    error = refuses(INPUT_UNREACHABLE, lambda: get(server.url("/r")))
    assert error.message.endswith(": ensure this value has at most 4096 characters")
    assert server.request_count == 1


@pytest.mark.parametrize("host", ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "[::ffff:127.0.0.1]"])
def test_loopback_written_in_another_form_is_never_fetched_under_the_default_policy(
    server: LocalHTTPServer, connections: list[tuple[str, int]], host: str
) -> None:
    server.add("/a.png", body=b"x")
    # A resolver that reads numeric hosts as the C library does: every form is 127.0.0.1.
    calls: list[tuple[str, int]] = []
    resolve = resolver(
        {name: ["127.0.0.1"] for name in ("2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1")}, calls
    )
    with pytest.raises(PixelportError) as caught:
        get(f"http://{host}:{server.port}/a.png", policy=PUBLIC_ONLY, resolve=resolve)
    assert caught.value.kind in (INPUT_UNREACHABLE, INPUT_ADDRESS_REFUSED)
    assert calls == [] and connections == [] and server.request_count == 0


def test_ipv6_zone_id_is_refused_before_any_connection(connections: list[tuple[str, int]]) -> None:
    error = refuses(INPUT_UNREACHABLE, lambda: get("http://[fe80::1%25eth0]/a.png", policy=PUBLIC_ONLY))
    assert error.message == "input URL: URL host must not carry an IPv6 zone id"
    assert connections == []


# --- https never redirects to plain http -------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalHTTPServer]:
    """A LocalHTTPServer speaking TLS with a certificate for 127.0.0.1 that the fetcher is made to trust."""
    cert, key = _self_signed_certificate(tmp_path)
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: real(cafile=str(cert)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with LocalHTTPServer() as running:
        assert running._httpd is not None
        running._httpd.socket = context.wrap_socket(running._httpd.socket, server_side=True)
        yield running


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pixelport test")])
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(ski, False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_https_is_fetched_over_verified_tls(tls_server: LocalHTTPServer) -> None:
    tls_server.add("/a.png", body=b"img")
    url = tls_server.url("/a.png").replace("http://", "https://")
    assert get(url).data == b"img"


def test_redirect_from_https_to_plain_http_is_refused_before_connecting(
    tls_server: LocalHTTPServer, server: LocalHTTPServer
) -> None:
    server.add("/a.png", body=b"img")
    tls_server.add_redirect("/r", server.url("/a.png"))
    error = refuses(INPUT_UNREACHABLE, lambda: get(tls_server.url("/r").replace("http://", "https://")))
    assert error.message == (
        f"input URL redirected to {server.url('/a.png')!r}: "
        "a redirect from https to plain http is not followed"
    )
    assert server.connection_count == 0


def test_redirect_from_https_to_https_is_followed(tls_server: LocalHTTPServer) -> None:
    tls_server.add("/a.png", body=b"img")
    tls_server.add_redirect("/r", "/a.png")
    fetched = get(tls_server.url("/r").replace("http://", "https://"))
    assert (fetched.data, fetched.url) == (b"img", tls_server.url("/a.png").replace("http://", "https://"))


# --- DNS lookups that never answer ------------------------------------------------------------------


@pytest.fixture
def dead_dns() -> Iterator[Callable[[str, int], list[str]]]:
    """A resolver for which dead.test never answers (until the test ends) and anything else is 127.0.0.1."""
    release = threading.Event()

    def resolve(host: str, port: int) -> list[str]:
        if host == "dead.test":
            release.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return ["127.0.0.1"]

    yield resolve
    release.set()


def test_lookups_stuck_on_a_dead_resolver_do_not_delay_later_fetches(
    server: LocalHTTPServer, dead_dns: Callable[[str, int], list[str]]
) -> None:
    quick = Limits(fetch_timeout_seconds=0.2, connect_timeout_seconds=0.2)
    for _ in range(6):
        error = refuses(
            INPUT_UNREACHABLE, lambda: get("http://dead.test/a.png", resolve=dead_dns, limits=quick)
        )
        assert error.message == "resolving host dead.test timed out"
    server.add("/a.png", body=b"img")
    started = time.monotonic()
    assert get(f"http://good.test:{server.port}/a.png", resolve=dead_dns).data == b"img"
    assert time.monotonic() - started < 1.0


def test_past_the_cap_of_stuck_lookups_a_lookup_is_refused_at_once_not_queued(
    monkeypatch: pytest.MonkeyPatch, dead_dns: Callable[[str, int], list[str]]
) -> None:
    monkeypatch.setattr(url_module, "_LOOKUPS", url_module.Lookups(cap=2))
    quick = Limits(fetch_timeout_seconds=0.2, connect_timeout_seconds=0.2)
    for _ in range(2):
        refuses(INPUT_UNREACHABLE, lambda: get("http://dead.test/a.png", resolve=dead_dns, limits=quick))
    started = time.monotonic()
    error = refuses(
        INPUT_UNREACHABLE, lambda: get("http://other.test/a.png", resolve=dead_dns, limits=LIMITS)
    )
    assert time.monotonic() - started < 0.1
    assert error.message == (
        "could not resolve host other.test: 2 earlier DNS lookups are still unanswered; try again later"
    )
