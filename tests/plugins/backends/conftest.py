"""Fixtures for the storage API: Stowage with backends on the session's rclone upstream."""

from __future__ import annotations

import aiohttp
import pytest

from tests.plugins.backends.support import Api, TestSupport, backend_entry


@pytest.fixture
def upstream_env(rclone_upstream, monkeypatch) -> dict[str, str]:
    # The registry reads settings-file keys from os.environ (not the harness's env mapping).
    env = {"T_AK": rclone_upstream.access_key, "T_SK": rclone_upstream.secret_key}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
async def api(stowage_factory, rclone_upstream, upstream_env):
    """An ``Api`` for a Stowage with backends ``main`` and ``other`` (same upstream, two ids)."""
    support = TestSupport()
    settings = {
        "backends": [
            backend_entry("main", rclone_upstream.endpoint_url),
            backend_entry("other", rclone_upstream.endpoint_url),
        ]
    }
    async with (
        stowage_factory(settings, env=upstream_env, plugins=[("testsupport", support)]) as stowage,
        aiohttp.ClientSession() as http,
    ):
        yield Api(stowage, http, support)
