"""The one validator of an image source URL: the contract checks `input` with it and the fetcher checks
every redirect with it, so a redirect cannot reach a URL the contract would refuse (SPEC 2.1, 7).

Pure: no DNS, no network. Which addresses may be connected to is the network guard's job.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

# The published schema's maxLength for every URI. A redirect is held to it rather than to the input's
# 512: redirects to presigned object-store URLs (long signed queries) are ordinary.
MAX_URL_LENGTH = 4096

_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
# WHATWG URL: a host whose last label is a number is an IPv4 address, in whatever base it is written.
_NUMERIC_LABEL = re.compile(r"(\d+|0x[0-9a-f]*)")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class SourceUrl:
    url: str
    scheme: str  # "http" or "https"
    host: str  # ASCII: the IDNA-encoded name, or the IP literal without brackets
    ip: IPAddress | None  # set when the host is an IP literal
    port: int
    path: str
    query: str


def check_source_url(url: str, *, max_length: int) -> SourceUrl:
    """`url` split and checked; `ValueError` with the message clients see when it breaks a rule."""
    if len(url) > max_length:
        raise ValueError(f"ensure this value has at most {max_length} characters")
    check_characters(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # a bracketed host that is not an IPv6 address, say
        raise ValueError(f"URL is not valid: {exc}") from None
    try:
        port = parts.port
    except ValueError:
        raise ValueError("URL has an invalid port") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        if not scheme:
            raise ValueError("URL must be absolute, starting with http:// or https://")
        raise ValueError(f"unsupported scheme '{scheme}'; only http and https URLs are fetched")
    if "@" in parts.netloc:
        raise ValueError("credentials in the URL are not accepted")
    if not parts.hostname:
        raise ValueError("URL needs a host")
    host, ip = _host(parts.hostname)
    return SourceUrl(
        url=url,
        scheme=scheme,
        host=host,
        ip=ip,
        port=DEFAULT_PORTS[scheme] if port is None else port,
        path=parts.path,
        query=parts.query,
    )


def check_characters(text: str) -> None:
    """No spaces or control characters (urlsplit would silently drop some), and text that is UTF-8."""
    if any(ord(c) < 0x21 or c == "\x7f" for c in text):
        raise ValueError("URL must not contain spaces or control characters; percent-encode them")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("URL is not valid text (it contains an unpaired surrogate)") from None


def _host(host: str) -> tuple[str, IPAddress | None]:
    """`host` as lower-case `urlsplit` gives it: (ASCII host, its address when it is an IP literal)."""
    if "%" in host:
        raise ValueError("URL host must not carry an IPv6 zone id")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return str(ip), ip
    if _NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):
        # 2130706433, 0177.0.0.1, 0x7f.0.0.1, 127.1: resolvers read these as 127.0.0.1.
        raise ValueError(
            f"URL host {host!r} is not a valid IPv4 address; "
            "write it as four decimal numbers, such as 192.0.2.1"
        )
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        ascii_host = ""
    if not _HOST_NAME.fullmatch(ascii_host):
        raise ValueError(f"URL has an invalid host name {host!r}")
    return ascii_host, None
