"""Connections: pragmas, one serialised writer, concurrent WAL readers, lifecycle and file size."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stowage.core.contracts.store import Migration, MigrationSet, StoreError
from stowage.plugins.sqlite import SqliteStore
from stowage.plugins.sqlite.connection import READER_POOL_SIZE, SqliteDatabase, connect

ITEMS = MigrationSet("demo", (Migration(1, "items", "CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)"),))
SLOW_QUERY = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 300000) SELECT count(*) FROM c"
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "stowage.db")
    await s.open()
    await s.apply_migrations([ITEMS])
    yield s
    await s.close()


async def _count(store: SqliteStore) -> int:
    row = await store.db.fetchone("SELECT count(*) AS n FROM items")
    assert row is not None
    return int(row["n"])


@pytest.mark.parametrize("reader", [False, True])
async def test_every_connection_gets_the_pragmas(tmp_path: Path, reader: bool) -> None:
    conn = await connect(tmp_path / "stowage.db", reader=reader)
    try:
        values = {}
        for pragma in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous", "query_only"):
            async with conn.execute(f"PRAGMA {pragma}") as cur:
                row = await cur.fetchone()
                assert row is not None
                values[pragma] = row[0]
        assert values == {
            "journal_mode": "wal",
            "busy_timeout": 5000,
            "foreign_keys": 1,
            "synchronous": 1,  # NORMAL
            "query_only": int(reader),
        }
    finally:
        await conn.close()


async def test_writer_pragmas_through_the_store(store: SqliteStore) -> None:
    async with store.db.transaction() as tx:
        row = await tx.fetchone("PRAGMA foreign_keys")
        assert row is not None and row[0] == 1


async def test_readers_cannot_write(store: SqliteStore) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await store.db.fetchall("INSERT INTO items (v) VALUES ('x') RETURNING id")


async def test_missing_parent_directory_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "stowage.db"
    with pytest.raises(StoreError) as info:
        await SqliteStore(path).open()
    assert str(path.parent) in str(info.value) and "does not exist" in str(info.value)


async def test_non_database_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "stowage.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=str(path)):
        await SqliteStore(path).open()


def test_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = SqliteStore("data.db")
    assert store.path == tmp_path / "data.db" and store.path.is_absolute()


async def test_reads_proceed_during_a_long_write_transaction(store: SqliteStore) -> None:
    await store.db.execute("INSERT INTO items (v) VALUES ('before')")
    async with store.db.transaction() as tx:
        await tx.executemany("INSERT INTO items (v) VALUES (?)", [(f"in-{i}",) for i in range(100)])
        # Inside the open transaction the writer sees its own rows…
        row = await tx.fetchone("SELECT count(*) FROM items")
        assert row is not None and row[0] == 101
        # …while readers (several at once, more than the pool) see the last commit and never wait.
        counts = await asyncio.wait_for(asyncio.gather(*(_count(store) for _ in range(10))), timeout=5)
        assert counts == [1] * 10
    assert await _count(store) == 101


async def test_writes_are_serialised_behind_a_transaction(store: SqliteStore) -> None:
    order: list[str] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with store.db.transaction() as tx:
            await tx.execute("INSERT INTO items (v) VALUES ('first')")
            order.append("holder-wrote")
            await release.wait()
        order.append("holder-committed")

    async def other() -> None:
        await store.db.execute("INSERT INTO items (v) VALUES ('second')")
        order.append("other-wrote")

    t1 = asyncio.create_task(holder())
    await asyncio.sleep(0.05)
    t2 = asyncio.create_task(other())
    await asyncio.sleep(0.1)
    assert order == ["holder-wrote"]  # the second writer waits for the transaction
    release.set()
    await asyncio.gather(t1, t2)
    assert order == ["holder-wrote", "holder-committed", "other-wrote"]
    rows = await store.db.fetchall("SELECT v FROM items ORDER BY id")
    assert [r["v"] for r in rows] == ["first", "second"]


async def test_concurrent_read_modify_write_loses_nothing(store: SqliteStore) -> None:
    await store.db.execute("INSERT INTO items (id, v) VALUES (1, '0')")

    async def bump() -> None:
        async with store.db.transaction() as tx:
            row = await tx.fetchone("SELECT v FROM items WHERE id = 1")
            assert row is not None
            await asyncio.sleep(0)  # give other tasks every chance to interleave
            await tx.execute("UPDATE items SET v = ? WHERE id = 1", (str(int(row["v"]) + 1),))

    await asyncio.gather(*(bump() for _ in range(50)))
    row = await store.db.fetchone("SELECT v FROM items WHERE id = 1")
    assert row is not None and row["v"] == "50"


async def test_exception_rolls_the_transaction_back(store: SqliteStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.db.transaction() as tx:
            await tx.execute("INSERT INTO items (v) VALUES ('doomed')")
            raise RuntimeError("boom")
    assert await _count(store) == 0
    assert await store.db.execute("INSERT INTO items (v) VALUES ('after')") == 1


async def test_cancelled_transaction_rolls_back_and_frees_the_writer(store: SqliteStore) -> None:
    started = asyncio.Event()

    async def victim() -> None:
        async with store.db.transaction() as tx:
            await tx.execute("INSERT INTO items (v) VALUES ('cancelled')")
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(victim())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.db.execute("INSERT INTO items (v) VALUES ('next')") == 1
    rows = await store.db.fetchall("SELECT v FROM items")
    assert [r["v"] for r in rows] == ["next"]


async def test_using_the_database_for_writes_inside_its_transaction_is_refused(store: SqliteStore) -> None:
    async with store.db.transaction() as tx:
        with pytest.raises(StoreError, match="inside its own transaction"):
            await store.db.execute("INSERT INTO items (v) VALUES ('x')")
        await tx.execute("INSERT INTO items (v) VALUES ('y')")
    assert await _count(store) == 1


async def test_handle_is_dead_after_the_transaction(store: SqliteStore) -> None:
    async with store.db.transaction() as tx:
        pass
    with pytest.raises(StoreError, match="after the transaction ended"):
        await tx.execute("INSERT INTO items (v) VALUES ('late')")


async def test_returning_and_rowcounts(store: SqliteStore) -> None:
    async with store.db.transaction() as tx:
        row = await tx.fetchone("INSERT INTO items (v) VALUES (:v) RETURNING id", {"v": "a"})
        assert row is not None and row["id"] == 1
        assert await tx.executemany("INSERT INTO items (v) VALUES (?)", [("b",), ("c",)]) == 2
    assert await store.db.execute("UPDATE items SET v = 'z'") == 3
    assert await store.db.executemany("DELETE FROM items WHERE id = ?", [(1,), (2,), (99,)]) == 2
    row = await store.db.fetchone("SELECT id, v FROM items")
    assert row is not None and row.keys() == ["id", "v"] and (row["id"], row[1]) == (3, "z")
    assert await store.db.fetchone("SELECT * FROM items WHERE id = 42") is None


async def test_reader_pool_is_bounded(store: SqliteStore) -> None:
    await asyncio.gather(*(store.db.fetchall(SLOW_QUERY) for _ in range(3 * READER_POOL_SIZE)))
    db = store.db
    assert isinstance(db, SqliteDatabase)
    assert 1 <= len(db._readers) <= READER_POOL_SIZE


async def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "stowage.db")
    await store.open()
    db = store.db
    await db.fetchall("SELECT 1")
    await store.close()
    await store.close()
    with pytest.raises(StoreError, match="not open"):
        _ = store.db
    with pytest.raises(StoreError, match="closed"):
        await db.fetchall("SELECT 1")
    # The last connection checkpointed and removed the WAL: the main file is the database.
    assert sorted(os.listdir(tmp_path)) == ["stowage.db"]


async def test_db_bytes_is_the_main_file_only(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "stowage.db")
    assert store.db_bytes() == 0
    await store.open()
    try:
        await store.apply_migrations([ITEMS])
        await store.db.executemany("INSERT INTO items (v) VALUES (?)", [("x" * 1000,) for _ in range(200)])
        wal = tmp_path / "stowage.db-wal"
        assert wal.stat().st_size > 0  # WAL holds data not yet checkpointed: it must not be counted
        assert store.db_bytes() == os.path.getsize(tmp_path / "stowage.db")
    finally:
        await store.close()
    assert store.db_bytes() == os.path.getsize(tmp_path / "stowage.db") > 200 * 1000
