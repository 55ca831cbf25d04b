"""Bucket routes (API-18..20, BKT-1..3): list (cached 2 s per backend), create, delete."""

from __future__ import annotations

import time
from typing import Any

from quart import Blueprint, Response, jsonify
from quart_schema import document_request, document_response

from stowage.core.authz import requires
from stowage.core.driver import BucketInfo
from stowage.core.openapi import no_content
from stowage.core.s3names import check_bucket, check_bucket_name
from stowage.core.timefmt import to_rfc3339
from stowage.core.web import current_runtime, read_json
from stowage.plugins.backends import dto
from stowage.plugins.backends.common import PREFIX, driver_for, mutation
from stowage.plugins.backends.errors import install_error_handler

__all__ = ["BucketListCache", "blueprint"]

blueprint = Blueprint("storage_buckets", __name__)
install_error_handler(blueprint)

CACHE_TTL = 2.0  # seconds; SPEC §4.3 "bucket list 2 s"


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


def bucket_cache() -> BucketListCache:
    services = current_runtime().services
    cache = services.get("backends.bucket_cache")
    if cache is None:
        cache = services["backends.bucket_cache"] = BucketListCache()
    return cache  # type: ignore[no-any-return]


def _bucket_json(bucket: BucketInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"name": bucket.name}
    if bucket.created_at is not None:
        out["created_at"] = to_rfc3339(bucket.created_at)
    out["size_tracked"] = False  # SIZE-1 lands later; the size fields are added then
    return out


@blueprint.get(PREFIX)
@document_response(dto.BucketList)
@requires("any")
async def list_buckets(bid: str) -> Response:
    driver = driver_for(bid)
    buckets = bucket_cache().get(bid)
    if buckets is None:
        buckets = await driver.list_buckets()
        bucket_cache().put(bid, buckets)
    return jsonify({"buckets": [_bucket_json(b) for b in sorted(buckets, key=lambda b: b.name)]})


@blueprint.post(PREFIX)
@document_request(dto.NewBucket)
@document_response(dto.BucketName, 201)
@requires("admin")
async def create_bucket(bid: str) -> tuple[Response, int]:
    driver = driver_for(bid)
    body = await read_json(4096)
    name, region = str(body.get("name") or "").strip(), str(body.get("region") or "").strip()
    check_bucket_name(name)  # refused input is not an attempted change: not audited
    async with mutation("bucket.create", backend=bid, bucket=name) as detail:
        if region:
            detail["region"] = region
        await driver.create_bucket(name, region)
    bucket_cache().forget(bid)
    return jsonify({"name": name}), 201


@blueprint.delete(f"{PREFIX}/<bucket>")
@no_content
@requires("admin")
async def delete_bucket(bid: str, bucket: str) -> tuple[str, int]:
    driver = driver_for(bid)
    check_bucket(bucket)
    async with mutation("bucket.delete", backend=bid, bucket=bucket):
        await driver.delete_bucket(bucket)
    bucket_cache().forget(bid)
    return "", 204
