"""``server.trusted_proxies: []`` trusts no forwarded header.

Each test rotates ``X-Forwarded-For`` through real listeners, as an attacker would, once with the
default (the peer is the client: the limit holds) and once with the loopback peer listed as a
reverse proxy (the header is believed: the same rotation gets through — the control that shows
the header is what is being ignored).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from tests.plugins.auth_local.helpers import Client, add_user
from tests.plugins.quotas.support import policy_env
from tests.plugins.s3proxy.proxyenv import upstream_client

TRUST = {"default": [], "listed": ["127.0.0.1"]}
_fake_ips = (f"198.51.100.{n}" for n in itertools.count(1))


def _rotating() -> dict[str, str]:
    return {"X-Forwarded-For": next(_fake_ips)}


def _settings(trust: str, **extra: Any) -> dict[str, Any]:
    return {
        "server": {"trusted_proxies": TRUST[trust]},
        "ratelimit": {"login_attempts": 3, "share_per_minute": 3},
        "s3_proxy": {"anonymous_enabled": True},
        **extra,
    }


@pytest.mark.parametrize("trust", ["default", "listed"])
async def test_rotating_forwarded_for_vs_login_limiter_and_audit_ip(
    stowage_factory, rclone_upstream, monkeypatch, trust
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch, _settings(trust)) as env:
        await add_user(env.proxy.runtime, "victim")
        statuses = []
        async with Client(env.proxy.stowage.dashboard_url) as attacker:
            for _ in range(6):
                attacker.http.headers.update(_rotating())
                statuses.append((await attacker.login("victim", "guess"))[0])
        failures = [e for e in await env.audit("auth.login_failed")]
    if trust == "default":
        assert statuses == [401, 401, 401, 429, 429, 429]  # the per-IP limit holds
        assert {e.ip for e in failures} == {"127.0.0.1"}  # the audit names the real peer
    else:
        assert 429 not in statuses[:3] and statuses.count(401) >= 5  # listed proxy: header believed
        assert all(e.ip.startswith("198.51.100.") for e in failures)


@pytest.mark.parametrize("trust", ["default", "listed"])
async def test_rotating_forwarded_for_vs_share_limiter(
    stowage_factory, rclone_upstream, monkeypatch, trust
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch, _settings(trust)) as env:
        bucket = env.proxy.bucket
        await asyncio.to_thread(
            upstream_client(rclone_upstream).put_object, Bucket=bucket, Key="f", Body=b"f"
        )
        status, share = await env.api.call(
            "POST",
            "/api/shares",
            "user",
            json={"backend_id": "up", "bucket": bucket, "key": "f", "password": "pw-long-enough"},
        )
        assert status == 201, share
        statuses = []
        for _ in range(6):
            async with env.http.post(
                f"{env.proxy.stowage.dashboard_url}/s/{share['code']}/unlock",
                json={"password": "wrong"},
                headers=_rotating(),
            ) as response:
                statuses.append(response.status)
    if trust == "default":
        assert statuses == [401, 401, 401, 429, 429, 429]
    else:
        assert statuses == [401] * 6


@pytest.mark.parametrize("trust", ["default", "listed"])
async def test_rotating_forwarded_for_vs_anonymous_per_ip_limit(
    stowage_factory, rclone_upstream, monkeypatch, trust
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch, _settings(trust)) as env:
        bucket = env.proxy.bucket
        await asyncio.to_thread(
            upstream_client(rclone_upstream).put_object, Bucket=bucket, Key="f", Body=b"f"
        )
        status, _ = await env.api.call(
            "POST",
            "/api/admin/s3-anonymous",
            json={"backend_id": "up", "bucket": bucket, "per_source_ip_rps": 1},
        )
        assert status == 200
        statuses = []
        for _ in range(8):  # rate 1/s, burst 3
            async with env.http.head(f"{env.proxy.endpoint}/{bucket}/f", headers=_rotating()) as response:
                statuses.append(response.status)
    if trust == "default":
        assert 503 in statuses
    else:
        assert statuses == [200] * 8
