"""Object routes: list, download (streamed,
single ranges), HEAD/info, delete, bulk delete. Uploads are in ``upload_api``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_querystring, document_request, document_response

from stowage.core.contracts.driver import ObjectBody
from stowage.core.formats.s3names import check_bucket, check_key, parse_range
from stowage.core.kernel.errors import BadRequest
from stowage.core.openapi import also_errors, no_content, raw_response
from stowage.core.web.authz import requires
from stowage.core.web.objectserving import object_headers
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.backends import dto
from stowage.plugins.backends.errors import install_error_handler
from stowage.plugins.backends.quota_gate import quota_after_delete
from stowage.plugins.backends.route_helpers import (
    PREFIX,
    arg,
    check_prefix,
    driver_for,
    mutation,
    object_json,
    target,
)

__all__ = ["blueprint"]

blueprint = Blueprint("storage_objects", __name__)
install_error_handler(blueprint)

BULK_DELETE_LIMIT = 1024 * 1024
OBJECT = f"{PREFIX}/<bucket>/object"


class _Download:
    """The response body: relays the driver's chunks and always releases the upstream
    connection, also when the client goes away before the first chunk (Quart then calls
    ``aclose`` on the iterator it was given)."""

    def __init__(self, body: ObjectBody) -> None:
        self._body = body

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._body.chunks.__anext__()
        except BaseException:
            await self._body.close()
            raise

    async def aclose(self) -> None:
        await self._body.close()


@blueprint.get(f"{PREFIX}/<bucket>/objects")
@document_querystring(dto.ObjectListQuery)
@document_response(dto.ObjectList)
@requires("any")
async def list_objects(backend_id: str, bucket: str) -> Response:
    check_bucket(bucket)
    driver = driver_for(backend_id)
    # Absent delimiter means "/" (browse a folder); present but empty means recursive.
    delimiter = check_prefix("delimiter", request.args.get("delimiter", "/"))
    prefix = check_prefix("prefix", request.args.get("prefix", ""))
    try:
        max_keys = int(request.args.get("max_keys") or 1000)
    except ValueError:
        raise BadRequest("max_keys must be a number") from None
    page = await driver.list_objects(
        bucket,
        prefix=prefix,
        delimiter=delimiter,
        token=request.args.get("token", ""),
        max_keys=min(max(max_keys, 1), 1000),
    )
    return jsonify(
        {
            "prefix": prefix,
            "delimiter": delimiter,
            "common_prefixes": list(page.common_prefixes),
            "is_truncated": page.is_truncated,
            "next_continuation_token": page.next_token,
            "objects": [object_json(o) for o in page.objects],
        }
    )


@blueprint.route(OBJECT, methods=["GET", "HEAD"])
@document_querystring(dto.DownloadQuery)
@raw_response("*/*", 200, "The object bytes, with their stored Content-Type.")
@raw_response("*/*", 206, "The requested byte range.")
@also_errors(416)
@requires("any")
async def get_object(backend_id: str, bucket: str) -> Response:
    driver, key = target(backend_id, bucket)
    version_id = arg("version_id", required=False)
    if request.method == "HEAD":
        return await object_info(backend_id, bucket)
    byte_range = parse_range(request.headers.get("Range"))
    body = await driver.get_object(bucket, key, version_id=version_id, byte_range=byte_range)
    info = body.info
    # Object bytes on the dashboard origin: sandboxed, never sniffed, active types always downloaded.
    headers = object_headers(info.content_type, key, inline=arg("disposition", required=False) == "inline")
    headers.update({"Content-Length": str(body.content_length), "Accept-Ranges": "bytes"})
    if info.etag:
        headers["ETag"] = info.etag
    status = 200
    if body.content_range is not None and byte_range is not None:
        start, end, total = body.content_range
        headers["Content-Range"] = f"bytes {start}-{end}/{total if total >= 0 else '*'}"
        status = 206
    response = Response(_Download(body), status=status, headers=headers)
    response.timeout = None  # a large download must never be cut by a response timeout
    return response


@blueprint.get(f"{OBJECT}/info")
@document_querystring(dto.ObjectQuery)
@document_response(dto.ObjectView)
@requires("any")
async def object_info(backend_id: str, bucket: str) -> Response:
    driver, key = target(backend_id, bucket)
    info = await driver.head_object(bucket, key, version_id=arg("version_id", required=False))
    response = jsonify(object_json(info))
    if info.etag:
        response.headers["ETag"] = info.etag
    return response


@blueprint.delete(OBJECT)
@document_querystring(dto.ObjectQuery)
@no_content
@requires("writer")
async def delete_object(backend_id: str, bucket: str) -> tuple[str, int]:
    driver, key = target(backend_id, bucket)
    version_id = arg("version_id", required=False)
    async with mutation("object.delete", backend=backend_id, bucket=bucket, key=key) as detail:
        if version_id:
            detail["version_id"] = version_id
        await driver.delete_object(bucket, key, version_id=version_id)
    await quota_after_delete(current_runtime(), backend_id, bucket)
    return "", 204


def _delete_keys(body: dict[str, Any]) -> list[tuple[str, str]]:
    entries = body.get("keys")
    if not isinstance(entries, list) or not entries:
        raise BadRequest("keys must be a non-empty list")
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise BadRequest('each entry needs a "key"')
        keys.append((check_key(entry["key"]), str(entry.get("version_id") or "")))
    return keys


@blueprint.post(f"{PREFIX}/<bucket>/objects/delete")
@document_request(dto.BulkDelete)
@document_response(dto.BulkDeleteResult)
@requires("writer")
async def bulk_delete(backend_id: str, bucket: str) -> Response:
    check_bucket(bucket)
    driver = driver_for(backend_id)
    keys = _delete_keys(await read_json(BULK_DELETE_LIMIT))
    async with mutation("object.bulk_delete", backend=backend_id, bucket=bucket) as detail:
        detail["requested"] = len(keys)
        result = await driver.delete_objects(bucket, keys)
        detail.update(deleted=len(result.deleted), errors=len(result.errors))
    if result.deleted:
        await quota_after_delete(current_runtime(), backend_id, bucket)
    deleted = [{"key": k, **({"version_id": v} if v else {})} for k, v in result.deleted]
    errors = [
        {
            "key": k,
            **{name: value for name, value in (("version_id", v), ("code", c), ("message", m)) if value},
        }
        for k, v, c, m in result.errors
    ]
    return jsonify({"deleted": deleted, "errors": errors})
