"""Bucket quotas end to end: hard cap through the proxy and the dashboard, soft-cap audit, the quota API."""

from __future__ import annotations

import asyncio

import botocore.exceptions
import pytest

from stowage.core.contracts.quotas import QuotaExceededError
from tests.plugins.quotas.support import policy_env
from tests.plugins.s3proxy.proxyenv import upstream_client

MiB = 1024 * 1024


def _quota(bucket: str, backend_id: str = "up") -> str:
    return f"/api/backends/{backend_id}/buckets/{bucket}/quota"


async def _keys(upstream, bucket: str) -> list[str]:
    listed = await asyncio.to_thread(upstream_client(upstream).list_objects_v2, Bucket=bucket)
    return [o["Key"] for o in listed.get("Contents", [])]


async def test_hard_cap_refuses_uploads_via_proxy_and_dashboard_until_deletes_free_space(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        bucket = env.proxy.bucket
        status, _ = await env.api.call("PUT", _quota(bucket), json={"soft_bytes": 0, "hard_bytes": 10 * MiB})
        assert status == 200
        s3 = env.proxy.client()
        for name in ("a", "b"):
            await asyncio.to_thread(s3.put_object, Bucket=bucket, Key=name, Body=b"x" * (4 * MiB))

        with pytest.raises(botocore.exceptions.ClientError) as refused:
            await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="c", Body=b"y" * (3 * MiB))
        error = refused.value.response
        assert error["Error"]["Code"] == "EntityTooLarge"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 507
        assert error["Error"]["Message"] == f"bucket hard quota exceeded: {8 * MiB} + {3 * MiB} > {10 * MiB}"

        status, body = await env.api.upload("up", bucket, "d", b"z" * (3 * MiB))
        assert status == 507
        assert body["error"]["code"] == "quota_exceeded"
        assert sorted(await _keys(rclone_upstream, bucket)) == ["a", "b"]

        # Deleting through the proxy lowers usage before the delete answers: no scan to wait for.
        await asyncio.to_thread(s3.delete_object, Bucket=bucket, Key="a")
        await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="c", Body=b"y" * (3 * MiB))
        await asyncio.to_thread(s3.delete_objects, Bucket=bucket, Delete={"Objects": [{"Key": "c"}]})
        status, body = await env.api.upload("up", bucket, "d", b"z" * (3 * MiB))
        assert status == 201, body
        assert sorted(await _keys(rclone_upstream, bucket)) == ["b", "d"]
        status, body = await env.api.call("GET", _quota(bucket))
        assert body["usage_bytes"] == 7 * MiB and body["object_count"] == 2

        # Deleting through the dashboard lowers usage too.
        status, body = await env.api.upload("up", bucket, "e", b"w" * (4 * MiB))
        assert status == 507
        status, _ = await env.api.call("DELETE", f"/api/backends/up/buckets/{bucket}/object?key=d")
        assert status == 204
        status, body = await env.api.upload("up", bucket, "e", b"w" * (4 * MiB))
        assert status == 201, body
        assert sorted(await _keys(rclone_upstream, bucket)) == ["b", "e"]


async def test_soft_cap_crossing_writes_exactly_one_audit_row(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        bucket = env.proxy.bucket
        status, _ = await env.api.call("PUT", _quota(bucket), json={"soft_bytes": MiB, "hard_bytes": 0})
        assert status == 200
        s3 = env.proxy.client()
        for index in range(3):  # 0.6 MiB (under), 1.2 MiB (crossed), 1.8 MiB (still over)
            await asyncio.to_thread(s3.put_object, Bucket=bucket, Key=f"k{index}", Body=b"s" * (600 * 1024))
        rows = await env.audit("quota.soft_exceeded")
        assert len(rows) == 1
        assert rows[0].bucket == bucket and rows[0].detail["soft_bytes"] == MiB


async def test_quota_api_validates_reports_and_audits(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        path = _quota(env.proxy.bucket)
        status, body = await env.api.call("GET", path)
        assert (status, body) == (200, {"configured": False, "has_usage": False})
        for bad in (
            {"soft_bytes": -1, "hard_bytes": 5},
            {"soft_bytes": 0, "hard_bytes": 0},
            {"soft_bytes": 9, "hard_bytes": 5},
        ):
            status, body = await env.api.call("PUT", path, json=bad)
            assert (status, body["error"]["code"]) == (400, "invalid_quota")
        status, body = await env.api.call("PUT", path, role="user", json={"soft_bytes": 1, "hard_bytes": 2})
        assert status == 403
        status, body = await env.api.call("GET", _quota("x", backend_id="nope"))
        assert status == 404
        status, body = await env.api.call("PUT", path, json={"soft_bytes": 100, "hard_bytes": 200})
        assert body["configured"] and body["soft_bytes"] == 100 and body["hard_bytes"] == 200
        assert body["updated_by"] == "user-admin"
        status, body = await env.api.call("POST", path + "/recompute")
        assert status == 200 and body["has_usage"] and body["usage_bytes"] == 0 and "computed_at" in body
        assert (await env.api.call("DELETE", path))[0] == 204
        assert (await env.api.call("DELETE", path))[0] == 204
        status, body = await env.api.call("GET", path)
        assert body["configured"] is False
        [set_row] = await env.audit("quota.set")
        assert set_row.detail == {"soft_bytes": 100, "hard_bytes": 200}
        assert len(await env.audit("quota.delete")) == 2


def test_quota_exceeded_error_is_a_507_quota_exceeded_api_error() -> None:
    error = QuotaExceededError(8, 3, 10)
    assert (error.http_status, error.code) == (507, "quota_exceeded")
    assert str(error) == "bucket hard quota exceeded: 8 + 3 > 10"
