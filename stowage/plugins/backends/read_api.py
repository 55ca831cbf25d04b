"""Read routes for backends any signed-in user may call."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint
from quart_schema import document_response

from stowage.core.contracts.backends import RegisteredBackend, backend_registry
from stowage.core.formats.timefmt import to_rfc3339
from stowage.core.kernel.errors import NotFound
from stowage.core.web.authz import current_identity, requires
from stowage.core.web.request_context import current_runtime
from stowage.plugins.backends import dto
from stowage.plugins.backends.capabilities import listed_capabilities
from stowage.plugins.backends.dto import public_item
from stowage.plugins.backends.probe_gate import probe_gate

__all__ = ["read_backends"]

read_backends = Blueprint("backends_read", __name__)


def _entry(backend_id: str) -> RegisteredBackend:
    entry = backend_registry(current_runtime()).get(backend_id)
    if entry is None:
        raise NotFound("backend not found")
    return entry


@read_backends.get("/api/backends")
@document_response(dto.BackendList)
@requires("any")
async def list_backends() -> dict[str, Any]:
    entries = sorted(backend_registry(current_runtime()).all(), key=lambda e: e.spec.id)
    capabilities = await asyncio.gather(*(listed_capabilities(entry) for entry in entries))
    return {"backends": [public_item(e, c) for e, c in zip(entries, capabilities, strict=True)]}


@read_backends.get("/api/backends/<backend_id>")
@document_response(dto.BackendView)
@requires("any")
async def get_backend(backend_id: str) -> dict[str, Any]:
    entry = _entry(backend_id)
    return public_item(entry, await listed_capabilities(entry))


@read_backends.get("/api/backends/<backend_id>/health")
@document_response(dto.ProbeResult)
@requires("any")
async def backend_health(backend_id: str) -> dict[str, Any]:
    me = current_identity()
    probe = await probe_gate(current_runtime()).probe(_entry(backend_id), f"{me.user_id}/{me.session_id}")
    return {"healthy": probe.healthy, "last_probe_at": to_rfc3339(probe.at), "last_error": probe.error}
