"""``GET/PUT …/buckets/<bucket>/size-tracking`` and ``GET …/buckets/<bucket>/prefix-size``."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_querystring, document_request, document_response

from stowage.core.contracts.audit import audit_request
from stowage.core.contracts.backends import BACKENDS
from stowage.core.contracts.driver import BucketNotFound, DriverError
from stowage.core.contracts.sizes import SIZES, SizeService, SizeTrackingSetting
from stowage.core.formats.s3names import check_bucket
from stowage.core.formats.timefmt import to_rfc3339
from stowage.core.kernel.errors import BackendFailure, BadRequest, NotFound
from stowage.core.openapi import also_errors
from stowage.core.web.authz import current_identity, requires
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.quotas import size_dto as dto

__all__ = ["SIZE_BODY_LIMIT", "blueprint", "setting_json"]

SIZE_BODY_LIMIT = 1024
MAX_PREFIX_BYTES = 1024
BUCKET = "/api/backends/<backend_id>/buckets/<bucket>"

blueprint = Blueprint("sizes", __name__)


def _sizes(backend_id: str, bucket: str) -> SizeService:
    runtime = current_runtime()
    registry = runtime.find(BACKENDS)
    if registry is None or registry.get(backend_id) is None:
        raise NotFound("backend not found")
    check_bucket(bucket)
    return runtime.get(SIZES)


def setting_json(setting: SizeTrackingSetting) -> dict[str, Any]:
    """SIZE-2's shape: ``enabled``, and who set it when, once someone has."""
    out: dict[str, Any] = {"enabled": setting.enabled}
    if setting.updated_at is not None:
        out["updated_at"] = to_rfc3339(setting.updated_at)
    if setting.updated_by:
        out["updated_by"] = setting.updated_by
    return out


def _prefix() -> str:
    prefix = request.args.get("prefix", "")
    if len(prefix.encode()) > MAX_PREFIX_BYTES:
        raise BadRequest(f"prefix is longer than {MAX_PREFIX_BYTES} bytes", code="invalid_prefix")
    if any((char < " " and char != "\t") or char == "\x7f" for char in prefix):
        raise BadRequest("prefix cannot contain control characters", code="invalid_prefix")
    return prefix


@blueprint.get(BUCKET + "/size-tracking")
@document_response(dto.SizeTrackingView)
@requires("any")
async def get_size_tracking(backend_id: str, bucket: str) -> Response:
    return jsonify(setting_json(_sizes(backend_id, bucket).setting(backend_id, bucket)))


@blueprint.put(BUCKET + "/size-tracking")
@document_request(dto.SizeTrackingSwitch)
@document_response(dto.SizeTrackingView)
@requires("admin")
async def put_size_tracking(backend_id: str, bucket: str) -> Response:
    sizes = _sizes(backend_id, bucket)
    enabled = (await read_json(SIZE_BODY_LIMIT)).get("enabled")
    if not isinstance(enabled, bool):
        raise BadRequest("enabled must be true or false")
    setting = await sizes.set_tracking(backend_id, bucket, enabled=enabled, by=current_identity().user_id)
    audit_request("bucket.size_tracking.set", backend=backend_id, bucket=bucket, detail={"enabled": enabled})
    return jsonify(setting_json(setting))


@blueprint.get(BUCKET + "/prefix-size")
@document_querystring(dto.PrefixQuery)
@document_response(dto.PrefixSizeView)
@also_errors(409)
@requires("any")
async def get_prefix_size(backend_id: str, bucket: str) -> Response:
    sizes = _sizes(backend_id, bucket)
    prefix = _prefix()
    try:
        found = await sizes.prefix_size(backend_id, bucket, prefix)
    except BucketNotFound:
        raise NotFound("bucket not found") from None
    except DriverError as exc:
        raise BackendFailure(
            "backend operation failed", detail=exc.code if exc.code != "unreachable" else ""
        ) from None
    return jsonify(
        {
            "bytes": found.bytes,
            "count": found.count,
            "prefix": found.prefix,
            "computed_at": to_rfc3339(found.computed_at),
        }
    )
