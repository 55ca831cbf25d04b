"""Which addresses Stowage may connect to as a backend (setting
``backend_network.denied_networks``).

A backend endpoint is an outbound connection an admin types in and any signed-in user can make
Stowage open (``GET /api/backends/<id>/health``). Pointed at a cloud metadata service it would
fetch instance credentials. So link-local and metadata addresses are refused three times over:
when a UI-managed endpoint is created, patched or tested (400, naming the rule), and at connect
time on every resolved address (``GuardedResolver``), so a name that later re-resolves to a
metadata address (DNS rebinding) is still refused. Host spellings are normalised the way the
system resolver reads them (``0x7f000001``, ``2130706433``, ``0177.0.0.1``, ``[::ffff:a9fe:a9fe]``),
and metadata host names are refused by name as well. Loopback stays allowed by default.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

__all__ = [
    "DEFAULT_DENIED_NETWORKS",
    "DENIED_HOST_NAMES",
    "SETTING",
    "GuardedResolver",
    "Network",
    "NetworkPolicy",
    "parse_networks",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SETTING = "backend_network.denied_networks"
DEFAULT_DENIED_NETWORKS = (
    "169.254.0.0/16",  # IPv4 link-local: AWS/GCP/Azure/OpenStack/Oracle metadata, ECS task role
    "fe80::/10",  # IPv6 link-local
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "fd00:ec2::254/128",  # AWS instance metadata over IPv6
    "168.63.129.16/32",  # Azure WireServer
)
DENIED_HOST_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs or bare addresses (bare ⇒ /32 or /128); ``ValueError`` names a bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
    return tuple(networks)


def _as_address(host: str) -> Address | None:
    """``host`` as an address when it is one in any spelling the system resolver accepts."""
    text = host.strip().strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    try:  # 0x7f000001, 2130706433, 0177.0.0.1, 127.1: what inet_aton (and getaddrinfo) reads
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


class NetworkPolicy:
    """The denied networks and names; ``denial_*`` return the rule that refuses, or ``""``."""

    def __init__(self, networks: Sequence[Network]) -> None:
        self.networks = tuple(networks)

    def denial_for_address(self, address: str | Address) -> str:
        try:
            addr = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
        except ValueError:
            return ""
        candidates: list[Address] = [addr]
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            candidates.append(addr.ipv4_mapped)  # ::ffff:169.254.169.254 is 169.254.169.254
        for candidate in candidates:
            for net in self.networks:
                if candidate.version == net.version and candidate in net:
                    return f"{candidate} is in {SETTING} ({net})"
        return ""

    def denial_for_host(self, host: str) -> str:
        """By name (metadata host names) or, for an address literal in any spelling, by address."""
        name = host.strip().strip("[]").rstrip(".").lower()
        if name in DENIED_HOST_NAMES:
            return f"{name} is a cloud metadata host name"
        address = _as_address(name)
        return self.denial_for_address(address) if address is not None else ""

    async def denial_after_resolving(self, host: str, timeout: float = 3.0) -> str:
        """``denial_for_host``, then every address ``host`` resolves to now ("" if it does not)."""
        found = self.denial_for_host(host)
        if found or _as_address(host) is not None:
            return found
        try:
            infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, None), timeout)
        except (OSError, TimeoutError, UnicodeError):
            return ""  # unresolvable now: the connect-time check still applies
        for info in infos:
            found = self.denial_for_address(str(info[4][0]))
            if found:
                return found
        return ""


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that drops denied addresses (and refuses metadata names) at connect time.

    aiohttp skips the resolver for address literals; ``NetworkPolicy.denial_for_host`` on the
    endpoint covers those before a client is built.
    """

    def __init__(self, policy: NetworkPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[ResolveResult]:
        named = self._policy.denial_for_host(host)
        if named:
            raise OSError(f"refused to connect to {host}: {named}")
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if not self._policy.denial_for_address(r["host"])]
        if not allowed:
            rule = self._policy.denial_for_address(results[0]["host"]) if results else "no address"
            raise OSError(f"refused to connect to {host}: {rule}")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
