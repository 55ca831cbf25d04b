"""Dashboard multipart uploads: list, create, streamed parts, complete, abort.

A part's body is relayed to the upstream as it arrives (``request.body`` iterated, never awaited
whole) with the declared ``Content-Length``; the 64 MiB cap bounds what Quart can buffer for one
request when the client sends faster than the upstream accepts. Part uploads are not audited one
by one (a 1 GiB upload is 64 of them); create, complete and abort are.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_querystring, document_request, document_response

from stowage.core.formats.s3names import check_bucket
from stowage.core.formats.timefmt import to_rfc3339
from stowage.core.kernel.errors import ApiError, BadRequest, PayloadTooLarge
from stowage.core.openapi import also_errors, no_content, raw_request
from stowage.core.web.authz import requires
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.backends import dto
from stowage.plugins.backends.errors import install_error_handler
from stowage.plugins.backends.quota_gate import quota_precheck, quota_record
from stowage.plugins.backends.route_helpers import (
    PREFIX,
    arg,
    check_content_type,
    check_metadata,
    driver_for,
    mutation,
    object_json,
    target,
)
from stowage.plugins.backends.upload_api import refuse_existing

__all__ = ["MAX_PART_SIZE", "blueprint"]

blueprint = Blueprint("storage_multipart", __name__)
install_error_handler(blueprint)

MULTIPART = f"{PREFIX}/<bucket>/multipart"
MAX_PART_SIZE = 64 * 1024 * 1024
CREATE_LIMIT = 64 * 1024
COMPLETE_LIMIT = 1024 * 1024


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    return check_metadata(value)


@blueprint.get(MULTIPART)
@document_querystring(dto.PrefixQuery)
@document_response(dto.MultipartList)
@requires("any")
async def list_uploads(backend_id: str, bucket: str) -> Response:
    check_bucket(bucket)
    uploads = await driver_for(backend_id).list_multipart(bucket, prefix=request.args.get("prefix", ""))
    return jsonify(
        {
            "uploads": [
                {"key": u.key, "upload_id": u.upload_id}
                | ({"initiated": to_rfc3339(u.initiated)} if u.initiated else {})
                for u in uploads
            ]
        }
    )


@blueprint.post(MULTIPART)
@document_querystring(dto.ObjectQuery)
@document_request(dto.NewMultipart)
@document_response(dto.MultipartStarted)
@also_errors(412)
@requires("writer")
async def create_upload(backend_id: str, bucket: str) -> Response:
    driver, key = target(backend_id, bucket)
    body = await read_json(CREATE_LIMIT) if request.content_length else {}
    content_type, metadata = check_content_type(body.get("content_type")), _metadata(body.get("metadata"))
    async with mutation("object.multipart.create", backend=backend_id, bucket=bucket, key=key) as detail:
        await refuse_existing(driver, bucket, key)
        upload_id = await driver.create_multipart(bucket, key, content_type=content_type, metadata=metadata)
        detail["upload_id"] = upload_id
    return jsonify({"bucket": bucket, "key": key, "upload_id": upload_id})


@blueprint.put(f"{MULTIPART}/parts/<int:part>")
@document_querystring(dto.UploadQuery)
@raw_request("application/octet-stream", "The part bytes; Content-Length is required.")
@document_response(dto.PartView)
@also_errors(411)
@requires("writer")
async def upload_part(backend_id: str, bucket: str, part: int) -> Response:
    driver, key = target(backend_id, bucket)
    upload_id = arg("upload_id")
    if not 1 <= part <= driver.capabilities.max_multipart_parts:
        raise BadRequest(f"part number must be 1-{driver.capabilities.max_multipart_parts}")
    size = request.content_length
    if size is None:
        raise ApiError("Content-Length is required", code="length_required", status=411)
    if size > MAX_PART_SIZE:
        raise PayloadTooLarge(f"a part is at most {MAX_PART_SIZE} bytes")
    await quota_precheck(current_runtime(), backend_id, bucket, size)
    info = await driver.upload_part(bucket, key, upload_id, part, aiter(request.body), size=size)
    return jsonify({"part_number": info.part_number, "etag": info.etag, "size": info.size})


def _parts(body: dict[str, Any]) -> list[tuple[int, str]]:
    parts = body.get("parts")
    if not isinstance(parts, list) or not parts:
        raise BadRequest("parts must be a non-empty list")
    out = []
    for entry in parts:
        number, etag = (entry.get("PartNumber"), entry.get("ETag")) if isinstance(entry, dict) else (0, 0)
        if not isinstance(number, int) or not isinstance(etag, str) or not etag:
            raise BadRequest("each part needs PartNumber and ETag")
        out.append((number, etag))
    return sorted(out)


@blueprint.post(f"{MULTIPART}/complete")
@document_querystring(dto.UploadQuery)
@document_request(dto.CompleteMultipart)
@document_response(dto.ObjectView)
@requires("writer")
async def complete_upload(backend_id: str, bucket: str) -> Response:
    driver, key = target(backend_id, bucket)
    upload_id = arg("upload_id")
    parts = _parts(await read_json(COMPLETE_LIMIT))
    async with mutation("object.multipart.complete", backend=backend_id, bucket=bucket, key=key) as detail:
        detail.update(upload_id=upload_id, parts=len(parts))
        info = await driver.complete_multipart(bucket, key, upload_id, parts)
        detail["size"] = info.size
    await quota_record(current_runtime(), backend_id, bucket, info.size, 1)
    return jsonify(object_json(info))


@blueprint.delete(MULTIPART)
@document_querystring(dto.UploadQuery)
@no_content
@requires("writer")
async def abort_upload(backend_id: str, bucket: str) -> tuple[str, int]:
    driver, key = target(backend_id, bucket)
    upload_id = arg("upload_id")
    async with mutation("object.multipart.abort", backend=backend_id, bucket=bucket, key=key) as detail:
        detail["upload_id"] = upload_id
        await driver.abort_multipart(bucket, key, upload_id)
    return "", 204
