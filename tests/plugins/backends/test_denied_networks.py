"""Backend endpoints may not reach link-local or cloud-metadata addresses:
refused on create, patch and test with a 400 naming the rule, and again at connect time on the
resolved address; on-demand probes are rate limited."""

from __future__ import annotations

import asyncio
import ipaddress
from urllib.parse import urlsplit

import pytest

from stowage.core.security.netpolicy import DEFAULT_DENIED_NETWORKS, NetworkPolicy, parse_networks
from stowage.plugins.backends.probe_gate import MIN_INTERVAL, PER_SESSION_PER_MINUTE, probe_gate
from tests.plugins.backends.endpoint_support import backend_body, started

METADATA_ENDPOINTS = [
    ("http://169.254.169.254", "169.254.0.0/16"),
    ("http://169.254.169.254.", "169.254.0.0/16"),
    ("http://0xa9fea9fe", "169.254.0.0/16"),  # hex
    ("http://2852039166", "169.254.0.0/16"),  # decimal
    ("http://0251.0376.0251.0376", "169.254.0.0/16"),  # octal
    ("http://169.254.43518", "169.254.0.0/16"),  # two-part
    ("http://[::ffff:169.254.169.254]", "169.254.0.0/16"),  # IPv4-mapped IPv6
    ("http://[::ffff:a9fe:a9fe]:80", "169.254.0.0/16"),
    ("http://[fe80::1]", "fe80::/10"),
    ("http://100.100.100.200", "100.100.100.200/32"),
    ("http://[fd00:ec2::254]", "fd00:ec2::254/128"),
    ("http://168.63.129.16", "168.63.129.16/32"),
    ("https://metadata.google.internal", "metadata host name"),
    ("http://METADATA.GOOGLE.INTERNAL.", "metadata host name"),
]


def test_policy_normalises_every_spelling() -> None:
    policy = NetworkPolicy(parse_networks(DEFAULT_DENIED_NETWORKS))
    for endpoint, rule in METADATA_ENDPOINTS:
        assert rule in policy.denial_for_host(urlsplit(endpoint).hostname or ""), endpoint
    for allowed in ("127.0.0.1", "0x7f000001", "::1", "10.0.0.5", "192.168.1.10", "s3.amazonaws.com"):
        assert policy.denial_for_host(allowed) == "", allowed
    assert "169.254.0.0/16" in policy.denial_for_address(ipaddress.ip_address("::ffff:169.254.1.1"))


@pytest.mark.parametrize(("endpoint", "rule"), METADATA_ENDPOINTS)
async def test_create_test_and_patch_refuse_metadata_endpoints(
    stowage_factory, rclone_upstream, endpoint, rule
) -> None:
    async with started(stowage_factory) as h:
        body = backend_body(rclone_upstream, "meta", endpoint=endpoint)
        for path in ("/api/admin/backends", "/api/admin/backends/test"):
            status, error = await h.api.call("POST", path, json=body)
            assert status == 400, (path, error)
            assert error["error"]["code"] == "bad_request"
            assert rule in error["error"]["message"] and error["error"]["message"].startswith("endpoint: ")
        assert (await h.api.call("POST", "/api/admin/backends", json=backend_body(rclone_upstream)))[0] == 201
        status, error = await h.api.call("PATCH", "/api/admin/backends/ui1", json={"endpoint": endpoint})
        assert status == 400 and rule in error["error"]["message"]
        assert h.registry().get("meta") is None
        assert h.registry().get("ui1").spec.endpoint == rclone_upstream.endpoint_url  # unchanged


async def test_connect_time_check_applies_to_resolved_names_and_settings_file_backends(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    """Deny loopback for this run: the settings-file backends (never checked at create time)
    reach rclone on 127.0.0.1 by a name and by spellings of its address; every connection is
    refused — the name by the address it resolves to, as a rebound name would be."""
    monkeypatch.setenv("T_AK", rclone_upstream.access_key)
    monkeypatch.setenv("T_SK", rclone_upstream.secret_key)
    port = urlsplit(rclone_upstream.endpoint_url).port
    hosts = {"byname": "localhost", "literal": "127.0.0.1", "hex": "0x7f000001"}
    entries = [
        {"id": backend_id, "type": "s3v4", "endpoint": f"http://{host}:{port}", "path_style": True,
         "access_key_env": "T_AK", "secret_key_env": "T_SK"}
        for backend_id, host in hosts.items()
    ]  # fmt: skip
    denied = {"backend_network": {"denied_networks": ["127.0.0.0/8", "::1/128"]}, "backends": entries}
    async with started(stowage_factory, denied) as h:
        for backend_id in hosts:
            status, body = await h.api.call("GET", f"/api/backends/{backend_id}/buckets", role="readonly")
            assert status == 502 and body["error"]["code"] == "backend_error", (backend_id, body)
            status, health = await h.api.call("GET", f"/api/backends/{backend_id}/health", role="readonly")
            assert health["healthy"] is False and "denied_networks" in health["last_error"], (
                backend_id,
                health,
            )
    async with started(stowage_factory, {"backends": entries}) as h:  # the control: default list
        for backend_id in hosts:
            status, body = await h.api.call("GET", f"/api/backends/{backend_id}/buckets", role="readonly")
            assert status == 200, (backend_id, body)


async def test_forced_probes_reuse_a_recent_result_and_are_budgeted(stowage_factory, rclone_upstream) -> None:
    async with started(stowage_factory) as h:
        assert (await h.api.call("POST", "/api/admin/backends", json=backend_body(rclone_upstream)))[0] == 201
        entry = h.registry().get("ui1")
        for _ in range(100):  # let the probe that registration starts land first
            if entry.health.history:
                break
            await asyncio.sleep(0.05)
        runtime = h.runtime
        start = runtime.clock()
        runtime.clock = lambda: start
        before = len(entry.health.history)
        answers = [await h.api.call("GET", "/api/backends/ui1/health", role="readonly") for _ in range(5)]
        assert all(status == 200 and body["healthy"] for status, body in answers)
        assert len(entry.health.history) - before == 1  # one fresh probe, then its result
        assert len({body["last_probe_at"] for _, body in answers}) == 1

        gate = probe_gate(runtime)
        statuses = []
        for tick in range(PER_SESSION_PER_MINUTE + 2):
            runtime.clock = lambda at=start + (tick + 1) * (MIN_INTERVAL + 0.01) / 100: at
            gate._probed_at.clear()  # make every ask a fresh probe: only the budget decides
            try:
                await gate.probe(entry, "someone/session")
                statuses.append(200)
            except Exception as exc:  # RateLimited
                statuses.append(getattr(exc, "status", 0))
        assert statuses == [200] * PER_SESSION_PER_MINUTE + [429, 429]
        await gate.probe(entry, "another/session")  # the budget is per session
