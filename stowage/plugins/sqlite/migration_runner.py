"""The migration runner: refuse a database that is ahead, then apply each pending step atomically.

Core migrations are recorded in ``schema_migrations`` (the original's table); every other plugin's in
``plugin_migrations``, keyed by plugin name. A step's statements and its record row commit together
in one ``BEGIN IMMEDIATE`` transaction, so a failing step leaves neither its schema changes nor its
row behind (SQLite DDL is transactional; ``executescript`` is avoided because it commits first).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from datetime import datetime

import aiosqlite

from stowage.core.contracts.store import (
    CORE_PLUGIN,
    AppliedMigration,
    Database,
    DatabaseAheadError,
    Migration,
    MigrationError,
    MigrationSet,
    MigrationStatus,
    Row,
    StoreError,
)
from stowage.core.formats.timefmt import format_ts, parse_ts, utcnow
from stowage.plugins.sqlite.connection import SqliteDatabase, rollback
from stowage.plugins.sqlite.migrations import PLUGIN_MIGRATIONS_DDL, SCHEMA_MIGRATIONS_DDL

__all__ = ["apply_migrations", "migration_status", "split_statements"]

log = logging.getLogger("stowage.store")

_BOOKKEEPING = (("schema_migrations", SCHEMA_MIGRATIONS_DDL), ("plugin_migrations", PLUGIN_MIGRATIONS_DDL))

# plugin -> version -> (name, applied_at text)
_Recorded = dict[str, dict[int, tuple[str, str]]]
_FetchAll = Callable[[str], Awaitable[Sequence[Row]]]


def split_statements(sql: str) -> list[str]:
    """Split a script into single statements, honouring quotes, comments and trigger bodies."""
    statements: list[str] = []
    pieces = sql.split(";")
    buf = ""
    for i, piece in enumerate(pieces):
        buf += piece
        if i < len(pieces) - 1:
            buf += ";"
            if sqlite3.complete_statement(buf):
                statements.append(buf.strip())
                buf = ""
    if buf.strip():
        statements.append(buf.strip())  # unterminated tail: run it so a syntax error surfaces
    return statements


async def apply_migrations(db: SqliteDatabase, sets: Sequence[MigrationSet]) -> list[AppliedMigration]:
    """Apply every pending migration of ``sets`` (core first); return those applied, in order."""
    ordered = _ordered(sets)
    applied: list[AppliedMigration] = []
    async with db.raw_writer() as conn:
        recorded = await _recorded(_fetcher(conn))
        _refuse_unknown(ordered, recorded)  # before anything is written
        await _ensure_tables(conn)
        for mset in ordered:
            done = recorded.get(mset.plugin, {})
            for migration in mset.migrations:
                if migration.version in done:
                    continue
                row = await _apply_one(conn, mset.plugin, migration)
                if row is not None:
                    applied.append(row)
                    log.info(
                        "migration applied",
                        extra={"version": row.version, "migration": row.name, "plugin": row.plugin},
                    )
    return applied


async def migration_status(db: Database, sets: Sequence[MigrationSet]) -> list[MigrationStatus]:
    """Report applied, pending and unknown migrations per set; reads only."""
    recorded = await _recorded(db.fetchall)
    out: list[MigrationStatus] = []
    for mset in _ordered(sets):
        done = recorded.get(mset.plugin, {})
        known = {m.version for m in mset.migrations}
        rows = [_applied(mset.plugin, v, name, at) for v, (name, at) in sorted(done.items())]
        out.append(
            MigrationStatus(
                plugin=mset.plugin,
                applied=tuple(a for a in rows if a.version in known),
                pending=tuple(m for m in mset.migrations if m.version not in done),
                unknown=tuple(a for a in rows if a.version not in known),
            )
        )
    return out


def _ordered(sets: Sequence[MigrationSet]) -> list[MigrationSet]:
    seen: set[str] = set()
    for mset in sets:
        if mset.plugin in seen:
            raise StoreError(f"migrate: plugin {mset.plugin!r} contributed more than one migration set")
        seen.add(mset.plugin)
    return sorted(sets, key=lambda s: s.plugin != CORE_PLUGIN)  # stable: core first, rest as given


async def _recorded(fetchall: _FetchAll) -> _Recorded:
    """What the bookkeeping tables record; empty when they do not exist yet (a fresh file)."""
    tables = {r[0] for r in await fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
    recorded: _Recorded = {}
    if "schema_migrations" in tables:
        rows = await fetchall("SELECT version, name, applied_at FROM schema_migrations")
        recorded[CORE_PLUGIN] = {r[0]: (r[1], r[2]) for r in rows}
    if "plugin_migrations" in tables:
        for r in await fetchall("SELECT plugin, version, name, applied_at FROM plugin_migrations"):
            recorded.setdefault(r[0], {})[r[1]] = (r[2], r[3])
    return recorded


def _fetcher(conn: aiosqlite.Connection) -> _FetchAll:
    async def fetchall(sql: str) -> Sequence[Row]:
        async with conn.execute(sql) as cur:
            return list(await cur.fetchall())

    return fetchall


def _refuse_unknown(sets: Sequence[MigrationSet], recorded: _Recorded) -> None:
    # Only sets we were given are judged: a disabled plugin's rows are left alone, not refused.
    for mset in sets:
        for version, (name, _at) in sorted(recorded.get(mset.plugin, {}).items()):
            known = mset.get(version)
            if known is None:
                raise DatabaseAheadError(mset.plugin, version, name)
            if known.name != name:
                log.warning(
                    "migration name differs from the database",
                    extra={
                        "version": version,
                        "migration": known.name,
                        "recorded": name,
                        "plugin": mset.plugin,
                    },
                )


async def _ensure_tables(conn: aiosqlite.Connection) -> None:
    async with conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cur:
        have = {r[0] for r in await cur.fetchall()}
    for table, ddl in _BOOKKEEPING:
        if table not in have:
            await (await conn.execute(ddl)).close()


async def _apply_one(conn: aiosqlite.Connection, plugin: str, m: Migration) -> AppliedMigration | None:
    """Run one migration and record it in one transaction; None when another process beat us to it."""
    if plugin == CORE_PLUGIN:
        exists_sql = "SELECT 1 FROM schema_migrations WHERE version = ?"
        exists_params: tuple[object, ...] = (m.version,)
        record_sql = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"
    else:
        exists_sql = "SELECT 1 FROM plugin_migrations WHERE plugin = ? AND version = ?"
        exists_params = (plugin, m.version)
        record_sql = "INSERT INTO plugin_migrations (plugin, version, name, applied_at) VALUES (?, ?, ?, ?)"
    now = utcnow()
    record_params = (*exists_params, m.name, format_ts(now))
    await (await conn.execute("BEGIN IMMEDIATE")).close()
    try:
        async with conn.execute(exists_sql, exists_params) as cur:
            if await cur.fetchone() is not None:
                await (await conn.execute("ROLLBACK")).close()
                return None
        for statement in split_statements(m.sql):
            await (await conn.execute(statement)).close()
        await (await conn.execute(record_sql, record_params)).close()
        await (await conn.execute("COMMIT")).close()
    except BaseException as exc:
        with suppress(sqlite3.Error):  # the migration's own error is the one worth reporting
            await rollback(conn)
        if isinstance(exc, Exception):
            raise MigrationError(plugin, m.version, m.name, exc) from exc
        raise
    return AppliedMigration(plugin, m.version, m.name, now)


def _applied(plugin: str, version: int, name: str, applied_at: str) -> AppliedMigration:
    return AppliedMigration(plugin, version, name, _parse_or_none(applied_at))


def _parse_or_none(text: str | None) -> datetime | None:
    # An unreadable applied_at must not block start-up; it is shown as unknown.
    if text is None:
        return None
    try:
        return parse_ts(str(text))
    except ValueError:
        return None
