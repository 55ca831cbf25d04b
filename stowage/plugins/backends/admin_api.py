"""Admin routes for backends: ``/api/admin/backends``.

Each mutation (create, patch, delete, test) writes one audit event naming the actor and the
backend. Bodies are capped at 8 KiB.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify
from quart_schema import document_request, document_response

from stowage.core.contracts.audit import audit_request
from stowage.core.contracts.backends import backend_registry
from stowage.core.openapi import no_content
from stowage.core.web.authz import current_identity, requires
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.backends import dto
from stowage.plugins.backends.dto import health_item
from stowage.plugins.backends.endpoint_input import parse_create, parse_patch, parse_test
from stowage.plugins.backends.manage import BackendAdmin
from stowage.plugins.backends.registry import Registry

__all__ = ["BODY_LIMIT", "admin_backends"]

BODY_LIMIT = 8 * 1024

admin_backends = Blueprint("backends_admin", __name__)


def _admin() -> BackendAdmin:
    runtime = current_runtime()
    registry = backend_registry(runtime)
    if not isinstance(registry, Registry):  # pragma: no cover - another plugin replaced the registry
        raise TypeError("the backends service is not the built-in registry")
    return BackendAdmin(runtime, registry)


def _created(body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = 201
    return response


@admin_backends.get("/api/admin/backends")
@document_response(dto.AdminBackendList)
@requires("admin")
async def list_backends() -> dict[str, Any]:
    return {"backends": await _admin().listing()}


@admin_backends.post("/api/admin/backends")
@document_request(dto.NewBackend)
@document_response(dto.AdminBackend, 201)
@requires("admin")
async def create_backend() -> Response:
    body = await read_json(BODY_LIMIT)
    admin = _admin()
    data = parse_create(body)
    created = await admin.create(data, current_identity().user_id)
    detail = {"endpoint": data.endpoint, "region": data.region, "type": data.type}
    audit_request("backend.create", backend=data.id, detail=detail)
    return _created(created)


@admin_backends.post("/api/admin/backends/test")
@document_request(dto.ConnectionInput)
@document_response(dto.ConnectionResult)
@requires("admin")
async def test_backend() -> dict[str, Any]:
    data = parse_test(await read_json(BODY_LIMIT))
    result = await _admin().test(data)
    audit_request("backend.test", detail={"endpoint": data.endpoint, "healthy": result.healthy})
    out: dict[str, Any] = {"healthy": result.healthy, "latency_ms": result.latency_ms}
    if result.error:
        out["error"] = result.error
    return out


@admin_backends.get("/api/admin/backends/health")
@document_response(dto.BackendHealthList)
@requires("admin")
async def backends_health() -> dict[str, Any]:
    return {"backends": [health_item(entry) for entry in backend_registry(current_runtime()).all()]}


@admin_backends.get("/api/admin/backends/<backend_id>")
@document_response(dto.AdminBackend)
@requires("admin")
async def get_backend(backend_id: str) -> dict[str, Any]:
    return await _admin().describe(backend_id)


@admin_backends.patch("/api/admin/backends/<backend_id>")
@document_request(dto.BackendPatch)
@document_response(dto.AdminBackend)
@requires("admin")
async def patch_backend(backend_id: str) -> dict[str, Any]:
    body = await read_json(BODY_LIMIT)
    changes = parse_patch(body)
    updated = await _admin().update(backend_id, changes, current_identity().user_id)
    audit_request("backend.update", backend=backend_id, detail={"fields": sorted(changes)})
    return updated


@admin_backends.delete("/api/admin/backends/<backend_id>")
@no_content
@requires("admin")
async def delete_backend(backend_id: str) -> Response:
    await _admin().delete(backend_id)
    audit_request("backend.delete", backend=backend_id)
    return Response("", status=204)
