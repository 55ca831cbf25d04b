"""``GET/PUT/DELETE …/buckets/<bucket>/quota`` and ``POST …/quota/recompute``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from quart import Blueprint, Response, jsonify
from quart_schema import document_request, document_response

from stowage.core.contracts.audit import audit_request
from stowage.core.contracts.backends import BACKENDS
from stowage.core.formats.timefmt import to_rfc3339
from stowage.core.kernel.errors import BackendFailure, BadRequest, NotFound
from stowage.core.openapi import no_content
from stowage.core.web.authz import current_identity, requires
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.quotas import dto
from stowage.plugins.quotas.tracker import TRACKER

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.quotas.tracker import QuotaTracker

__all__ = ["QUOTA_BODY_LIMIT", "blueprint", "quota_json"]

QUOTA_BODY_LIMIT = 1024
PATH = "/api/backends/<backend_id>/buckets/<bucket>/quota"

blueprint = Blueprint("quotas", __name__)


def _tracker(runtime: Runtime, backend_id: str) -> QuotaTracker:
    registry = runtime.find(BACKENDS)
    if registry is None or registry.get(backend_id) is None:
        raise NotFound("backend not found")
    return runtime.get(TRACKER)


async def quota_json(runtime: Runtime, tracker: QuotaTracker, backend_id: str, bucket: str) -> dict[str, Any]:
    """The QUOTA-5 shape (the original code's field names), empty optional fields left out."""
    limits = await tracker.limits(backend_id, bucket)
    row = await runtime.store.quotas.get(backend_id, bucket)
    usage = tracker.usage(backend_id, bucket)
    out: dict[str, Any] = {"configured": limits is not None, "has_usage": usage is not None}
    if limits is not None:
        out.update(soft_bytes=limits.soft_bytes, hard_bytes=limits.hard_bytes)
    if row is not None:
        out["updated_at"] = to_rfc3339(row.updated_at)
        if row.updated_by:
            out["updated_by"] = row.updated_by
    if usage is not None:
        out.update(
            usage_bytes=usage.bytes, object_count=usage.objects, computed_at=to_rfc3339(usage.computed_at)
        )
    return out


def _invalid(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_quota")


def _size(body: dict[str, Any], name: str) -> int:
    value = body.get(name, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"{name} must be an integer number of bytes")
    if value < 0:
        raise _invalid(f"{name} must not be negative")
    return value


@blueprint.get(PATH)
@document_response(dto.QuotaView)
@requires("admin")
async def get_quota(backend_id: str, bucket: str) -> Response:
    runtime = current_runtime()
    return jsonify(await quota_json(runtime, _tracker(runtime, backend_id), backend_id, bucket))


@blueprint.put(PATH)
@document_request(dto.QuotaLimits)
@document_response(dto.QuotaView)
@requires("admin")
async def put_quota(backend_id: str, bucket: str) -> Response:
    runtime = current_runtime()
    tracker = _tracker(runtime, backend_id)
    body = await read_json(QUOTA_BODY_LIMIT)
    soft, hard = _size(body, "soft_bytes"), _size(body, "hard_bytes")
    if soft == 0 and hard == 0:
        raise _invalid("set soft_bytes or hard_bytes (use DELETE to remove the quota)")
    if soft > 0 and hard > 0 and soft > hard:
        raise _invalid("soft_bytes must not exceed hard_bytes")
    await runtime.store.quotas.upsert(
        backend_id,
        bucket,
        soft_bytes=soft,
        hard_bytes=hard,
        updated_at=datetime.fromtimestamp(runtime.clock(), UTC),
        updated_by=current_identity().user_id,
    )
    await tracker.reload_limits()
    audit_request(
        "quota.set", backend=backend_id, bucket=bucket, detail={"soft_bytes": soft, "hard_bytes": hard}
    )
    return jsonify(await quota_json(runtime, tracker, backend_id, bucket))


@blueprint.delete(PATH)
@no_content
@requires("admin")
async def delete_quota(backend_id: str, bucket: str) -> Response:
    runtime = current_runtime()
    tracker = _tracker(runtime, backend_id)
    await runtime.store.quotas.delete(backend_id, bucket)
    await tracker.reload_limits()
    audit_request("quota.delete", backend=backend_id, bucket=bucket)
    return Response("", status=204)


@blueprint.post(PATH + "/recompute")
@document_response(dto.QuotaView)
@requires("admin")
async def recompute_quota(backend_id: str, bucket: str) -> Response:
    runtime = current_runtime()
    tracker = _tracker(runtime, backend_id)
    try:
        await tracker.recompute(backend_id, bucket)
    except Exception as exc:
        raise BackendFailure("scan failed", detail=type(exc).__name__) from None
    return jsonify(await quota_json(runtime, tracker, backend_id, bucket))
