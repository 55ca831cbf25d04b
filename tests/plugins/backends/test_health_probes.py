"""Backend health: start-up probes, forced probes, the 20-probe ring."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from stowage.core.contracts.backends import RegisteredBackend
from stowage.core.contracts.driver import BackendSpec, Capabilities, ProbeResult
from stowage.core.formats.timefmt import parse_rfc3339
from stowage.plugins.backends.health import probe_all, probe_driver, probe_loop
from stowage.plugins.backends.probe_gate import MIN_INTERVAL
from tests.plugins.backends.endpoint_support import backend_body, closed_port_url, started

CAPABILITY_KEYS = {
    "versioning", "object_lock", "lifecycle", "bucket_policy", "cors", "tagging",
    "server_side_encrypt", "admin_api", "max_multipart_parts", "max_part_size_bytes",
}  # fmt: skip


async def test_backend_that_is_down_shows_unhealthy_with_its_error(stowage_factory, rclone_upstream) -> None:
    yaml = {"backends": [{"id": "gone", "type": "s3v4", "endpoint": closed_port_url(), "path_style": True}]}
    async with started(stowage_factory, yaml) as h:
        # Probed at start-up, before any request.
        status, body = await h.api.call("GET", "/api/backends", role="readonly")
        assert status == 200
        (gone,) = body["backends"]
        assert gone["id"] == "gone" and gone["healthy"] is False and gone["last_error"]
        parse_rfc3339(gone["last_probe_at"])

        down = backend_body(rclone_upstream, "down", endpoint=closed_port_url())
        assert (await h.api.call("POST", "/api/admin/backends", json=down))[0] == 201
        status, forced = await h.api.call("GET", "/api/backends/down/health", role="readonly")
        assert status == 200 and forced["healthy"] is False and forced["last_error"]
        assert set(forced) == {"healthy", "last_probe_at", "last_error"}

        status, body = await h.api.call("GET", "/api/backends", role="user")
        listed = {b["id"]: b for b in body["backends"]}
        assert listed["down"]["healthy"] is False and listed["down"]["last_error"]

        status, body = await h.api.call("GET", "/api/admin/backends/health")
        assert status == 200
        health = {b["id"]: b for b in body["backends"]}
        assert set(health) == {"gone", "down"}
        for item in health.values():
            assert item["healthy"] is False and item["last_error"] and item["history"]
            assert item["history"][-1]["healthy"] is False and item["history"][-1]["error"]
            assert {"id", "name", "latency_ms", "last_probe_at"} <= set(item)
        status, body = await h.api.call("GET", "/api/admin/backends")
        assert {b["id"]: b["healthy"] for b in body["backends"]} == {"gone": False, "down": False}


async def test_healthy_backend_read_api_and_history_ring(stowage_factory, rclone_upstream) -> None:
    async with started(stowage_factory) as h:
        assert (await h.api.call("POST", "/api/admin/backends", json=backend_body(rclone_upstream)))[0] == 201
        runtime, start = h.stowage.runtime, h.stowage.runtime.clock()
        for tick in range(22):
            # A forced probe within MIN_INTERVAL of the last answers the recorded result: step the clock.
            runtime.clock = lambda at=start + (tick + 1) * (MIN_INTERVAL + 1): at
            status, forced = await h.api.call("GET", "/api/backends/ui1/health", role="readonly")
            assert status == 200 and forced["healthy"] is True and forced["last_error"] == ""
        status, one = await h.api.call("GET", "/api/backends/ui1", role="readonly")
        assert status == 200 and one["healthy"] is True and "last_error" not in one
        assert (
            set(one["capabilities"]) == CAPABILITY_KEYS
            and one["capabilities"]["max_multipart_parts"] == 10000
        )
        status, body = await h.api.call("GET", "/api/admin/backends/health")
        (item,) = body["backends"]
        history = item["history"]
        assert len(history) == 20 and all(p["healthy"] for p in history) and "error" not in history[0]
        stamps = [parse_rfc3339(p["at"]) for p in history]
        assert stamps == sorted(stamps)  # oldest first
        status, body = await h.api.call("GET", "/api/backends/nope", role="readonly")
        assert (status, body) == (404, {"error": {"code": "not_found", "message": "backend not found"}})
        assert (await h.api.call("GET", "/api/backends/nope/health", role="readonly"))[0] == 404
        assert (await h.api.call("GET", "/api/backends", role=""))[0] == 401


class _SlowDriver:
    capabilities = Capabilities()

    def __init__(self, delay: float, fail: bool = False) -> None:
        self.delay, self.fail, self.calls = delay, fail, 0

    async def probe(self, timeout: float = 5.0) -> ProbeResult:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("boom")
        return ProbeResult(True, 1.0)


def _entry(backend_id: str, driver: _SlowDriver) -> RegisteredBackend:
    spec = BackendSpec(id=backend_id, name=backend_id, type="fake", endpoint="http://x")
    return RegisteredBackend(spec=spec, driver=driver)  # type: ignore[arg-type]


async def test_probes_run_concurrently_within_the_budget_and_never_raise() -> None:
    entries = [
        _entry("slow", _SlowDriver(30)),
        _entry("fast", _SlowDriver(0)),
        _entry("bad", _SlowDriver(0, True)),
    ]
    registry = SimpleNamespace(all=lambda: entries)
    started_at = time.perf_counter()
    await probe_all(registry, budget=0.3)  # type: ignore[arg-type]
    assert time.perf_counter() - started_at < 2
    assert entries[1].health.healthy is True
    assert entries[2].health.healthy is False and entries[2].health.last_error == "boom"
    timed_out = await probe_driver(_SlowDriver(30), timeout=0.05)  # type: ignore[arg-type]
    assert timed_out.healthy is False and "timed out" in timed_out.error


async def test_probe_loop_probes_every_interval() -> None:
    driver = _SlowDriver(0)
    registry = SimpleNamespace(all=lambda: [_entry("x", driver)])
    task = asyncio.ensure_future(probe_loop(registry, interval=0.05))  # type: ignore[arg-type]
    await asyncio.sleep(0.3)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert driver.calls >= 3
