"""Bucket routes: list (cached 2 s per backend, with sizes when known), create, delete."""

from __future__ import annotations

import time
from typing import Any

from quart import Blueprint, Response, jsonify
from quart_schema import document_request, document_response

from stowage.core.contracts.driver import BucketInfo
from stowage.core.contracts.sizes import SizeService, size_service
from stowage.core.formats.s3names import check_bucket, check_bucket_name
from stowage.core.formats.timefmt import to_rfc3339
from stowage.core.kernel.services import ServiceKey
from stowage.core.openapi import no_content
from stowage.core.web.authz import requires
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.backends import dto
from stowage.plugins.backends.errors import install_error_handler
from stowage.plugins.backends.route_helpers import PREFIX, driver_for, mutation

__all__ = ["BucketListCache", "blueprint"]

blueprint = Blueprint("storage_buckets", __name__)
install_error_handler(blueprint)

CACHE_TTL = 2.0  # seconds a bucket list is reused, so a dashboard refresh does not hit the backend


class BucketListCache:
    """ListBuckets results per backend for ``ttl`` seconds; dropped when a bucket changes."""

    def __init__(self, ttl: float = CACHE_TTL) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, list[BucketInfo]]] = {}

    def get(self, backend_id: str) -> list[BucketInfo] | None:
        hit = self._entries.get(backend_id)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < self.ttl else None

    def put(self, backend_id: str, buckets: list[BucketInfo]) -> None:
        self._entries[backend_id] = (time.monotonic(), buckets)

    def forget(self, backend_id: str) -> None:
        self._entries.pop(backend_id, None)


_BUCKET_CACHE: ServiceKey[BucketListCache] = ServiceKey("backends.bucket_cache", provider="backends")


def bucket_cache() -> BucketListCache:
    return current_runtime().memo(_BUCKET_CACHE, BucketListCache)


def _bucket_json(bucket: BucketInfo, backend_id: str, sizes: SizeService | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": bucket.name}
    if bucket.created_at is not None:
        out["created_at"] = to_rfc3339(bucket.created_at)
    out["size_tracked"] = sizes is not None and sizes.tracked(backend_id, bucket.name)
    known = sizes.size(backend_id, bucket.name) if sizes is not None else None
    if known is not None:  # from size tracking, or the quota tracker's usage
        out.update(
            size_bytes=known.bytes, object_count=known.objects, computed_at=to_rfc3339(known.computed_at)
        )
    return out


@blueprint.get(PREFIX)
@document_response(dto.BucketList)
@requires("any")
async def list_buckets(backend_id: str) -> Response:
    driver = driver_for(backend_id)
    buckets = bucket_cache().get(backend_id)
    if buckets is None:
        buckets = await driver.list_buckets()
        bucket_cache().put(backend_id, buckets)
    sizes = size_service(current_runtime())
    ordered = sorted(buckets, key=lambda b: b.name)
    return jsonify({"buckets": [_bucket_json(b, backend_id, sizes) for b in ordered]})


@blueprint.post(PREFIX)
@document_request(dto.NewBucket)
@document_response(dto.BucketName, 201)
@requires("admin")
async def create_bucket(backend_id: str) -> tuple[Response, int]:
    driver = driver_for(backend_id)
    body = await read_json(4096)
    name, region = str(body.get("name") or "").strip(), str(body.get("region") or "").strip()
    check_bucket_name(name)  # refused input is not an attempted change: not audited
    async with mutation("bucket.create", backend=backend_id, bucket=name) as detail:
        if region:
            detail["region"] = region
        await driver.create_bucket(name, region)
    bucket_cache().forget(backend_id)
    return jsonify({"name": name}), 201


@blueprint.delete(f"{PREFIX}/<bucket>")
@no_content
@requires("admin")
async def delete_bucket(backend_id: str, bucket: str) -> tuple[str, int]:
    driver = driver_for(backend_id)
    check_bucket(bucket)
    async with mutation("bucket.delete", backend=backend_id, bucket=bucket):
        await driver.delete_bucket(bucket)
    bucket_cache().forget(backend_id)
    sizes = size_service(current_runtime())
    if sizes is not None:
        sizes.forget(backend_id, bucket)
    return "", 204
