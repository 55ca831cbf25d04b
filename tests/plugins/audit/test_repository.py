"""The SQLite audit repository: batched inserts, NULLs, and keyset streaming across page boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stowage.core.contracts.audit import AuditEvent, AuditFilter, audit_repository, parse_bound
from stowage.plugins.sqlite.audit import PAGE_SIZE
from tests.plugins.audit.helpers import audit_rows

T0 = datetime(2026, 4, 1, tzinfo=UTC)


async def test_insert_batch_returns_ids_in_order_and_stores_empty_as_null(stowage_factory) -> None:
    async with stowage_factory() as stowage:
        repo = audit_repository(stowage.runtime)
        first = await repo.insert_batch(
            [AuditEvent(action="a.one", ts=T0), AuditEvent(action="a.two", ts=T0)]
        )
        second = await repo.insert_batch([AuditEvent(action="a.three", detail={"k": [1, 2]}, ts=T0)])
        assert await repo.insert_batch([]) == []
        rows = await audit_rows(stowage.runtime)
        events, total = await repo.query(AuditFilter(), 10, 0)
    assert first == [1, 2] and second == [3]
    assert [r["action"] for r in rows] == ["a.one", "a.two", "a.three"]
    assert rows[0]["ts"] == "2026-04-01 00:00:00.000000000+00:00"
    assert all(rows[0][c] is None for c in ("user_id", "backend_id", "bucket", "object_key", "ip", "detail"))
    assert rows[2]["detail"] == '{"k":[1,2]}'
    assert total == 3 and events[0].id == 3 and events[0].detail == {"k": [1, 2]} and events[0].ts == T0


async def test_iter_rows_streams_across_pages_with_ties_filters_and_limit(stowage_factory) -> None:
    count = PAGE_SIZE * 2 + 7
    async with stowage_factory() as stowage:
        repo = audit_repository(stowage.runtime)
        await repo.insert_batch(
            [
                AuditEvent(action="even" if i % 2 == 0 else "odd", ts=T0 + timedelta(seconds=i // 4))
                for i in range(count)
            ]
        )
        every = [e.id async for e in repo.iter_rows(AuditFilter())]
        evens = [e.id async for e in repo.iter_rows(AuditFilter(action="ev"))]
        capped = [e.id async for e in repo.iter_rows(AuditFilter(), limit=PAGE_SIZE + 3)]
        dated = [e.id async for e in repo.iter_rows(AuditFilter(until=T0 + timedelta(seconds=1)))]
    assert every == list(range(count, 0, -1))
    assert evens == [i for i in range(count, 0, -1) if i % 2 == 1]  # ids are 1-based
    assert capped == every[: PAGE_SIZE + 3]
    assert dated == [8, 7, 6, 5, 4, 3, 2, 1]


async def test_action_prefix_with_the_highest_code_point(stowage_factory) -> None:
    top = chr(0x10FFFF)
    async with stowage_factory() as stowage:
        repo = audit_repository(stowage.runtime)
        await repo.insert_batch([AuditEvent(action=f"x{top}y", ts=T0), AuditEvent(action="xz", ts=T0)])
        events, total = await repo.query(AuditFilter(action=f"x{top}"), 10, 0)
    assert total == 1 and events[0].action == f"x{top}y"


def test_parse_bound() -> None:
    assert parse_bound("2026-04-01", end=False) == T0
    assert parse_bound("2026-04-01", end=True) == T0 + timedelta(days=1, microseconds=-1)
    assert parse_bound("2026-04-01T02:00:00 02:00", end=False) == T0  # "+" decoded as a space
    for junk in ("", "yesterday", "2026-02-30", "20260401", "2026-04-01 10:00:00"):
        assert parse_bound(junk, end=False) is None
