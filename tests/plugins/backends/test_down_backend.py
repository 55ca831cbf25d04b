"""A backend whose endpoint does not answer: the API says 502 ``backend_error`` quickly."""

from __future__ import annotations

import socket
import time

import aiohttp

from tests.plugins.backends.support import Api, TestSupport, backend_entry


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_down_backend_answers_502_quickly(stowage_factory, upstream_env) -> None:
    support = TestSupport()
    settings = {"backends": [backend_entry("down", f"http://127.0.0.1:{closed_port()}")]}
    async with (
        stowage_factory(settings, env=upstream_env, plugins=[("testsupport", support)]) as stowage,
        aiohttp.ClientSession() as http,
    ):
        api = Api(stowage, http, support)
        base = "/api/backends/down/buckets"
        for method, path, kwargs in (
            ("GET", base, {}),
            ("GET", f"{base}/b/objects", {}),
            ("GET", f"{base}/b/object", {"params": {"key": "k"}}),
            ("DELETE", f"{base}/b/object", {"params": {"key": "k"}}),
        ):
            started = time.monotonic()
            status, body = await api.call(method, path, **kwargs)
            assert time.monotonic() - started < 6, path
            assert status == 502 and body["error"] == {
                "code": "backend_error",
                "message": "backend operation failed",
            }
        started = time.monotonic()
        status, body = await api.upload("down", "b", "k", b"data")
        assert status == 502 and time.monotonic() - started < 6
        events = await api.audit("object.upload")
        assert [(e.outcome, e.detail.get("error")) for e in events] == [("error", "backend_error")]
