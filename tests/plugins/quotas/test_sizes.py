"""Bucket size tracking end to end against ``rclone serve s3``: the background count, the switch,
prefix sizes (cache and coalescing), the bucket list's size fields, roles, bad input and audit."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from stowage.testing.fixtures_s3 import make_s3_client
from tests.plugins.backends.support import Api, TestSupport, backend_entry

KiB = 1024


@pytest.fixture
def upstream_env(rclone_upstream, monkeypatch) -> dict[str, str]:
    env = {"T_AK": rclone_upstream.access_key, "T_SK": rclone_upstream.secret_key}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def upstream(rclone_upstream) -> Any:
    client = make_s3_client(
        rclone_upstream.endpoint_url, rclone_upstream.access_key, rclone_upstream.secret_key
    )
    yield client
    client.close()


@pytest.fixture
def start(stowage_factory, rclone_upstream, upstream_env, tmp_path) -> Callable[..., Any]:
    """``async with start(**settings) as api``: a Stowage with backends ``main`` and ``other``."""

    @contextlib.asynccontextmanager
    async def starter(directory: Path | None = None, **settings: Any) -> AsyncIterator[Api]:
        support = TestSupport()
        merged = {
            "backends": [
                backend_entry("main", rclone_upstream.endpoint_url),
                backend_entry("other", rclone_upstream.endpoint_url),
            ],
            **settings,
        }
        async with (
            stowage_factory(
                merged,
                env=upstream_env,
                plugins=[("testsupport", support)],
                directory=directory or tmp_path / "s",
            ) as stowage,
            aiohttp.ClientSession() as http,
        ):
            yield Api(stowage, http, support)

    return starter


def _put(upstream: Any, bucket: str, key: str, size: int) -> None:
    upstream.put_object(Bucket=bucket, Key=key, Body=b"s" * size)


async def _bucket_entry(
    api: Api, bucket: str, backend_id: str = "main", role: str = "readonly"
) -> dict[str, Any]:
    status, body = await api.call("GET", f"/api/backends/{backend_id}/buckets", role)
    assert status == 200, body
    return next(b for b in body["buckets"] if b["name"] == bucket)


async def _wait_for_entry(
    api: Api, bucket: str, want: Callable[[dict[str, Any]], bool], **kw: Any
) -> dict[str, Any]:
    """Poll the bucket list (its cache lives 2 s) until ``want`` holds; background counts take a moment."""
    deadline = time.monotonic() + 30
    while True:
        entry = await _bucket_entry(api, bucket, **kw)
        if want(entry) or time.monotonic() > deadline:
            return entry
        await asyncio.sleep(0.2)


async def _scans(api: Api, kind: str) -> float:
    async with api.http.get(api.url("/metrics")) as response:
        text = await response.text()
    found = re.search(rf'stowage_size_scans_total{{kind="{kind}",outcome="ok"}} ([0-9.e+]+)', text)
    return float(found.group(1)) if found else 0.0


async def test_bucket_list_carries_counted_sizes_and_recounts_on_schedule(start, s3_bucket, upstream) -> None:
    for index in range(3):
        await asyncio.to_thread(_put, upstream, s3_bucket, f"k{index}", 10 * KiB)
    async with start(quotas={"scan_interval": "1s"}) as api:
        entry = await _wait_for_entry(api, s3_bucket, lambda e: "size_bytes" in e)
        assert entry["size_tracked"] is True
        assert (entry["size_bytes"], entry["object_count"]) == (30 * KiB, 3)
        assert entry["computed_at"].endswith("Z")
        # Written straight to the upstream: only a recount can see it.
        await asyncio.to_thread(_put, upstream, s3_bucket, "late", 5 * KiB)
        entry = await _wait_for_entry(api, s3_bucket, lambda e: e.get("object_count") == 4)
        assert entry["size_bytes"] == 35 * KiB
        entry = await _bucket_entry(api, s3_bucket, backend_id="other")  # each backend counts its own
        assert entry["size_tracked"] is True


async def test_a_quota_bucket_shows_the_quota_trackers_usage(start, s3_bucket, upstream) -> None:
    async with start(quotas={"scan_interval": "-1s"}) as api:
        path = f"/api/backends/main/buckets/{s3_bucket}"
        assert (await api.call("PUT", path + "/quota", json={"hard_bytes": 10 * KiB * KiB}))[0] == 200
        assert (await api.upload("main", s3_bucket, "up.bin", b"u" * (7 * KiB)))[0] == 201
        entry = await _wait_for_entry(api, s3_bucket, lambda e: e.get("object_count") == 1)
        assert entry["size_bytes"] == 7 * KiB  # uploads keep the quota usage current
        # Switched off, the quota still counts the bucket: its size stays known, tracking says no.
        assert (await api.call("PUT", path + "/size-tracking", json={"enabled": False}))[0] == 200
        entry = await _wait_for_entry(api, s3_bucket, lambda e: e["size_tracked"] is False)
        assert entry["size_bytes"] == 7 * KiB


async def test_switch_roles_bad_input_audit_and_persistence(start, s3_bucket, upstream, tmp_path) -> None:
    await asyncio.to_thread(_put, upstream, s3_bucket, "a", 100)
    path = f"/api/backends/main/buckets/{s3_bucket}/size-tracking"
    folder = tmp_path / "persist"
    async with start(directory=folder) as api:
        status, body = await api.call("GET", path, "readonly")
        assert (status, body) == (200, {"enabled": True})
        for role in ("user", "readonly"):
            status, body = await api.call("PUT", path, role, json={"enabled": False})
            assert (status, body["error"]["code"]) == (403, "forbidden")
        for bad in ({"enabled": "no"}, {"enabled": 0}, {}, [True]):
            status, body = await api.call("PUT", path, json=bad)
            assert (status, body["error"]["code"]) == (400, "bad_request"), bad
        status, body = await api.call(
            "PUT", path, data=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert (status, body["error"]["code"]) == (400, "bad_request")
        status, body = await api.call("PUT", path, json={"enabled": False, "pad": "x" * 2000})
        assert (status, body["error"]["code"]) == (413, "too_large")
        status, body = await api.call(
            "PUT", "/api/backends/nope/buckets/b1/size-tracking", json={"enabled": False}
        )
        assert (status, body["error"]["code"]) == (404, "not_found")
        status, body = await api.call("GET", "/api/backends/main/buckets/bad%2Fname/size-tracking")
        assert status in (400, 404) and body["error"]["code"] in ("invalid_bucket", "not_found")
        assert await api.audit("bucket.size_tracking.set") == []  # refused input changes nothing

        status, body = await api.call("PUT", path, json={"enabled": False})
        assert status == 200 and body["enabled"] is False
        assert body["updated_by"] == "user-admin" and body["updated_at"].endswith("Z")
        entry = await _bucket_entry(api, s3_bucket)
        assert entry["size_tracked"] is False and "size_bytes" not in entry
        status, body = await api.call(
            "GET", f"/api/backends/main/buckets/{s3_bucket}/prefix-size", "readonly"
        )
        assert (status, body["error"]["code"]) == (409, "size_tracking_disabled")
        # The other backend's view of the same bucket name is a different switch.
        _, other = await api.call("GET", f"/api/backends/other/buckets/{s3_bucket}/size-tracking")
        assert other == {"enabled": True}
        [row] = await api.audit("bucket.size_tracking.set")
        assert (row.user_id, row.backend, row.bucket, row.detail) == (
            "user-admin",
            "main",
            s3_bucket,
            {"enabled": False},
        )

    async with start(directory=folder) as api:  # the switch is stored, not in memory
        status, body = await api.call("GET", path, "readonly")
        assert body["enabled"] is False and body["updated_by"] == "user-admin"
        status, body = await api.call("PUT", path, json={"enabled": True})
        assert (status, body["enabled"]) == (200, True)
        # Switching on counts the bucket right away, not at the next scheduled scan.
        entry = await _wait_for_entry(api, s3_bucket, lambda e: "size_bytes" in e)
        assert (entry["size_tracked"], entry["size_bytes"], entry["object_count"]) == (True, 100, 1)
        [row] = await api.audit("bucket.size_tracking.set")
        assert row.detail == {"enabled": True}


async def test_prefix_size_counts_caches_and_coalesces(start, s3_bucket, upstream) -> None:
    for key, size in (("a/1", 10), ("a/2", 20), ("a/deep/3", 30), ("b/1", 1000), ("ab", 5)):
        await asyncio.to_thread(_put, upstream, s3_bucket, key, size)
    base = f"/api/backends/main/buckets/{s3_bucket}/prefix-size"
    async with start(quotas={"scan_interval": "-1s"}) as api:
        status, body = await api.call("GET", base + "?prefix=a/", "readonly")
        assert status == 200, body
        assert {k: body[k] for k in ("bytes", "count", "prefix")} == {"bytes": 60, "count": 3, "prefix": "a/"}
        assert body["computed_at"].endswith("Z")
        _, whole = await api.call("GET", base, "readonly")
        assert (whole["bytes"], whole["count"], whole["prefix"]) == (1065, 5, "")

        # Answers are reused for 60 s: an object written since is not seen yet.
        await asyncio.to_thread(_put, upstream, s3_bucket, "a/new", 7)
        _, again = await api.call("GET", base + "?prefix=a/", "readonly")
        assert again == body

        # Concurrent questions about one prefix share one listing.
        before = await _scans(api, "prefix")
        answers = await asyncio.gather(*(api.call("GET", base + "?prefix=b/", "readonly") for _ in range(8)))
        assert {(s, b["bytes"], b["count"]) for s, b in answers} == {(200, 1000, 1)}
        assert await _scans(api, "prefix") == before + 1

        status, body = await api.call("GET", base + "?prefix=a%01", "readonly")
        assert (status, body["error"]["code"]) == (400, "invalid_prefix")
        status, body = await api.call("GET", base + "?prefix=" + "p" * 1025, "readonly")
        assert (status, body["error"]["code"]) == (400, "invalid_prefix")
        status, body = await api.call("GET", "/api/backends/nope/buckets/x1/prefix-size")
        assert (status, body["error"]["code"]) == (404, "not_found")
        status, body = await api.call("GET", "/api/backends/main/buckets/no-such-bucket-zz9/prefix-size")
        assert (status, body["error"]["code"]) == (404, "not_found")


async def test_deleting_a_bucket_forgets_its_size(start, upstream) -> None:
    name = f"sizes-gone-{uuid.uuid4().hex[:12]}"
    async with start(quotas={"scan_interval": "-1s"}) as api:
        assert (await api.call("POST", "/api/backends/main/buckets", json={"name": name}))[0] == 201
        assert (
            await api.call("PUT", f"/api/backends/main/buckets/{name}/size-tracking", json={"enabled": True})
        )[0] == 200
        entry = await _wait_for_entry(api, name, lambda e: "size_bytes" in e)
        assert entry["object_count"] == 0
        assert (await api.call("DELETE", f"/api/backends/main/buckets/{name}"))[0] == 204
        assert (await api.call("POST", "/api/backends/main/buckets", json={"name": name}))[0] == 201
        try:
            entry = await _bucket_entry(api, name)
            assert "size_bytes" not in entry  # a new bucket of the same name starts unknown
        finally:
            await asyncio.to_thread(upstream.delete_bucket, Bucket=name)
