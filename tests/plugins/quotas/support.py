"""A Stowage with the proxy in front of rclone plus a dashboard client that authenticates by header."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.plugins.backends.support import Api, TestSupport
from tests.plugins.s3proxy.proxyenv import ProxyEnv, proxy_env


@dataclass
class PolicyEnv:
    proxy: ProxyEnv
    api: Api
    http: aiohttp.ClientSession

    async def audit(self, action: str) -> list[Any]:
        return await self.api.audit(action)


@contextlib.asynccontextmanager
async def policy_env(
    stowage_factory: Any, upstream: Any, monkeypatch: Any, settings: dict[str, Any] | None = None
) -> AsyncIterator[PolicyEnv]:
    """``proxy_env`` with the ``X-Test-Role`` authenticator and an audit capture plugged in."""
    support = TestSupport()

    def factory(merged: dict[str, Any]) -> Any:
        return stowage_factory(merged, plugins=[("testsupport", support)])

    async with (
        proxy_env(factory, upstream, monkeypatch, settings) as env,
        aiohttp.ClientSession() as http,
    ):
        yield PolicyEnv(env, Api(env.stowage, http, support), http)
