"""The small dashboard upload: a multipart form of at most 5 MiB (+64 KiB)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Blueprint, Response, jsonify, request
from quart_schema import DataSource, document_request, document_response

from stowage.core.contracts.driver import ObjectNotFound, StorageDriver
from stowage.core.formats.s3names import check_bucket, check_key
from stowage.core.kernel.errors import ApiError
from stowage.core.openapi import also_errors
from stowage.core.web.authz import requires
from stowage.core.web.request_context import current_runtime
from stowage.plugins.backends import dto
from stowage.plugins.backends.errors import install_error_handler
from stowage.plugins.backends.formdata import read_upload_form
from stowage.plugins.backends.quota_gate import quota_precheck, quota_record
from stowage.plugins.backends.route_helpers import (
    PREFIX,
    check_content_type,
    driver_for,
    mutation,
    object_json,
)

__all__ = ["FORM_OVERHEAD", "UPLOAD_LIMIT", "blueprint", "refuse_existing"]

blueprint = Blueprint("storage_upload", __name__)
install_error_handler(blueprint)

UPLOAD_LIMIT = 5 * 1024 * 1024
FORM_OVERHEAD = 64 * 1024


async def refuse_existing(driver: StorageDriver, bucket: str, key: str) -> None:
    """412 ``object_exists`` when ``If-None-Match: *`` was sent and ``key`` exists.

    Checked with a HEAD as well as passed upstream, because not every upstream (rclone, for one)
    honours ``If-None-Match`` on writes.
    """
    if request.headers.get("If-None-Match", "").strip() != "*":
        return
    try:
        await driver.head_object(bucket, key)
    except ObjectNotFound:
        return
    raise ApiError("object already exists", code="object_exists", status=412)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


@blueprint.post(f"{PREFIX}/<bucket>/object")
@document_request(dto.UploadForm, source=DataSource.FORM_MULTIPART)
@document_response(dto.ObjectView, 201)
@also_errors(412)
@requires("writer")
async def upload(backend_id: str, bucket: str) -> tuple[Response, int]:
    check_bucket(bucket)
    driver = driver_for(backend_id)
    form = await read_upload_form(UPLOAD_LIMIT + FORM_OVERHEAD, UPLOAD_LIMIT)
    data = bytes(form.file or b"")
    key = check_key(form.fields.get("key") or form.filename)
    content_type = check_content_type(
        form.fields.get("content_type") or form.file_content_type or "application/octet-stream"
    )
    if_none_match = request.headers.get("If-None-Match", "").strip() == "*"
    async with mutation("object.upload", backend=backend_id, bucket=bucket, key=key) as detail:
        detail.update(size=len(data), content_type=content_type)
        await refuse_existing(driver, bucket, key)
        await quota_precheck(current_runtime(), backend_id, bucket, len(data))
        await driver.put_object(
            bucket, key, _once(data), size=len(data), content_type=content_type, if_none_match=if_none_match
        )
    await quota_record(current_runtime(), backend_id, bucket, len(data), 1)
    return jsonify(object_json(await driver.head_object(bucket, key))), 201
