"""``GET /api/admin/dashboard`` against a real proxy in front of ``rclone serve s3``: traffic per
listener, per bucket and per hour, latency, errors, health, audit, storage; roles."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import botocore.exceptions
import pytest

from tests.plugins.backends.endpoint_support import closed_port_url
from tests.plugins.quotas.support import policy_env

KiB = 1024
DASHBOARD = "/api/admin/dashboard"


def _backends(upstream: Any) -> list[dict[str, Any]]:
    up = {
        "id": "up",
        "type": "s3v4",
        "endpoint": upstream.endpoint_url,
        "access_key_env": "PROXY_UP_AK",
        "secret_key_env": "PROXY_UP_SK",
        "path_style": True,
    }
    return [up, {**up, "id": "dead", "endpoint": closed_port_url()}]


def _diff(new: dict[str, Any], old: dict[str, Any], *path: str) -> Any:
    for name in path:
        new, old = new[name], old[name]
    return new - old


async def test_dashboard_counts_proxy_and_api_traffic(stowage_factory, rclone_upstream, monkeypatch) -> None:
    settings = {"backends": _backends(rclone_upstream)}
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch, settings) as env:
        bucket = env.proxy.bucket
        status, first = await env.api.call("GET", DASHBOARD)
        assert status == 200, first

        s3 = env.proxy.client()
        for index in range(3):
            await asyncio.to_thread(s3.put_object, Bucket=bucket, Key=f"k{index}", Body=b"d" * KiB)
        for index in range(2):
            await asyncio.to_thread(s3.get_object, Bucket=bucket, Key=f"k{index}")
        with pytest.raises(botocore.exceptions.ClientError):
            await asyncio.to_thread(s3.head_object, Bucket=bucket, Key="missing")
        status, _ = await env.api.call("GET", f"/api/backends/up/buckets/{bucket}/objects", "readonly")
        assert status == 200
        status, body = await env.api.call("GET", "/api/backends/dead/buckets", "readonly")
        assert (status, body["error"]["code"]) == (502, "backend_error")

        status, now = await env.api.call("GET", DASHBOARD)
        assert status == 200, now
        # Six proxy requests: three uploads of 1 KiB, two reads, one refused (404) HEAD.
        assert _diff(now, first, "traffic", "s3", "requests") == 6
        assert _diff(now, first, "traffic", "s3", "rejected") == 1
        assert _diff(now, first, "traffic", "s3", "errors") == 0
        assert _diff(now, first, "traffic", "s3", "bytes_in") == 3 * KiB
        assert _diff(now, first, "traffic", "s3", "bytes_out") >= 2 * KiB
        latency = now["traffic"]["s3"]["latency_ms"]
        assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"]
        # Dashboard: the first overview call, the listing, and the failed bucket list.
        assert _diff(now, first, "traffic", "api", "requests") == 3
        assert _diff(now, first, "traffic", "api", "errors") == 1
        assert now["traffic"]["api"]["error_rate"] > 0

        # The series adds up to the window's totals: it is what a chart draws.
        series = now["series"]
        assert series and all(point["seconds"] >= 0 for point in series)
        assert sum(point["s3_requests"] for point in series) == now["traffic"]["s3"]["requests"]
        assert sum(point["api_errors"] for point in series) == now["traffic"]["api"]["errors"]

        [top] = [b for b in now["top_buckets"] if b["bucket"] == bucket]
        assert top["backend_id"] == "up"
        assert (top["requests"], top["errors"], top["bytes_in"]) == (7, 0, 3 * KiB)  # 6 proxy + 1 listing

        health = {b["id"]: b for b in now["backends"]}
        assert health["up"]["healthy"] is True and health["dead"]["healthy"] is False
        assert health["dead"]["last_error"]
        assert now["audit"]["dropped_total"] == 0 and now["audit"]["queue_depth"] >= 0
        assert now["database"]["bytes"] > 0

        requests = now["requests"]
        assert len(requests["hourly"]) == 24
        assert requests["total_24h"] == sum(hour["requests"] for hour in requests["hourly"]) >= 9
        assert requests["by_backend"]["up"] >= 7 and requests["by_backend"]["dead"] == 1
        [error] = requests["recent_errors"]
        assert (error["listener"], error["method"], error["path"], error["status"]) == (
            "api",
            "GET",
            "/api/backends/dead/buckets",
            502,
        )
        assert (error["user_id"], error["backend"]) == ("user-readonly", "dead")
        assert requests["errors_24h"] == 1
        assert set(now["storage"]) == {"by_backend", "top_buckets", "cache_note"}


async def test_dashboard_is_admin_only(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        for role in ("user", "readonly"):
            status, body = await env.api.call("GET", DASHBOARD, role)
            assert (status, body["error"]["code"]) == (403, "forbidden")
        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.get(env.api.url(DASHBOARD)) as response:
                assert response.status == 401
        status, body = await env.api.call("POST", DASHBOARD)
        assert status == 405


async def test_storage_section_lists_counted_bucket_sizes(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        bucket = env.proxy.bucket
        s3 = env.proxy.client()
        await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="sized", Body=b"z" * (3 * KiB))
        prefix = f"/api/backends/up/buckets/{bucket}"
        assert (await env.api.call("PUT", prefix + "/quota", json={"hard_bytes": 1 << 30}))[0] == 200
        assert (await env.api.call("POST", prefix + "/quota/recompute"))[0] == 200
        _, now = await env.api.call("GET", DASHBOARD)
        [entry] = [b for b in now["storage"]["top_buckets"] if b["bucket"] == bucket]
        assert (entry["backend_id"], entry["bytes"], entry["objects"]) == ("up", 3 * KiB, 1)
        [up] = [b for b in now["storage"]["by_backend"] if b["backend_id"] == "up"]
        assert up["bytes"] >= 3 * KiB and up["buckets"] >= 1
