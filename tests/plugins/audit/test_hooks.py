"""The audit hooks over a real server and database: sampling decisions and the export hook."""

from __future__ import annotations

import json
import logging
import shutil
import types
from pathlib import Path

import aiohttp
from quart import Blueprint

from stowage.core.contracts.audit import AuditEvent, audit_request, recorder
from stowage.hooks import hookimpl
from tests.plugins.audit.helpers import ADMIN, AUTH_PLUGIN, audit_rows

REPO = Path(__file__).resolve().parents[3]
RATE_ZERO = {"audit": {"sampling": {"proxy_success_read_rate": 0.0}}}


async def test_hook_stowage_audit_sample(stowage_factory) -> None:
    asked: list[str] = []

    @hookimpl(tryfirst=True)
    def veto(event):
        return False if event.action == "custom.noise" else None

    @hookimpl
    async def no_opinion(event, runtime):
        asked.append(event.action)
        return None  # an awaited None passes to the next sampler: the built-in default

    plugins = [
        ("veto", types.SimpleNamespace(stowage_audit_sample=veto)),
        ("no_opinion", types.SimpleNamespace(stowage_audit_sample=no_opinion)),
    ]
    async with stowage_factory(RATE_ZERO, plugins=plugins) as stowage:
        rec = recorder(stowage.runtime)
        rec.record(AuditEvent(action="custom.noise"))  # the default would keep it
        rec.record(AuditEvent(action="custom.kept"))
        rec.record(AuditEvent(action="s3.proxy.getobject", origin="proxy", method="GET"))
        rec.record(AuditEvent(action="s3.proxy.headobject", origin="proxy", method="HEAD"))
        rec.record(AuditEvent(action="s3.proxy.putobject", origin="proxy", method="PUT"))
        rec.record(AuditEvent(action="s3.proxy.getobject", origin="proxy", method="GET", outcome="denied"))
        rec.record(AuditEvent(action="s3.proxy.getobject", origin="proxy", method="GET", outcome="error"))
        await rec.flush()
        rows = await audit_rows(stowage.runtime)
    assert [(r["action"], r["status"]) for r in rows] == [
        ("custom.kept", "ok"),
        ("s3.proxy.putobject", "ok"),
        ("s3.proxy.getobject", "denied"),
        ("s3.proxy.getobject", "error"),
    ]
    assert "custom.noise" not in asked  # the tryfirst veto answered first
    assert asked.count("s3.proxy.getobject") == 3


async def test_sampling_rate_one_keeps_successful_proxy_reads(stowage_factory) -> None:
    settings = {"audit": {"sampling": {"proxy_success_read_rate": 1.0}}}
    async with stowage_factory(settings) as stowage:
        rec = recorder(stowage.runtime)
        for _ in range(5):
            rec.record(AuditEvent(action="s3.proxy.getobject", origin="proxy", method="GET"))
        await rec.flush()
        assert len(await audit_rows(stowage.runtime)) == 5


async def test_dashboard_events_are_never_sampled(stowage_factory) -> None:
    probe = Blueprint("probe", __name__)

    @probe.get("/api/probe")
    async def probe_view():
        audit_request("probe.read", bucket="b1", detail={"n": 1})
        return {"ok": True}

    plugins = [
        AUTH_PLUGIN,
        ("probe", types.SimpleNamespace(stowage_blueprints=hookimpl(lambda runtime: probe))),
    ]
    async with stowage_factory(RATE_ZERO, plugins=plugins) as stowage, aiohttp.ClientSession() as http:
        headers = {**ADMIN, "User-Agent": "probe-agent/1", "X-Request-Id": "req-42"}
        async with http.get(stowage.dashboard_url + "/api/probe", headers=headers) as response:
            assert response.status == 200
        rec = recorder(stowage.runtime)
        rec.record(AuditEvent(action="dashboard.read", origin="dashboard", method="GET"))
        await rec.flush()
        rows = await audit_rows(stowage.runtime)
    assert [r["action"] for r in rows] == ["probe.read", "dashboard.read"]
    first = rows[0]
    assert (first["user_id"], first["request_id"], first["ip"]) == ("test-admin", "req-42", "127.0.0.1")
    assert (first["user_agent"], first["bucket"], first["detail"]) == ("probe-agent/1", "b1", '{"n":1}')
    assert first["backend_id"] is None and first["object_key"] is None  # empty strings stored as NULL


async def test_hook_stowage_audit_export(stowage_factory, tmp_path, caplog) -> None:
    folder = tmp_path / "node"
    (folder / "plugins.d").mkdir(parents=True)
    shutil.copy(REPO / "plugins.d" / "audit_jsonl.py", folder / "plugins.d" / "audit_jsonl.py")
    jsonl = tmp_path / "audit.jsonl"
    received: list[list[AuditEvent]] = []

    @hookimpl
    def explode(events):
        raise RuntimeError("exporter down")

    @hookimpl
    async def collect(events, runtime):
        received.append(list(events))

    plugins = [
        ("collector", types.SimpleNamespace(stowage_audit_export=collect)),
        # Registered last, so called first: its failure must not stop the others.
        ("exploder", types.SimpleNamespace(stowage_audit_export=explode)),
    ]
    settings = {**RATE_ZERO, "plugins": {"audit_jsonl": {"path": str(jsonl)}}}
    caplog.set_level(logging.ERROR, logger="stowage")
    async with stowage_factory(settings, plugins=plugins, directory=folder) as stowage:
        assert stowage.runtime.pm.has_plugin("plugins.d/audit_jsonl")
        rec = recorder(stowage.runtime)
        for i in range(600):  # more than two batches of 256
            proxy_read = i % 3 == 0  # sampled out at rate 0: never committed, never exported
            rec.record(
                AuditEvent(action=f"test.{i}", origin="proxy" if proxy_read else "dashboard", method="GET")
            )
        await rec.flush()
        rows = await audit_rows(stowage.runtime)

    assert len(rows) == 400
    exported = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [(e["id"], e["action"]) for e in exported] == [(r["id"], r["action"]) for r in rows]
    assert all(e["status"] == "ok" and e["timestamp"].endswith("Z") for e in exported)
    assert len(received) >= 2  # one call per committed batch
    assert [(e.id, e.action) for batch in received for e in batch] == [(r["id"], r["action"]) for r in rows]
    assert any("plugin hook failed" in r.getMessage() for r in caplog.records)


async def test_example_exporter_does_nothing_without_a_path(stowage_factory, tmp_path) -> None:
    folder = tmp_path / "node"
    (folder / "plugins.d").mkdir(parents=True)
    shutil.copy(REPO / "plugins.d" / "audit_jsonl.py", folder / "plugins.d" / "audit_jsonl.py")
    async with stowage_factory(directory=folder) as stowage:
        rec = recorder(stowage.runtime)
        rec.record(AuditEvent(action="test.unexported"))
        await rec.flush()
        assert len(await audit_rows(stowage.runtime)) == 1
    assert list(folder.glob("*.jsonl")) == [] and list(tmp_path.glob("*.jsonl")) == []
