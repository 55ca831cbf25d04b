"""Helpers for the backend control-plane tests: a header-driven authenticator, an audit capture,
and an HTTP client that remembers every response body. Backends use the real ``s3v4`` driver."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from stowage.core.contracts.backends import backend_registry
from stowage.testing.stand_ins import ROLE_HEADER, AuditCapture, HeaderAuth

# --- an HTTP client that keeps every body it saw --------------------------------------------------


@dataclass
class Api:
    base: str
    http: aiohttp.ClientSession
    bodies: list[str] = field(default_factory=list)

    async def call(self, method: str, path: str, *, role: str = "admin", **kwargs: Any) -> tuple[int, Any]:
        headers = {ROLE_HEADER: role} if role else {}
        async with self.http.request(method, self.base + path, headers=headers, **kwargs) as response:
            text = await response.text()
            self.bodies.append(text + repr(dict(response.headers)))
            return response.status, (await response.json() if text else None)


@dataclass
class Harness:
    stowage: Any
    api: Api
    audit: AuditCapture

    @property
    def runtime(self) -> Any:
        return self.stowage.runtime

    def registry(self) -> Any:
        return backend_registry(self.runtime)


@contextlib.asynccontextmanager
async def started(
    stowage_factory: Any, settings: dict[str, Any] | None = None, **kwargs: Any
) -> AsyncIterator[Harness]:
    """Stowage with the header authenticator and the audit capture loaded."""
    audit = AuditCapture()
    plugins = [
        ("test_auth", HeaderAuth(user_id="u-{role}", username="{role}-user")),
        ("audit_capture", audit),
    ]
    async with (
        stowage_factory(settings, plugins=plugins, **kwargs) as stowage,
        aiohttp.ClientSession() as http,
    ):
        yield Harness(stowage, Api(stowage.dashboard_url, http), audit)


def closed_port_url() -> str:
    """An http URL on loopback where nothing listens (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def backend_body(upstream: Any, backend_id: str = "ui1", **extra: Any) -> dict[str, Any]:
    """A create body for a backend on ``upstream`` (an ``RcloneUpstream``)."""
    body = {
        "id": backend_id,
        "name": f"{backend_id} name",
        "endpoint": upstream.endpoint_url,
        "region": "us-east-1",
        "access_key": upstream.access_key,
        "secret_key": upstream.secret_key,
    }
    body.update(extra)
    return body
