"""Effective client address and scheme behind trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest

from stowage.core.web.clientaddr import TrustedProxies

TRUSTED = TrustedProxies([ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")])
NOBODY = TrustedProxies([])


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("10.1.2.3", True),
        ("10.255.255.255", True),
        ("fd00::1", True),
        ("11.0.0.1", False),
        ("192.168.0.1", False),
        ("fe80::1", False),
        ("not-an-ip", False),
        ("", False),
        ("10.1.2.3:5000", False),
    ],
)
def test_trusts_only_listed_networks(peer: str, trusted: bool) -> None:
    assert TRUSTED.trusts(peer) is trusted


@pytest.mark.parametrize("peer", ["203.0.113.9", "::1", "127.0.0.1", "10.0.0.5", "garbage", ""])
def test_empty_list_trusts_no_peer(peer: str) -> None:
    assert NOBODY.trusts(peer) is False  # deliberately unlike the original, which trusted every peer


def test_bare_ip_network_trusts_exactly_that_address() -> None:
    single = TrustedProxies([ipaddress.ip_network("192.0.2.7")])
    assert single.trusts("192.0.2.7")
    assert not single.trusts("192.0.2.8")


@pytest.mark.parametrize(
    ("peer", "xff", "real_ip", "expected"),
    [
        # Trusted peer: left-most X-Forwarded-For wins, then X-Real-IP, then the peer.
        ("10.0.0.5", "198.51.100.7", None, "198.51.100.7"),
        ("10.0.0.5", "198.51.100.7, 10.0.0.9, 10.0.0.5", None, "198.51.100.7"),
        ("10.0.0.5", "  198.51.100.7  ,10.0.0.9", None, "198.51.100.7"),
        ("10.0.0.5", "2001:db8::1, 10.0.0.9", None, "2001:db8::1"),
        ("10.0.0.5", "198.51.100.7", "203.0.113.1", "198.51.100.7"),
        ("10.0.0.5", None, "203.0.113.1", "203.0.113.1"),
        ("10.0.0.5", "", " 203.0.113.1 ", "203.0.113.1"),
        ("10.0.0.5", None, None, "10.0.0.5"),
        # Garbage headers from a trusted peer fall through.
        ("10.0.0.5", "garbage, 198.51.100.7", "203.0.113.1", "203.0.113.1"),
        ("10.0.0.5", "garbage", "also-garbage", "10.0.0.5"),
        ("10.0.0.5", "198.51.100.7:443", None, "10.0.0.5"),
        ("10.0.0.5", "unknown", None, "10.0.0.5"),
        ("10.0.0.5", ",198.51.100.7", None, "10.0.0.5"),
        # Untrusted peer: headers are ignored entirely.
        ("192.168.1.1", "198.51.100.7", "203.0.113.1", "192.168.1.1"),
        ("192.168.1.1", None, "203.0.113.1", "192.168.1.1"),
    ],
)
def test_client_ip_with_trust_list(peer: str, xff: str | None, real_ip: str | None, expected: str) -> None:
    assert TRUSTED.client_ip(peer, xff, real_ip) == expected


def test_client_ip_with_empty_trust_list_is_the_peer() -> None:
    assert NOBODY.client_ip("192.168.1.1", "198.51.100.7, 10.0.0.1", None) == "192.168.1.1"
    assert NOBODY.client_ip("192.168.1.1", None, "203.0.113.1") == "192.168.1.1"
    assert NOBODY.client_ip("192.168.1.1", None, None) == "192.168.1.1"


@pytest.mark.parametrize(
    ("proxies", "peer", "scheme", "proto", "expected"),
    [
        (TRUSTED, "192.168.1.1", "https", None, True),  # the connection itself is TLS
        (TRUSTED, "192.168.1.1", "https", "http", True),
        (TRUSTED, "10.0.0.5", "http", "https", True),
        (TRUSTED, "10.0.0.5", "http", " HTTPS ", True),
        (TRUSTED, "10.0.0.5", "http", "http", False),
        (TRUSTED, "10.0.0.5", "http", None, False),
        (TRUSTED, "10.0.0.5", "http", "", False),
        (TRUSTED, "192.168.1.1", "http", "https", False),  # untrusted peer cannot claim TLS
        (NOBODY, "192.168.1.1", "http", "https", False),
        (NOBODY, "192.168.1.1", "http", None, False),
    ],
)
def test_is_https(proxies: TrustedProxies, peer: str, scheme: str, proto: str | None, expected: bool) -> None:
    assert proxies.is_https(peer, scheme, proto) is expected
