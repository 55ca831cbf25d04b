"""The migration runner: idempotence, refusal of a database that is ahead, plugin sets, rollback."""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stowage.core.contracts.store import (
    DatabaseAheadError,
    Migration,
    MigrationError,
    MigrationSet,
    StoreError,
)
from stowage.core.formats.timefmt import parse_ts
from stowage.plugins.sqlite import CORE_MIGRATIONS, CORE_SET, SqliteStore
from stowage.plugins.sqlite.migration_runner import split_statements

DEMO_V1 = Migration(1, "notes", "CREATE TABLE demo_notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);")
DEMO_V2 = Migration(
    2, "notes_tag", "ALTER TABLE demo_notes ADD COLUMN tag TEXT; CREATE INDEX demo_tag ON demo_notes (tag);"
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "stowage.db")
    await s.open()
    yield s
    await s.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _tables(store: SqliteStore) -> set[str]:
    return {r["name"] for r in await store.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}


async def test_first_run_applies_all_second_run_applies_nothing(store: SqliteStore, tmp_path: Path) -> None:
    first = await store.apply_migrations([CORE_SET])
    assert [(a.plugin, a.version, a.name) for a in first] == [
        ("core", m.version, m.name) for m in CORE_MIGRATIONS
    ]
    assert await store.apply_migrations([CORE_SET]) == []
    await store.close()
    again = SqliteStore(tmp_path / "stowage.db")
    await again.open()
    try:
        assert await again.apply_migrations([CORE_SET]) == []
    finally:
        await again.close()


async def test_applied_at_is_canonical_text(store: SqliteStore) -> None:
    await store.apply_migrations([CORE_SET])
    for row in await store.db.fetchall("SELECT applied_at FROM schema_migrations"):
        text = row["applied_at"]
        assert len(text) == 35 and text.endswith("+00:00")
        parse_ts(text)


async def test_each_migration_is_logged(store: SqliteStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="stowage.store")
    await store.apply_migrations([CORE_SET, MigrationSet("demo", (DEMO_V1,))])
    records = [r for r in caplog.records if r.getMessage() == "migration applied"]
    got = [(r.plugin, r.version, r.migration) for r in records]  # type: ignore[attr-defined]
    assert got == [("core", m.version, m.name) for m in CORE_MIGRATIONS] + [("demo", 1, "notes")]


async def test_database_ahead_is_refused_without_touching_the_file(
    store: SqliteStore, tmp_path: Path
) -> None:
    await store.apply_migrations([CORE_SET])
    await store.db.execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'from_the_future')")
    await store.close()
    path = tmp_path / "stowage.db"
    assert not Path(f"{path}-wal").exists()  # checkpointed on close: the main file is the whole state
    before = _digest(path)

    later = SqliteStore(path)
    await later.open()
    try:
        with pytest.raises(DatabaseAheadError) as info:
            await later.apply_migrations([CORE_SET, MigrationSet("demo", (DEMO_V1,))])
    finally:
        await later.close()
    assert str(info.value) == (
        "database is newer than this Stowage: it records migration 99 (from_the_future) "
        "that this build does not have"
    )
    assert _digest(path) == before
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'demo_notes'").fetchone() is None
    conn.close()


async def test_original_database_ahead_without_plugin_table_is_left_unchanged(tmp_path: Path) -> None:
    """A newer original wrote version 12 and has never seen plugin_migrations: create nothing."""
    path = tmp_path / "stowage.db"
    first = SqliteStore(path)
    await first.open()
    await first.apply_migrations([CORE_SET])
    await first.db.execute("DROP TABLE plugin_migrations")
    await first.db.execute("INSERT INTO schema_migrations (version, name) VALUES (12, 'next_feature')")
    await first.close()
    before = _digest(path)
    store = SqliteStore(path)
    await store.open()
    try:
        with pytest.raises(DatabaseAheadError, match=r"migration 12 \(next_feature\)"):
            await store.apply_migrations([CORE_SET])
        assert "plugin_migrations" not in await _tables(store)
    finally:
        await store.close()
    assert _digest(path) == before


async def test_plugin_migrations_are_recorded_per_plugin(store: SqliteStore) -> None:
    applied = await store.apply_migrations([MigrationSet("demo", (DEMO_V1,)), CORE_SET])
    assert [(a.plugin, a.version) for a in applied][-1] == ("demo", 1)
    assert applied[0].plugin == "core"  # core first, whatever order the sets arrive in
    applied = await store.apply_migrations([CORE_SET, MigrationSet("demo", (DEMO_V1, DEMO_V2))])
    assert [(a.plugin, a.version, a.name) for a in applied] == [("demo", 2, "notes_tag")]
    rows = await store.db.fetchall("SELECT plugin, version, name FROM plugin_migrations ORDER BY version")
    assert [tuple(r) for r in rows] == [("demo", 1, "notes"), ("demo", 2, "notes_tag")]
    core = await store.db.fetchall("SELECT version FROM schema_migrations")
    assert max(r["version"] for r in core) == 11  # plugin versions never land in schema_migrations


async def test_unknown_plugin_version_is_refused(store: SqliteStore) -> None:
    await store.apply_migrations([CORE_SET, MigrationSet("demo", (DEMO_V1, DEMO_V2))])
    with pytest.raises(DatabaseAheadError) as info:
        await store.apply_migrations([CORE_SET, MigrationSet("demo", (DEMO_V1,))])
    assert info.value.plugin == "demo" and info.value.version == 2
    assert "migration 2 (notes_tag) of plugin 'demo'" in str(info.value)
    # A plugin that is not loaded this time (disabled) is not judged: its rows are left alone.
    assert await store.apply_migrations([CORE_SET]) == []


async def test_failing_migration_rolls_back_completely(store: SqliteStore) -> None:
    broken = Migration(
        3,
        "broken",
        "CREATE TABLE demo_half (x INTEGER); INSERT INTO demo_half VALUES (1);\n"
        "INSERT INTO missing VALUES (1);",
    )
    with pytest.raises(MigrationError) as info:
        await store.apply_migrations([MigrationSet("demo", (DEMO_V1, DEMO_V2, broken))])
    assert str(info.value) == "migrate: plugin demo: migration 3 (broken): no such table: missing"
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    tables = await _tables(store)
    assert "demo_notes" in tables and "demo_half" not in tables
    rows = await store.db.fetchall("SELECT version FROM plugin_migrations WHERE plugin = 'demo'")
    assert [r["version"] for r in rows] == [1, 2]
    # The writer is usable afterwards: no transaction was left open.
    assert await store.db.execute("INSERT INTO demo_notes (body) VALUES ('ok')") == 1


async def test_failing_core_migration_message(store: SqliteStore) -> None:
    bad = MigrationSet("core", (*CORE_MIGRATIONS, Migration(12, "broken", "CREATE TABLE users (id TEXT);")))
    with pytest.raises(MigrationError) as info:
        await store.apply_migrations([bad])
    assert str(info.value) == "migrate: migration 12 (broken): table users already exists"
    rows = await store.db.fetchall("SELECT max(version) AS v FROM schema_migrations")
    assert rows[0]["v"] == 11


async def test_failing_alter_leaves_no_column(store: SqliteStore) -> None:
    """DDL is rolled back too, not just data: the ALTER of a failed step must disappear."""
    await store.apply_migrations([MigrationSet("demo", (DEMO_V1,))])
    bad = Migration(
        2, "half_alter", "ALTER TABLE demo_notes ADD COLUMN extra TEXT; SELECT no_such_function();"
    )
    with pytest.raises(MigrationError):
        await store.apply_migrations([MigrationSet("demo", (DEMO_V1, bad))])
    cols = [r["name"] for r in await store.db.fetchall("PRAGMA table_info(demo_notes)")]
    assert cols == ["id", "body"]


async def test_status_reports_applied_pending_and_unknown(store: SqliteStore) -> None:
    sets = [CORE_SET, MigrationSet("demo", (DEMO_V1, DEMO_V2))]
    status = await store.migration_status(sets)
    assert [(s.plugin, len(s.applied), len(s.pending)) for s in status] == [("core", 0, 11), ("demo", 0, 2)]
    assert "schema_migrations" not in await _tables(store)  # status never writes

    await store.apply_migrations([CORE_SET, MigrationSet("demo", (DEMO_V1,))])
    core, demo = await store.migration_status(sets)
    assert core.pending == () and [a.version for a in core.applied] == list(range(1, 12))
    assert all(a.applied_at is not None for a in core.applied)
    assert [a.version for a in demo.applied] == [1] and demo.pending == (DEMO_V2,)

    await store.db.execute("INSERT INTO schema_migrations (version, name) VALUES (40, 'future')")
    (core, _demo) = await store.migration_status(sets)
    assert [(u.version, u.name) for u in core.unknown] == [(40, "future")]
    assert core.unknown[0].applied_at is not None  # CURRENT_TIMESTAMP default, read as UTC


async def test_database_written_the_original_way_opens_unchanged(tmp_path: Path) -> None:
    """Rows recorded with CURRENT_TIMESTAMP and Go-style timestamps are read; nothing is re-applied."""
    path = tmp_path / "stowage.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    for m in CORE_MIGRATIONS:
        conn.execute("BEGIN")
        for statement in split_statements(m.sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (m.version, m.name))
        conn.execute("COMMIT")
    conn.execute(
        "INSERT INTO sessions (id, user_id, identity_source, csrf_token, created_at, last_seen_at,"
        " expires_at) VALUES ('s', 'u', 'local', 'c', ?, ?, ?)",
        ("2026-04-26 02:06:35.123456789+00:00", "2026-04-26 02:06:35+00:00", "2026-04-27 02:06:35.5+00:00"),
    )
    conn.close()
    store = SqliteStore(path)
    await store.open()
    try:
        assert await store.apply_migrations([CORE_SET]) == []
        (core,) = await store.migration_status([CORE_SET])
        assert len(core.applied) == 11 and core.pending == ()
        row = await store.db.fetchone("SELECT * FROM sessions")
        assert row is not None
        assert parse_ts(row["expires_at"]) > parse_ts(row["created_at"])
    finally:
        await store.close()


def test_split_statements_respects_quotes_comments_and_triggers() -> None:
    script = """
        CREATE TABLE a (x TEXT DEFAULT 'semi;colon'); -- a comment; with a semicolon
        CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = 'y;'; SELECT 1; END;
        /* block; comment */ INSERT INTO a VALUES ('z');
    """
    parts = split_statements(script)
    assert len(parts) == 3
    assert parts[1].endswith("END;") and "SELECT 1;" in parts[1]
    conn = sqlite3.connect(":memory:")
    for p in parts:
        conn.execute(p)
    assert conn.execute("SELECT x FROM a").fetchall() == [("y;",)]
    conn.close()


def test_migration_set_validates_order() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        MigrationSet("demo", (DEMO_V2, DEMO_V1))
    with pytest.raises(ValueError, match="strictly increasing"):
        MigrationSet("demo", (Migration(0, "zero", ""),))
    with pytest.raises(ValueError):
        MigrationSet("", ())


async def test_duplicate_plugin_sets_are_refused(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="more than one"):
        await store.apply_migrations([MigrationSet("demo", (DEMO_V1,)), MigrationSet("demo", ())])


async def test_store_not_open_is_a_clear_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "stowage.db")
    with pytest.raises(StoreError, match="not open"):
        await store.apply_migrations([CORE_SET])
    assert not os.path.exists(tmp_path / "stowage.db")
