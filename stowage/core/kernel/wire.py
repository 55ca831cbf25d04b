"""What every Stowage listener says on the wire: HTTP/1.1 with reason phrases, and no cleartext HTTP/2.

Hypercorn speaks HTTP/1.1 through h11 and leaves two gaps that real clients and attackers find:

- Its status lines carry no reason phrase (``HTTP/1.1 100 ``). Legal, but aws-cli v2 and botocore
  before 1.40.21 wait for ``100 Continue`` after ``Expect: 100-continue`` and never send the body
  otherwise; the same clients treat a bare ``400`` as a dropped connection. Every status line we send
  carries its standard phrase (``http.HTTPStatus``).
- On a cleartext connection it switches to HTTP/2 on ``Upgrade: h2c`` and on the prior-knowledge
  preface (``PRI * HTTP/2.0``). A reverse proxy in front of Stowage that filters paths only
  understands HTTP/1.1, so h2c lets a client smuggle requests past it (e.g. to ``/metrics``).
  Our listeners ignore ``Upgrade: h2c`` (RFC 9110 §7.8 lets a server ignore Upgrade) and answer any
  request line that is not HTTP/1.0 or 1.1 with ``505`` and close. HTTP/2 stays available only
  through TLS ALPN, which Hypercorn routes to its own HTTP/2 protocol before this class is involved.

Hypercorn has no setting for either, so :func:`install` puts :class:`Http11Protocol` — a subclass of
Hypercorn's ``H11Protocol`` overriding three of its methods — where Hypercorn's ``ProtocolWrapper``
looks the class up. Those methods are Hypercorn internals: pyproject pins the Hypercorn minor
version, and :func:`install` refuses to start if the seam has moved. tests/core/test_wire.py sends
raw bytes through both listeners; the client matrix (tests/plugins/s3proxy/test_e2e_client_matrix.py)
uploads with aws-cli v2 and botocore 1.40.20, which wait for ``100 Continue``.
"""

from __future__ import annotations

import http
from importlib.metadata import version

import h11
import hypercorn.protocol
from hypercorn.events import Closed, Event
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.typing import H11SendableEvent

__all__ = ["Http11Protocol", "install"]

# Computed once: the phrase for every status code Python knows (RFC 9110 and registered extras).
REASON_PHRASES: dict[int, bytes] = {status.value: status.phrase.encode("ascii") for status in http.HTTPStatus}
_HTTP1_VERSIONS = frozenset({b"1.0", b"1.1"})


class _RefusedConnection(Exception):
    """Raised after the refusal is sent and the close requested, to stop reading the connection."""


class Http11Protocol(H11Protocol):  # type: ignore[misc]
    """Hypercorn's HTTP/1.1 protocol with reason phrases on every status line and no way to HTTP/2."""

    async def handle(self, event: Event) -> None:
        try:
            await super().handle(event)
        except _RefusedConnection:
            pass

    async def _send_h11_event(self, event: H11SendableEvent) -> None:
        if isinstance(event, h11.Response | h11.InformationalResponse) and not event.reason:
            # Passing h11's own Headers object through keeps this cheap: it is not re-validated.
            event = type(event)(
                headers=event.headers,
                status_code=event.status_code,
                http_version=event.http_version,
                reason=REASON_PHRASES.get(event.status_code, b""),
            )
        await super()._send_h11_event(event)

    async def _check_protocol(self, event: h11.Request) -> None:
        # Replaces Hypercorn's check, which switches to HTTP/2 on `Upgrade: h2c` or `PRI * HTTP/2.0`.
        # Not calling it is what ignores the h2c upgrade; other HTTP versions get 505 and a close.
        if event.http_version not in _HTTP1_VERSIONS:
            await self._send_error_response(505)  # HTTP Version Not Supported
            await self.send(Closed())
            raise _RefusedConnection


def install() -> None:
    """Make Hypercorn build :class:`Http11Protocol` for every HTTP/1.1 connection (idempotent)."""
    for name in ("handle", "_send_h11_event", "_check_protocol", "_send_error_response"):
        if not callable(getattr(H11Protocol, name, None)):
            raise RuntimeError(
                f"Hypercorn {version('hypercorn')} has no H11Protocol.{name}; "
                "stowage.core.kernel.wire needs updating for this Hypercorn version"
            )
    if getattr(hypercorn.protocol, "H11Protocol", None) not in (H11Protocol, Http11Protocol):
        raise RuntimeError(
            f"Hypercorn {version('hypercorn')} no longer builds hypercorn.protocol.H11Protocol; "
            "stowage.core.kernel.wire needs updating for this Hypercorn version"
        )
    hypercorn.protocol.H11Protocol = Http11Protocol  # type: ignore[attr-defined,misc]
