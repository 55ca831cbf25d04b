"""The dashboard listener's cross-cutting behaviour, over real HTTP on loopback."""

from __future__ import annotations

import os
import types

import aiohttp
from quart import Blueprint

from stowage.core.web.authz import public
from stowage.hooks import hookimpl

failing = Blueprint("failing", __name__)


@failing.get("/api/explode")
@public
async def explode():
    raise RuntimeError("secret detail that must not leak")


FAILING_PLUGIN = types.SimpleNamespace(stowage_blueprints=hookimpl(lambda runtime: failing))


async def test_health_and_readiness(stowage_factory) -> None:
    async with stowage_factory() as stowage, aiohttp.ClientSession() as http:
        for path, body in (("/healthz", {"status": "ok"}), ("/readyz", {"status": "ready"})):
            async with http.get(stowage.dashboard_url + path) as response:
                assert response.status == 200
                assert await response.json() == body
                assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert response.headers["Referrer-Policy"] == "same-origin"
                assert "Strict-Transport-Security" not in response.headers  # plain HTTP


async def test_metrics_report_database_size_at_scrape_time(stowage_factory) -> None:
    async with stowage_factory() as stowage, aiohttp.ClientSession() as http:
        db_path = stowage.runtime.settings.db.sqlite.path
        await stowage.runtime.store.db.execute("CREATE TABLE filler(x BLOB)")
        await stowage.runtime.store.db.execute("INSERT INTO filler VALUES (zeroblob(200000))")
        await stowage.runtime.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        async with http.get(stowage.dashboard_url + "/metrics") as response:
            text = await response.text()
        line = next(x for x in text.splitlines() if x.startswith("stowage_sqlite_db_bytes "))
        assert float(line.split()[1]) == os.path.getsize(db_path)
        assert os.path.getsize(db_path) > 200000
        assert "process_cpu_seconds_total" in text
        assert "python_info" in text


async def test_request_ids_are_reused_or_generated(stowage_factory) -> None:
    async with stowage_factory() as stowage, aiohttp.ClientSession() as http:
        async with http.get(stowage.dashboard_url + "/healthz", headers={"X-Request-Id": "abc-123"}) as r:
            assert r.headers["X-Request-Id"] == "abc-123"
        async with http.get(stowage.dashboard_url + "/healthz") as r:
            generated = r.headers["X-Request-Id"]
        async with http.get(stowage.dashboard_url + "/healthz") as r:
            assert len(generated) == 16
            assert r.headers["X-Request-Id"] != generated


async def test_unhandled_exception_becomes_json_500_without_details(stowage_factory, caplog) -> None:
    async with (
        stowage_factory(plugins=[("failing", FAILING_PLUGIN)]) as stowage,
        aiohttp.ClientSession() as http,
    ):
        async with http.get(stowage.dashboard_url + "/api/explode") as response:
            assert response.status == 500
            body = await response.json()
        async with http.get(stowage.dashboard_url + "/healthz") as again:
            assert again.status == 200  # the process keeps serving
    assert body == {"error": {"code": "internal", "message": "internal error"}}
    assert "secret detail" not in str(body)


async def test_unknown_paths_and_methods_are_json_errors(stowage_factory) -> None:
    async with stowage_factory() as stowage, aiohttp.ClientSession() as http:
        async with http.get(stowage.dashboard_url + "/no/such/thing") as response:
            assert response.status == 404
            assert await response.json() == {"error": {"code": "not_found", "message": "resource not found"}}
        async with http.post(stowage.dashboard_url + "/healthz") as response:
            assert response.status == 405
            assert (await response.json())["error"]["code"] == "method_not_allowed"
            assert "GET" in response.headers["Allow"]


async def test_metrics_count_api_requests_by_status_class(stowage_factory) -> None:
    async with (
        stowage_factory(plugins=[("failing", FAILING_PLUGIN)]) as stowage,
        aiohttp.ClientSession() as http,
    ):
        for _ in range(2):
            async with http.get(stowage.dashboard_url + "/api/explode"):
                pass
        async with http.get(stowage.dashboard_url + "/healthz"):
            pass
        async with http.get(stowage.dashboard_url + "/metrics") as response:
            text = await response.text()
    assert 'stowage_requests_total{backend="",method="GET",status_class="5xx"} 2.0' in text
    assert 'status_class="2xx"' not in text  # /healthz is not an /api route


async def test_trusted_proxy_controls_effective_client_address(stowage_factory) -> None:
    seen: list[str] = []
    probe = Blueprint("probe", __name__)

    @probe.get("/probe")
    async def remote():
        from stowage.core.web.request_context import client_ip

        seen.append(client_ip())
        return {"ok": True}

    plugin = types.SimpleNamespace(stowage_blueprints=hookimpl(lambda runtime: probe))
    headers = {"X-Forwarded-For": "203.0.113.9, 10.0.0.1"}
    for trusted, expected in ((["10.0.0.0/8"], "127.0.0.1"), (["127.0.0.1"], "203.0.113.9")):
        settings = {"server": {"trusted_proxies": trusted}}
        async with (
            stowage_factory(settings, plugins=[("probe", plugin)]) as stowage,
            aiohttp.ClientSession() as http,
        ):
            async with http.get(stowage.dashboard_url + "/probe", headers=headers) as response:
                assert response.status == 200
        assert seen[-1] == expected


async def test_api_routes_require_authentication_unless_public(stowage_factory) -> None:
    guarded = Blueprint("guarded", __name__)

    @guarded.get("/api/private")
    async def private():
        return {"secret": True}

    plugin = types.SimpleNamespace(stowage_blueprints=hookimpl(lambda runtime: guarded))
    async with stowage_factory(plugins=[("guarded", plugin)]) as stowage, aiohttp.ClientSession() as http:
        async with http.get(stowage.dashboard_url + "/api/private") as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "unauthorized"
