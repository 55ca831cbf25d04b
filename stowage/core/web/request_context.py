"""Small helpers for dashboard route handlers: the Runtime, the client, and bounded JSON bodies."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from quart import current_app, g, request

from stowage.core.kernel.errors import BadRequest, PayloadTooLarge

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["client_ip", "current_runtime", "is_https", "read_body", "read_json", "request_id"]


def current_runtime() -> Runtime:
    """The Runtime serving the current request."""
    runtime: Runtime = current_app.extensions["stowage"]
    return runtime


def client_ip() -> str:
    """The effective client address (trusted-proxy aware)."""
    return str(getattr(g, "client_ip", "") or request.remote_addr or "")


def request_id() -> str:
    return str(getattr(g, "request_id", ""))


def is_https() -> bool:
    return bool(getattr(g, "is_https", False))


async def read_body(limit: int) -> bytes:
    """Read the request body, refusing (413 ``too_large``) anything over ``limit`` bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.body:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(limit: int = 4096) -> dict[str, Any]:
    """Parse a JSON object body of at most ``limit`` bytes; 400 ``bad_request`` otherwise."""
    raw = await read_body(limit)
    try:
        value = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid JSON body") from None
    if not isinstance(value, dict):
        raise BadRequest("expected a JSON object")
    return value
