"""``capabilities`` in ``GET /api/backends`` tell the truth: versioning, tagging, bucket policy and
lifecycle are true only where the upstream answers them (SeaweedFS does, ``rclone serve s3`` not)."""

from __future__ import annotations

import time
import uuid

import aiohttp
import pytest

from stowage.core.contracts.backends import backend_registry
from stowage.core.contracts.driver import BackendSpec, Capabilities, ProbeResult
from stowage.hooks import hookimpl
from stowage.testing.fixtures_s3 import make_s3_client
from tests.plugins.backends.endpoint_support import backend_body, closed_port_url, started
from tests.plugins.backends.support import Api, TestSupport
from tests.plugins.backends.upstream_pair import upstream_pair

PROBED = ("versioning", "tagging", "bucket_policy", "lifecycle")
DECLARED = {"object_lock": True, "cors": True, "server_side_encrypt": True, "max_multipart_parts": 10000}


def _probed(capabilities: dict) -> dict:
    return {name: capabilities[name] for name in PROBED}


@pytest.fixture
async def pair(stowage_factory, seaweed_upstream, rclone_upstream, monkeypatch):
    async with upstream_pair(stowage_factory, seaweed_upstream, rclone_upstream, monkeypatch) as p:
        yield p


async def test_listing_shows_what_each_upstream_supports(pair) -> None:
    pair.bucket("sw"), pair.bucket("rc")  # something to probe against
    status, body = await pair.api.call("GET", "/api/backends", "readonly")
    assert status == 200
    listed = {b["id"]: b["capabilities"] for b in body["backends"]}
    assert _probed(listed["sw"]) == dict.fromkeys(PROBED, True)
    assert _probed(listed["rc"]) == dict.fromkeys(PROBED, False)
    for capabilities in listed.values():
        assert {name: capabilities[name] for name in DECLARED} == DECLARED
    status, one = await pair.api.call("GET", "/api/backends/rc", "user")
    assert status == 200 and one["capabilities"] == listed["rc"]


async def test_every_advertised_feature_answers_and_no_other(pair) -> None:
    """A client that follows ``capabilities`` never meets a 404 or a misread request."""
    buckets = {backend_id: pair.bucket(backend_id) for backend_id in ("sw", "rc")}
    status, body = await pair.api.call("GET", "/api/backends")
    for backend in body["backends"]:
        backend_id, capabilities = backend["id"], backend["capabilities"]
        bucket = buckets[backend_id]
        await pair.api.upload(backend_id, bucket, "k", b"data")
        reads = {
            "versioning": f"/api/backends/{backend_id}/buckets/{bucket}/versioning",
            "bucket_policy": f"/api/backends/{backend_id}/buckets/{bucket}/policy",
            "lifecycle": f"/api/backends/{backend_id}/buckets/{bucket}/lifecycle",
            "tagging": f"/api/backends/{backend_id}/buckets/{bucket}/object/tags?key=k",
        }
        for feature, path in reads.items():
            status, _ = await pair.api.call("GET", path)
            assert status == (200 if capabilities[feature] else 501), (backend_id, feature, status)
        status, _ = await pair.api.call(
            "GET", f"/api/backends/{backend_id}/buckets/{bucket}/object/versions?key=k"
        )
        assert status == (200 if capabilities["versioning"] else 501)


async def test_an_edited_backend_is_probed_again(stowage_factory, rclone_upstream, seaweed_upstream) -> None:
    made = []
    for upstream in (rclone_upstream, seaweed_upstream):  # each needs a bucket to be asked about
        client = make_s3_client(upstream.endpoint_url, upstream.access_key, upstream.secret_key)
        made.append((client, f"cap-{uuid.uuid4().hex[:10]}"))
        client.create_bucket(Bucket=made[-1][1])
    try:
        async with started(stowage_factory) as h:
            assert (await h.api.call("POST", "/api/admin/backends", json=backend_body(rclone_upstream)))[
                0
            ] == 201
            assert (await h.api.call("GET", "/api/backends/ui1/health"))[1]["healthy"] is True
            status, one = await h.api.call("GET", "/api/backends/ui1", role="readonly")
            assert status == 200 and _probed(one["capabilities"]) == dict.fromkeys(PROBED, False)
            edit = {
                "endpoint": seaweed_upstream.endpoint_url,
                "access_key": seaweed_upstream.access_key,
                "secret_key": seaweed_upstream.secret_key,
            }
            assert (await h.api.call("PATCH", "/api/admin/backends/ui1", json=edit))[0] == 200
            status, one = await h.api.call("GET", "/api/backends/ui1", role="readonly")
            assert status == 200 and _probed(one["capabilities"]) == dict.fromkeys(PROBED, True)
    finally:
        for client, bucket in made:
            client.delete_bucket(Bucket=bucket)
            client.close()


async def test_unreachable_backend_lists_at_once_with_probed_features_off(stowage_factory) -> None:
    yaml = {"backends": [{"id": "gone", "type": "s3v4", "endpoint": closed_port_url(), "path_style": True}]}
    async with started(stowage_factory, yaml) as h:
        started_at = time.monotonic()
        status, body = await h.api.call("GET", "/api/backends", role="readonly")
        assert status == 200 and time.monotonic() - started_at < 3
        (gone,) = body["backends"]
        assert gone["healthy"] is False and _probed(gone["capabilities"]) == dict.fromkeys(PROBED, False)
        assert gone["capabilities"]["max_multipart_parts"] == 10000
        status, error = await h.api.call("GET", "/api/backends/gone/buckets/any/versioning")
        assert (status, error["error"]["code"]) == (502, "backend_error")


async def test_probe_runs_once_per_driver(pair) -> None:
    bucket = pair.bucket("sw")
    driver = backend_registry(pair.api.stowage.runtime).driver("sw")
    first = await driver.probe_capabilities(bucket)
    assert first.versioning and first.tagging and first.bucket_policy and first.lifecycle
    assert await driver.probe_capabilities() is first and await driver.probe_capabilities("other") is first


class _OlderDriver:
    """A plugin driver from before probing: all features declared, only tag methods written."""

    capabilities = Capabilities()

    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec

    async def close(self) -> None:
        return None

    async def probe(self, timeout: float = 5.0) -> ProbeResult:
        return ProbeResult(True, 0.0)

    async def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        return {"from": "older"}

    async def put_tags(self, bucket: str, key: str, tags: dict[str, str]) -> None:
        return None


class _OlderPlugin:
    @hookimpl
    def stowage_storage_driver(self, backend):
        return _OlderDriver(backend) if backend.type == "older" else None


async def test_a_driver_without_probing_advertises_only_what_it_implements(stowage_factory) -> None:
    yaml = {"backends": [{"id": "old", "type": "older", "endpoint": "memory://"}]}
    plugins = [("older", _OlderPlugin()), ("testsupport", TestSupport())]
    async with stowage_factory(yaml, plugins=plugins) as stowage, aiohttp.ClientSession() as http:
        api = Api(stowage, http, plugins[1][1])
        status, one = await api.call("GET", "/api/backends/old", "readonly")
        assert status == 200
        assert _probed(one["capabilities"]) == {
            "versioning": False,
            "tagging": True,
            "bucket_policy": False,
            "lifecycle": False,
        }
        status, body = await api.call("GET", "/api/backends/old/buckets/b/object/tags?key=k")
        assert (status, body) == (200, {"tags": {"from": "older"}})
        for path in ("versioning", "policy", "lifecycle", "object/versions?key=k"):
            status, error = await api.call("GET", f"/api/backends/old/buckets/b/{path}")
            assert (status, error["error"]["code"]) == (501, "not_supported"), path
