"""Read routes for backends any signed-in user may call (API-15, API-16, API-17)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint
from quart_schema import document_response

from stowage.core.authz import current_identity, requires
from stowage.core.backends import RegisteredBackend, backend_registry
from stowage.core.errors import NotFound
from stowage.core.timefmt import to_rfc3339
from stowage.core.web import current_runtime
from stowage.plugins.backends import dto
from stowage.plugins.backends.dto import public_item
from stowage.plugins.backends.probe_gate import probe_gate

__all__ = ["read_backends"]

read_backends = Blueprint("backends_read", __name__)


def _entry(bid: str) -> RegisteredBackend:
    entry = backend_registry(current_runtime()).get(bid)
    if entry is None:
        raise NotFound("backend not found")
    return entry


@read_backends.get("/api/backends")
@document_response(dto.BackendList)
@requires("any")
async def list_backends() -> dict[str, Any]:
    entries = backend_registry(current_runtime()).all()
    return {"backends": [public_item(entry) for entry in sorted(entries, key=lambda e: e.spec.id)]}


@read_backends.get("/api/backends/<bid>")
@document_response(dto.BackendView)
@requires("any")
async def get_backend(bid: str) -> dict[str, Any]:
    return public_item(_entry(bid))


@read_backends.get("/api/backends/<bid>/health")
@document_response(dto.ProbeResult)
@requires("any")
async def backend_health(bid: str) -> dict[str, Any]:
    me = current_identity()
    probe = await probe_gate(current_runtime()).probe(_entry(bid), f"{me.user_id}/{me.session_id}")
    return {"healthy": probe.healthy, "last_probe_at": to_rfc3339(probe.at), "last_error": probe.error}
