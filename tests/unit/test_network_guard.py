"""The network guard: which addresses an input URL may be fetched from (SPEC section 7)."""

from __future__ import annotations

import ipaddress

import pytest

from pixelport.errors import INPUT_ADDRESS_REFUSED, PixelportError
from pixelport.sources.network_guard import NetworkPolicy, parse_networks, policy_from_env

PUBLIC_ONLY = NetworkPolicy()

REFUSED = {
    # IPv4
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "10.0.0.1": "private",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "metadata",
    "169.254.170.2": "link-local",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.254": "carrier-grade NAT",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "0.0.0.0": "unspecified",
    "0.1.2.3": "unspecified",
    "240.0.0.1": "reserved",
    "255.255.255.255": "broadcast",
    "198.18.0.1": "benchmarking",
    "198.19.255.255": "benchmarking",
    "192.0.2.1": "documentation",
    "198.51.100.7": "documentation",
    "203.0.113.5": "documentation",
    "192.0.0.8": "IETF protocol assignment",
    "192.0.0.9": "IETF protocol assignment",
    "192.88.99.1": "6to4 relay",
    # IPv6
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fe80::1%eth0": "link-local",
    "fc00::1": "unique local",
    "fd00:ec2::254": "unique local",  # the EC2 IPv6 metadata address
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    "2001:db8::1": "documentation",
    "3fff::1": "documentation",
    "100::1": "discard-only",
    "5f00::1": "segment-routing",
    "2001:2::1": "benchmarking",
    "2001:10::1": "non-public",  # ORCHID, caught by `not is_global`
    # IPv6 forms embedding a non-public IPv4 address
    "::ffff:127.0.0.1": "IPv4-mapped form of 127.0.0.1, a loopback",
    "::ffff:169.254.169.254": "metadata",
    "::ffff:10.0.0.1": "IPv4-mapped form of 10.0.0.1, a private",
    "::127.0.0.1": "IPv4-compatible address embedding 127.0.0.1",
    "::ffff:0:7f00:1": "IPv4-translated address embedding 127.0.0.1",
    "64:ff9b::a00:1": "NAT64 address embedding 10.0.0.1, a private",
    "64:ff9b::a9fe:a9fe": "NAT64 address embedding 169.254.169.254",
    "64:ff9b:1::808:808": "local-use NAT64",
    "2002:7f00:1::": "6to4 address embedding 127.0.0.1",
    "2002:a9fe:a9fe::1": "6to4 address embedding 169.254.169.254",
    # Teredo with client 127.0.0.1 (stored XOR-ed as 80ff:fffe)
    "2001:0:4136:e378:8000:63bf:80ff:fffe": "Teredo address embedding 127.0.0.1",
}

# Tunnelling forms are refused even around a public IPv4 address.
REFUSED_TUNNELS = [
    "2002:808:808::1",  # 6to4 around 8.8.8.8
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo around 8.8.8.8
    "::8.8.8.8",  # deprecated IPv4-compatible
    "::ffff:0:808:808",  # IPv4-translated
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "::ffff:8.8.8.8",  # IPv4-mapped form of a public address is that public address
    "64:ff9b::808:808",  # NAT64 to a public address
]


@pytest.mark.parametrize(("address", "kind"), REFUSED.items(), ids=list(REFUSED))
def test_non_public_address_is_refused_with_its_kind_named(address: str, kind: str) -> None:
    with pytest.raises(PixelportError) as caught:
        PUBLIC_ONLY.check(address)
    assert caught.value.kind is INPUT_ADDRESS_REFUSED
    assert caught.value.kind.code == "4002"
    assert kind in caught.value.message
    assert "PIXELPORT_ALLOWED_SOURCE_NETWORKS" in caught.value.message


@pytest.mark.parametrize("address", REFUSED_TUNNELS)
def test_ipv6_tunnel_forms_are_refused_even_around_a_public_ipv4_address(address: str) -> None:
    with pytest.raises(PixelportError) as caught:
        PUBLIC_ONLY.check(address)
    assert caught.value.kind is INPUT_ADDRESS_REFUSED
    assert "8.8.8.8" in caught.value.message


@pytest.mark.parametrize("address", PUBLIC)
def test_public_address_is_allowed(address: str) -> None:
    PUBLIC_ONLY.check(address)


def test_message_names_the_address_its_kind_and_how_to_open_it() -> None:
    with pytest.raises(PixelportError) as caught:
        PUBLIC_ONLY.check("127.0.0.1")
    assert caught.value.message == (
        "input URL host resolves to 127.0.0.1, a loopback address; only public addresses are fetched "
        "(set PIXELPORT_ALLOWED_SOURCE_NETWORKS for local development)"
    )


def test_message_names_the_host_when_given() -> None:
    with pytest.raises(PixelportError) as caught:
        PUBLIC_ONLY.check("10.1.2.3", host="intranet.example")
    assert caught.value.message.startswith("input URL host intranet.example resolves to 10.1.2.3, a private")


def test_a_resolved_value_that_is_not_an_ip_address_is_refused() -> None:
    with pytest.raises(PixelportError) as caught:
        PUBLIC_ONLY.check("localhost")
    assert caught.value.kind is INPUT_ADDRESS_REFUSED


def test_allow_list_opens_exactly_the_named_network() -> None:
    policy = NetworkPolicy(allowed=(ipaddress.ip_network("127.0.0.0/8"),))
    policy.check("127.0.0.1")
    policy.check("127.1.2.3")
    for refused in ("10.0.0.1", "::1", "169.254.169.254", "192.168.0.1"):
        with pytest.raises(PixelportError):
            policy.check(refused)


def test_allow_list_of_a_single_host_does_not_open_its_neighbours() -> None:
    policy = NetworkPolicy(allowed=(ipaddress.ip_network("10.0.0.5/32"),))
    policy.check("10.0.0.5")
    with pytest.raises(PixelportError):
        policy.check("10.0.0.6")


def test_ipv4_mapped_address_inside_an_allowed_ipv4_network_is_allowed() -> None:
    policy = NetworkPolicy(allowed=(ipaddress.ip_network("127.0.0.0/8"),))
    policy.check("::ffff:127.0.0.1")
    with pytest.raises(PixelportError):
        policy.check("::ffff:10.0.0.1")


def test_ipv6_allow_list_opens_ipv6_loopback_only() -> None:
    policy = NetworkPolicy(allowed=(ipaddress.ip_network("::1/128"),))
    policy.check("::1")
    with pytest.raises(PixelportError):
        policy.check("127.0.0.1")


def test_policy_from_env_reads_comma_separated_networks_tolerating_spaces() -> None:
    policy = policy_from_env({"PIXELPORT_ALLOWED_SOURCE_NETWORKS": " 127.0.0.0/8 ,, ::1/128, 10.1.0.0/16 "})
    assert policy.allowed == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("10.1.0.0/16"),
    )
    policy.check("10.1.2.3")
    with pytest.raises(PixelportError):
        policy.check("10.2.0.1")


@pytest.mark.parametrize("environ", [{}, {"PIXELPORT_ALLOWED_SOURCE_NETWORKS": ""}, {"OTHER": "127.0.0.0/8"}])
def test_policy_from_env_unset_or_empty_allows_public_addresses_only(environ: dict[str, str]) -> None:
    policy = policy_from_env(environ)
    assert policy.allowed == ()
    with pytest.raises(PixelportError):
        policy.check("127.0.0.1")


def test_policy_from_env_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELPORT_ALLOWED_SOURCE_NETWORKS", "192.168.0.0/16")
    assert policy_from_env().allowed == (ipaddress.ip_network("192.168.0.0/16"),)


@pytest.mark.parametrize(
    "value", ["localhost", "127.0.0.0/33", "127.0.0.1/8", "10.0.0.0/8;192.168.0.0/16", "::1/129"]
)
def test_invalid_cidr_in_env_is_a_value_error_naming_it(value: str) -> None:
    with pytest.raises(ValueError, match="PIXELPORT_ALLOWED_SOURCE_NETWORKS") as caught:
        policy_from_env({"PIXELPORT_ALLOWED_SOURCE_NETWORKS": value})
    assert not isinstance(caught.value, PixelportError)
    assert repr(value.split(",")[0].strip()) in str(caught.value)


def test_parse_networks_of_an_empty_string_is_empty() -> None:
    assert parse_networks("  ") == ()


@pytest.mark.parametrize("address", ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "017700000001"])
def test_an_address_in_a_non_canonical_ipv4_form_is_refused_not_reinterpreted(address: str) -> None:
    # inet_aton would read each of these as 127.0.0.1; the guard reads none of them at all.
    with pytest.raises(PixelportError) as caught:
        PUBLIC_ONLY.check(address)
    assert caught.value.kind is INPUT_ADDRESS_REFUSED
    assert f"resolves to {address!r}, which is not an IP address" in caught.value.message
