"""The queue recorder: overflow is counted and reported, write failures are survived, and a
graceful shutdown writes every accepted event before the store closes."""

from __future__ import annotations

import logging
import sqlite3
import types

import aiohttp

from stowage.core.contracts.audit import AuditEvent, audit_repository, recorder
from stowage.hooks import hookimpl
from tests.plugins.audit.helpers import audit_rows


def metric(text: str, name: str) -> float:
    line = next((x for x in text.splitlines() if x.startswith(name + " ") or x.startswith(name + "{")), None)
    return float(line.rsplit(" ", 1)[1]) if line else 0.0


async def scrape(http, stowage) -> str:
    async with http.get(stowage.dashboard_url + "/metrics") as response:
        return await response.text()


async def test_full_queue_drops_counts_warns_and_keeps_serving(stowage_factory, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="stowage.audit")
    async with stowage_factory({"audit": {"queue_size": 10}}) as stowage, aiohttp.ClientSession() as http:
        rec = recorder(stowage.runtime)
        # A tight loop never yields, so the writer cannot drain: everything past 10 overflows.
        for i in range(1000):
            rec.record(AuditEvent(action=f"burst.{i}"))
        text = await scrape(http, stowage)
        assert metric(text, 'stowage_audit_dropped_total{reason="queue_full"}') == 990
        async with http.get(stowage.dashboard_url + "/healthz") as response:
            assert response.status == 200
        await rec.flush()
        rows = await audit_rows(stowage.runtime)
        assert [r["action"] for r in rows] == [f"burst.{i}" for i in range(10)]
        assert metric(await scrape(http, stowage), "stowage_audit_queue_depth") == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # Once a minute at most: one warning at the first drop, one with the rest at shutdown.
    assert warnings[0] == "audit events dropped: 1 since the last warning, 1 in total"
    assert warnings[1:] == ["audit events dropped: 989 since the last warning, 990 in total"]


async def test_queue_depth_gauge_counts_waiting_events(stowage_factory) -> None:
    async with stowage_factory() as stowage:
        rec = recorder(stowage.runtime)
        for _ in range(25):
            rec.record(AuditEvent(action="waiting"))
        assert stowage.runtime.registry.get_sample_value("stowage_audit_queue_depth") == 25
        await rec.flush()
        assert stowage.runtime.registry.get_sample_value("stowage_audit_queue_depth") == 0


async def test_write_failure_is_logged_counted_and_survived(stowage_factory, caplog, monkeypatch) -> None:
    caplog.set_level(logging.ERROR, logger="stowage.audit")
    async with stowage_factory() as stowage:
        repo = audit_repository(stowage.runtime)
        real_insert = repo.insert_batch

        async def broken(events):
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(repo, "insert_batch", broken)
        rec = recorder(stowage.runtime)
        for i in range(3):
            rec.record(AuditEvent(action=f"lost.{i}"))
        await rec.flush()
        monkeypatch.setattr(repo, "insert_batch", real_insert)
        rec.record(AuditEvent(action="kept"))
        await rec.flush()  # the writer task is still alive
        assert [r["action"] for r in await audit_rows(stowage.runtime)] == ["kept"]
        registry = stowage.runtime.registry
        assert registry.get_sample_value("stowage_audit_dropped_total", {"reason": "write_failed"}) == 3
    assert any("audit batch write failed" in r.getMessage() for r in caplog.records)


async def test_graceful_shutdown_writes_every_accepted_event(stowage_factory, tmp_path) -> None:
    @hookimpl
    def stowage_shutdown(runtime):
        # Registered after the audit plugin, this hook may run after audit's own shutdown hook
        # has flushed (it does with today's order); its event must still be written.
        recorder(runtime).record(AuditEvent(action="late.shutdown"))

    late = types.SimpleNamespace(stowage_shutdown=stowage_shutdown)
    folder = tmp_path / "node"
    n = 3000
    async with stowage_factory(plugins=[("late", late)], directory=folder) as stowage:
        rec = recorder(stowage.runtime)
        for i in range(n):
            rec.record(AuditEvent(action=f"load.{i}"))
        db_path = stowage.runtime.settings.db.sqlite.path
    # The block has exited: listeners drained, plugins shut down, store closed.
    with sqlite3.connect(db_path) as conn:
        count = conn.execute("SELECT count(*) FROM audit_events WHERE action LIKE 'load.%'").fetchone()[0]
        late_rows = conn.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'late.shutdown'"
        ).fetchone()[0]
    assert count == n
    assert late_rows == 1
    rec.record(AuditEvent(action="after.close"))  # never raises once closed; just counted
    assert stowage.runtime.registry.get_sample_value("stowage_audit_dropped_total", {"reason": "closed"}) == 1


async def test_sampled_out_reads_never_take_queue_slots(stowage_factory) -> None:
    # With only the built-in sampler, the decision is made before queueing.
    async with stowage_factory({"audit": {"queue_size": 10}}) as stowage:
        rec = recorder(stowage.runtime)
        for i in range(1000):
            rec.record(AuditEvent(action="s3.proxy.getobject", origin="proxy", method="GET"))
            if i % 200 == 0:
                rec.record(AuditEvent(action="s3.proxy.putobject", origin="proxy", method="PUT"))
        await rec.flush()
        rows = await audit_rows(stowage.runtime)
        dropped = stowage.runtime.registry.get_sample_value(
            "stowage_audit_dropped_total", {"reason": "queue_full"}
        )
    assert [r["action"] for r in rows] == ["s3.proxy.putobject"] * 5
    assert not dropped
