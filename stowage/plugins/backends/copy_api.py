"""Object copy: server-side within a backend, streamed through Stowage across
backends (with the destination's quota checked first and updated after)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify
from quart_schema import document_request, document_response

from stowage.core.formats.s3names import check_bucket, check_key
from stowage.core.kernel.errors import BadRequest
from stowage.core.web.authz import requires
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.backends import dto
from stowage.plugins.backends.errors import install_error_handler
from stowage.plugins.backends.quota_gate import quota_precheck, quota_record
from stowage.plugins.backends.route_helpers import PREFIX, check_metadata, driver_for, mutation, object_json
from stowage.plugins.backends.transfer import transfer_object

__all__ = ["blueprint"]

blueprint = Blueprint("storage_copy", __name__)
install_error_handler(blueprint)

COPY_LIMIT = 16 * 1024


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return (value or "").strip() if name in ("dst_bucket", "dst_backend") else value or ""


def _metadata(body: dict[str, Any]) -> dict[str, str] | None:
    value = body.get("metadata")
    if value is None:
        return None
    return check_metadata(value)


@blueprint.post(f"{PREFIX}/<bucket>/object/copy")
@document_request(dto.CopyRequest)
@document_response(dto.CopyResult)
@requires("writer")
async def copy_object(backend_id: str, bucket: str) -> Response:
    check_bucket(bucket)
    src = driver_for(backend_id)
    body = await read_json(COPY_LIMIT)
    src_key, dst_key = check_key(_text(body, "src_key")), check_key(_text(body, "dst_key"))
    dst_backend_id = _text(body, "dst_backend") or backend_id
    dst_bucket = check_bucket(_text(body, "dst_bucket") or bucket)
    version_id, metadata = _text(body, "version_id"), _metadata(body)
    if (dst_backend_id, dst_bucket, dst_key) == (backend_id, bucket, src_key) and metadata is None:
        raise BadRequest("source and destination are the same object")
    dst = driver_for(dst_backend_id)
    if dst_backend_id == backend_id:
        async with mutation("object.copy", backend=backend_id, bucket=dst_bucket, key=dst_key) as detail:
            detail.update(src_bucket=bucket, src_key=src_key, dst_bucket=dst_bucket, dst_key=dst_key)
            info = await src.copy_object(
                bucket, src_key, dst_bucket, dst_key, version_id=version_id, metadata=metadata
            )
        return jsonify({"bucket": dst_bucket, "object": object_json(info)})
    runtime = current_runtime()
    async with mutation("object.transfer", backend=dst_backend_id, bucket=dst_bucket, key=dst_key) as detail:
        detail.update(src_backend=backend_id, src_bucket=bucket, src_key=src_key, dst_backend=dst_backend_id,
                      dst_bucket=dst_bucket, dst_key=dst_key)  # fmt: skip
        size = (await src.head_object(bucket, src_key, version_id=version_id)).size
        detail["size"] = size
        await quota_precheck(runtime, dst_backend_id, dst_bucket, size)
        info = await transfer_object(
            src, bucket, src_key, dst, dst_bucket, dst_key, version_id=version_id, metadata=metadata
        )
    await quota_record(runtime, dst_backend_id, dst_bucket, info.size, 1)
    return jsonify({"backend": dst_backend_id, "bucket": dst_bucket, "object": object_json(info)})
