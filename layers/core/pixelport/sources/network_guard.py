"""Which addresses an input URL may be fetched from (SPEC section 7): public ones only.

Loopback, private, link-local (the cloud metadata service among them), CGNAT, multicast, reserved,
documentation and benchmarking ranges, and the IPv6 forms that embed or tunnel to an IPv4 address are
refused, so a client cannot make pixelport fetch from inside its own network (SSRF). The check runs on
the address actually connected to, on every hop (see `pixelport.sources.url`).

For local development and tests only, `PIXELPORT_ALLOWED_SOURCE_NETWORKS` (comma-separated CIDRs, e.g.
`127.0.0.0/8`) opens exactly the networks it names.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from pixelport.errors import INPUT_ADDRESS_REFUSED, PixelportError

ALLOWED_NETWORKS_ENV = "PIXELPORT_ALLOWED_SOURCE_NETWORKS"

IPNetwork = IPv4Network | IPv6Network
IPAddress = IPv4Address | IPv6Address

_PRIVATE = "a private address"
_DOCUMENTATION = "a documentation address"

# The explicit deny-list, checked in order (first match names the kind in the message). It does not
# rely on `ipaddress`'s `is_global`, whose tables differ between Python patch releases (3.11.7 calls
# 2002::/16, fec0::/10 and 192.88.99.0/24 global); `not is_global` is checked after it as a second net.
_DENIED_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(cidr), kind)
    for cidr, kind in (
        ("169.254.169.254/32", "the cloud instance metadata address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("10.0.0.0/8", _PRIVATE),
        ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", _PRIVATE),
        ("192.0.0.0/24", "an IETF protocol assignment address"),
        ("192.0.2.0/24", _DOCUMENTATION),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", _PRIVATE),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", _DOCUMENTATION),
        ("203.0.113.0/24", _DOCUMENTATION),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)

_DENIED_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(cidr), kind)
    for cidr, kind in (
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("100::/64", "a discard-only address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("2001:2::/48", "a benchmarking address"),
        ("2001:db8::/32", _DOCUMENTATION),
        ("3fff::/20", _DOCUMENTATION),
        ("5f00::/16", "a segment-routing (SRv6) address"),
        ("fc00::/7", "a private (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)

# IPv6 forms that carry an IPv4 address. The embedded address is always checked; the tunnelling forms
# (6to4 2002::/16, Teredo 2001::/32), IPv4-translated and deprecated IPv4-compatible forms are refused
# even around a public IPv4 address: no image host needs them and they reach IPv4 by a path the check
# cannot see.
# NAT64 (64:ff9b::/96) around a public IPv4 address is allowed: the gateway connects to that address.
_IPV4_COMPATIBLE = IPv6Network("::/96")
_IPV4_TRANSLATED = IPv6Network("::ffff:0:0:0/96")  # SIIT (RFC 2765)
_NAT64 = IPv6Network("64:ff9b::/96")


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (spaces tolerated, empty items ignored) as networks.

    Raises `ValueError` naming the bad item: a wrong value here is a deployment error, not a client's.
    """
    networks: list[IPNetwork] = []
    for item in value.split(","):
        cidr = item.strip()
        if not cidr:
            continue
        try:
            networks.append(ipaddress.ip_network(cidr, strict=True))
        except ValueError as exc:
            raise ValueError(
                f"{ALLOWED_NETWORKS_ENV}: {cidr!r} is not a network in CIDR notation "
                f"(e.g. 127.0.0.0/8, with no host bits set): {exc}"
            ) from exc
    return tuple(networks)


@dataclass(frozen=True)
class NetworkPolicy:
    """Public addresses only, plus the networks in `allowed` (for local development and tests)."""

    allowed: tuple[IPNetwork, ...] = ()

    def check(self, address: str, *, host: str | None = None) -> None:
        """Raise `PixelportError(INPUT_ADDRESS_REFUSED)` unless `address` may be connected to.

        `host`, when given, is the name that resolved to `address`, for the message only.
        """
        subject = f"input URL host {host}" if host and host != address else "input URL host"
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise PixelportError(
                INPUT_ADDRESS_REFUSED, f"{subject} resolves to {address!r}, which is not an IP address"
            ) from None
        if self.is_allowed(ip):
            return
        kind = refusal_reason(ip)
        if kind is not None:
            raise PixelportError(
                INPUT_ADDRESS_REFUSED,
                f"{subject} resolves to {ip}, {kind}; only public addresses are fetched "
                f"(set {ALLOWED_NETWORKS_ENV} for local development)",
            )

    def is_allowed(self, ip: IPAddress) -> bool:
        """Whether `ip` is inside a network the allow-list names explicitly.

        An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) counts as its IPv4 address: it is one.
        """
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(
            candidate.version == network.version and candidate in network
            for candidate in candidates
            for network in self.allowed
        )


def refusal_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address ("a loopback address", ...), or None when it is public."""
    if isinstance(ip, IPv4Address):
        return _ipv4_reason(ip)
    return _ipv6_reason(ip)


def _ipv4_reason(ip: IPv4Address) -> str | None:
    for network, kind in _DENIED_V4:
        if ip in network:
            return kind
    if not ip.is_global:
        return "a non-public (special-purpose) address"
    return None


def _ipv6_reason(ip: IPv6Address) -> str | None:
    ip = IPv6Address(int(ip))  # drop a %scope: it does not change what the address is
    if ip.ipv4_mapped is not None:
        inner = _ipv4_reason(ip.ipv4_mapped)
        return None if inner is None else f"an IPv4-mapped form of {ip.ipv4_mapped}, {inner}"
    for network, kind in _DENIED_V6:
        if ip in network:
            return kind
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        form, v4 = embedded
        inner = _ipv4_reason(v4)
        if inner is not None:
            return f"{form} embedding {v4}, {inner}"
        if form != "a NAT64 address":
            return f"{form} embedding {v4} (IPv6 forms that tunnel to IPv4 are not fetched)"
    if not ip.is_global:
        return "a non-public (special-purpose) address"
    return None


def _embedded_ipv4(ip: IPv6Address) -> tuple[str, IPv4Address] | None:
    low32 = IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64:
        return "a NAT64 address", low32
    if ip in _IPV4_COMPATIBLE:
        return "a deprecated IPv4-compatible address", low32
    if ip in _IPV4_TRANSLATED:
        return "an IPv4-translated address", low32
    if ip.sixtofour is not None:  # 2002::/16
        return "a 6to4 address", ip.sixtofour
    if ip.teredo is not None:  # 2001::/32
        return "a Teredo address", ip.teredo[1]  # the client's address, de-obfuscated
    return None


def policy_from_env(environ: Mapping[str, str] | None = None) -> NetworkPolicy:
    """The policy `PIXELPORT_ALLOWED_SOURCE_NETWORKS` asks for (unset or empty: public addresses only)."""
    env = os.environ if environ is None else environ
    return NetworkPolicy(allowed=parse_networks(env.get(ALLOWED_NETWORKS_ENV, "")))
