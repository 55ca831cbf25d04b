"""The effective client address behind trusted reverse proxies.

Deliberately unlike the original: an empty ``server.trusted_proxies`` trusts *no* peer, so
the socket peer is the client and forwarding headers are ignored. Otherwise anyone could rotate
``X-Forwarded-For`` past the per-IP limiters and write any address into the audit log.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

__all__ = ["TrustedProxies"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """Decides whether a peer's forwarding headers are believed.

    Only peers inside a listed network are; with no networks configured, none is.
    """

    def __init__(self, networks: Sequence[Network]) -> None:
        self._networks = tuple(networks)

    def trusts(self, peer: str) -> bool:
        if not self._networks:
            return False
        try:
            addr = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(addr in net for net in self._networks)

    def client_ip(self, peer: str, forwarded_for: str | None, real_ip: str | None) -> str:
        """Left-most ``X-Forwarded-For`` (else ``X-Real-IP``) from a trusted peer, else the peer."""
        if self.trusts(peer):
            if forwarded_for:
                first = forwarded_for.split(",")[0].strip()
                if _valid_ip(first):
                    return first
            if real_ip and _valid_ip(real_ip.strip()):
                return real_ip.strip()
        return peer

    def is_https(self, peer: str, scheme: str, forwarded_proto: str | None) -> bool:
        """True when the connection is TLS or a trusted peer says it forwarded HTTPS."""
        if scheme == "https":
            return True
        if not forwarded_proto or not self.trusts(peer):
            return False
        return forwarded_proto.strip().lower() == "https"


def _valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
