"""``ProxyRequest``: what one proxy request accumulates on its way through the pipeline.

Also the ASGI callable types every stage shares. Stages hand each other state through typed slots
here (the verified signature, the query to forward, the bytes a write guard admitted), never
through keys in the ASGI scope.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from stowage.core.formats.ids import new_request_id

if TYPE_CHECKING:
    from stowage.core.contracts.credentials import VirtualCredential
    from stowage.plugins.s3proxy.classify import Classified
    from stowage.plugins.s3proxy.sigv4 import VerifiedAuth

__all__ = ["ProxyRequest", "Receive", "Scope", "Send"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class ProxyRequest:
    """Everything one request accumulates on its way through the pipeline."""

    __slots__ = (
        "access_key",
        "auth",
        "auth_mode",
        "backend_id",
        "bytes_in",
        "bytes_out",
        "classified",
        "client_ip",
        "completed",
        "credential",
        "guarded_bytes",
        "headers",
        "headers_by_name",
        "method",
        "raw_path",
        "raw_query",
        "request_id",
        "result",
        "scope",
        "skip_audit",
        "started",
        "status",
        "upstream_query",
        "user_agent",
    )

    def __init__(self, scope: Scope, client_ip: str) -> None:
        self.scope = scope
        self.request_id = new_request_id()
        self.method: str = scope["method"]
        self.raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        self.raw_query: bytes = scope.get("query_string", b"")
        self.headers: list[tuple[bytes, bytes]] = scope["headers"]
        # Repeated headers are joined with commas, as HTTP allows for list-valued fields.
        headers_by_name: dict[bytes, bytes] = {}
        for name, value in self.headers:
            headers_by_name[name] = headers_by_name[name] + b"," + value if name in headers_by_name else value
        self.headers_by_name = headers_by_name
        self.client_ip = client_ip
        self.user_agent = headers_by_name.get(b"user-agent", b"").decode("latin-1")
        self.started = time.perf_counter()
        self.classified: Classified | None = None
        self.credential: VirtualCredential | None = None
        self.auth: VerifiedAuth | None = None
        """The verified signature (or the anonymous stand-in): what the body decoder needs."""
        self.auth_mode = "signed"
        self.access_key = ""
        self.backend_id = ""
        self.upstream_query: bytes | None = None
        """The query to forward when it differs from the received one (SigV2 presigned URLs)."""
        self.guarded_bytes = 0
        """Bytes the write guards admitted (a quota policy records them after a 2xx)."""
        self.skip_audit = False
        """Set for requests that leave no audit event (CORS preflights)."""
        self.result = "ok"
        self.status = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.completed = False

    @property
    def operation(self) -> str:
        return self.classified.operation if self.classified else "Unknown"

    @property
    def bucket(self) -> str:
        return self.classified.bucket if self.classified else ""

    @property
    def key(self) -> str:
        return self.classified.key if self.classified else ""
