"""Object copy: server-side within a backend, streamed across backends."""

from __future__ import annotations

import os
import types

import aiohttp

from stowage.core.contracts.quotas import QUOTAS
from stowage.hooks import hookimpl
from tests.plugins.backends.support import Api, TestSupport, backend_entry


def copy_url(bucket: str, backend_id: str = "main") -> str:
    return f"/api/backends/{backend_id}/buckets/{bucket}/object/copy"


async def read(api, backend_id: str, bucket: str, key: str) -> bytes:
    async with api.request(
        "GET", f"/api/backends/{backend_id}/buckets/{bucket}/object", params={"key": key}
    ) as r:
        assert r.status == 200
        return await r.read()


async def test_copy_within_a_backend(api, s3_bucket) -> None:
    data = os.urandom(100_000)
    await api.upload("main", s3_bucket, "src.bin", data)
    status, body = await api.call(
        "POST", copy_url(s3_bucket), "user", json={"src_key": "src.bin", "dst_key": "dst.bin"}
    )
    assert status == 200 and body["bucket"] == s3_bucket
    assert body["object"]["key"] == "dst.bin" and body["object"]["size"] == len(data)
    assert await read(api, "main", s3_bucket, "dst.bin") == data
    (event,) = await api.audit("object.copy")
    assert (event.user_id, event.backend, event.bucket, event.key) == (
        "user-user",
        "main",
        s3_bucket,
        "dst.bin",
    )
    assert event.detail == {
        "src_bucket": s3_bucket,
        "src_key": "src.bin",
        "dst_bucket": s3_bucket,
        "dst_key": "dst.bin",
    }


async def test_copy_across_backends_streams_and_records_quota(api, s3_bucket) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    await api.upload("main", s3_bucket, "src.bin", data)
    payload = {"src_key": "src.bin", "dst_key": "moved/copy.bin", "dst_backend": "other"}
    status, body = await api.call("POST", copy_url(s3_bucket), "user", json=payload)
    assert status == 200, body
    assert body["backend"] == "other" and body["bucket"] == s3_bucket and body["object"]["size"] == len(data)
    assert await read(api, "other", s3_bucket, "moved/copy.bin") == data
    (event,) = await api.audit("object.transfer")
    assert (event.user_id, event.backend, event.bucket, event.key) == (
        "user-user",
        "other",
        s3_bucket,
        "moved/copy.bin",
    )
    assert event.detail == {
        "src_backend": "main",
        "src_bucket": s3_bucket,
        "src_key": "src.bin",
        "dst_backend": "other",
        "dst_bucket": s3_bucket,
        "dst_key": "moved/copy.bin",
        "size": len(data),
    }


async def test_copy_validation(api, s3_bucket) -> None:
    await api.upload("main", s3_bucket, "a", b"1")
    cases = [
        ({"src_key": "a", "dst_key": "a"}, 400, "bad_request"),
        ({"src_key": "a", "dst_key": "b", "dst_bucket": "bad/bucket"}, 400, "invalid_bucket"),
        ({"src_key": "a", "dst_key": "../x"}, 400, "invalid_key"),
        ({"src_key": "a", "dst_key": "b", "dst_backend": "nope"}, 404, "not_found"),
        ({"src_key": "missing", "dst_key": "b"}, 404, "not_found"),
        ({"src_key": "missing", "dst_key": "b", "dst_backend": "other"}, 404, "not_found"),
    ]
    for payload, status, code in cases:
        got, body = await api.call("POST", copy_url(s3_bucket), json=payload)
        assert (got, body["error"]["code"]) == (status, code), payload
    status, _ = await api.call("POST", copy_url(s3_bucket), "readonly", json={"src_key": "a", "dst_key": "b"})
    assert status == 403


class Quotas:
    """A stand-in quota service: refuses anything over ``hard`` bytes, records growth."""

    def __init__(self, hard: int) -> None:
        self.hard, self.recorded = hard, []

    async def check(self, backend_id: str, bucket: str, incoming: int) -> None:
        from stowage.core.kernel.errors import ApiError

        if incoming > self.hard:
            raise ApiError("bucket hard quota exceeded", code="quota_exceeded", status=507)

    async def record(self, backend_id: str, bucket: str, delta_bytes: int, delta_objects: int) -> None:
        self.recorded.append((backend_id, bucket, delta_bytes, delta_objects))

    async def refresh(self, backend_id: str, bucket: str) -> None:
        self.recorded.append((backend_id, bucket, "refresh"))


async def test_quota_seam_is_called_on_uploads_parts_and_transfers(
    stowage_factory, rclone_upstream, upstream_env, s3_bucket
) -> None:
    quotas = Quotas(hard=1000)
    support = TestSupport()
    plugin = types.SimpleNamespace(stowage_startup=hookimpl(lambda runtime: runtime.replace(QUOTAS, quotas)))
    settings = {
        "backends": [
            backend_entry("main", rclone_upstream.endpoint_url),
            backend_entry("other", rclone_upstream.endpoint_url),
        ]
    }
    async with (
        stowage_factory(
            settings, env=upstream_env, plugins=[("testsupport", support), ("fakequotas", plugin)]
        ) as stowage,
        aiohttp.ClientSession() as http,
    ):
        api = Api(stowage, http, support)
        assert (await api.upload("main", s3_bucket, "small", b"x" * 10))[0] == 201
        status, body = await api.upload("main", s3_bucket, "large", b"x" * 2000)
        assert status == 507 and body["error"]["code"] == "quota_exceeded"
        _, created = await api.call(
            "POST", f"/api/backends/main/buckets/{s3_bucket}/multipart", params={"key": "mp"}
        )
        params = {"key": "mp", "upload_id": created["upload_id"]}
        status, _ = await api.call(
            "PUT",
            f"/api/backends/main/buckets/{s3_bucket}/multipart/parts/1",
            params=params,
            data=b"y" * 2000,
        )
        assert status == 507
        await api.call("DELETE", f"/api/backends/main/buckets/{s3_bucket}/multipart", params=params)
        await api.upload("main", s3_bucket, "big-src", b"z" * 999)
        payload = {"src_key": "big-src", "dst_key": "t", "dst_backend": "other"}
        assert (await api.call("POST", copy_url(s3_bucket), json=payload))[0] == 200
        assert quotas.recorded == [
            ("main", s3_bucket, 10, 1),
            ("main", s3_bucket, 999, 1),
            ("other", s3_bucket, 999, 1),
        ]
        (failed,) = [e for e in await api.audit("object.upload") if e.outcome == "error"]
        assert failed.key == "large" and failed.detail["error"] == "quota_exceeded"
