"""SQLite connections: one serialised writer and a small lazy pool of readers."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, LiteralString

import aiosqlite

from stowage.core.contracts.store import Params, Row, StoreError, Transaction

__all__ = ["PRAGMAS", "READER_POOL_SIZE", "SqliteDatabase", "WriterHandle", "connect", "rollback"]

PRAGMAS: tuple[LiteralString, ...] = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)
READER_POOL_SIZE = 4


async def connect(path: Path, *, reader: bool) -> aiosqlite.Connection:
    """Open one connection with the standard pragmas; readers are also made query-only.

    ``isolation_level=None`` leaves transactions to us (explicit ``BEGIN IMMEDIATE``), so the
    sqlite3 module never opens or commits one behind our back.
    """
    if not path.parent.is_dir():
        raise StoreError(f"sqlite: directory {path.parent} for database {path} does not exist")
    try:
        conn = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"sqlite: cannot open {path}: {exc}") from exc
    try:
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await (await conn.execute(pragma)).close()
        if reader:
            await (await conn.execute("PRAGMA query_only=ON")).close()
        # One read proves the file is a database and creates the -wal and -shm companions now.
        await (await conn.execute("SELECT count(*) FROM sqlite_master")).close()
    except BaseException as exc:
        await conn.close()
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"sqlite: cannot open {path}: {exc}") from exc
        raise
    return conn


class WriterHandle(Transaction):
    """The writer connection as seen inside one transaction; unusable once it ends."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn: aiosqlite.Connection | None = conn

    def _live(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreError("sqlite: transaction handle used after the transaction ended")
        return self._conn

    def _end(self) -> None:
        self._conn = None

    async def execute(self, sql: LiteralString, params: Params = ()) -> int:
        return await _execute(self._live(), sql, params)

    async def executemany(self, sql: LiteralString, seq: Sequence[Params]) -> int:
        return await _executemany(self._live(), sql, seq)

    async def fetchone(self, sql: LiteralString, params: Params = ()) -> Row | None:
        rows = await _fetchall(self._live(), sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: LiteralString, params: Params = ()) -> list[Row]:
        return await _fetchall(self._live(), sql, params)


class SqliteDatabase:
    """``stowage.core.contracts.store.Database`` over one writer and up to ``pool_size`` readers.

    An ``asyncio.Lock`` serialises the writer: every write and every transaction holds it, so
    statements of two tasks never interleave inside one transaction. Readers are opened on first
    demand and handed out one task at a time from a queue.
    """

    def __init__(self, path: Path, writer: aiosqlite.Connection, pool_size: int = READER_POOL_SIZE) -> None:
        self.path = path
        self._writer = writer
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._pool_size = pool_size
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._readers: list[aiosqlite.Connection] = []
        self._opening = 0
        self._closed = False

    # -- reads ----------------------------------------------------------------------------------

    async def fetchone(self, sql: LiteralString, params: Params = ()) -> Row | None:
        async with self._reader() as conn, conn.execute(sql, params) as cur:
            row: Row | None = await cur.fetchone()
            return row

    async def fetchall(self, sql: LiteralString, params: Params = ()) -> list[Row]:
        async with self._reader() as conn:
            return await _fetchall(conn, sql, params)

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._acquire_reader()
        try:
            yield conn
        finally:
            if not self._closed:  # close() has already closed every reader
                self._idle.put_nowait(conn)

    async def _acquire_reader(self) -> aiosqlite.Connection:
        self._check_open()
        if self._idle.empty() and len(self._readers) + self._opening < self._pool_size:
            self._opening += 1
            try:
                conn = await connect(self.path, reader=True)
            finally:
                self._opening -= 1
            if self._closed:
                await conn.close()
                self._check_open()
            self._readers.append(conn)
            return conn
        return await self._idle.get()

    # -- writes ---------------------------------------------------------------------------------

    async def execute(self, sql: LiteralString, params: Params = ()) -> int:
        async with self._writer_lock():
            return await _execute(self._writer, sql, params)

    async def executemany(self, sql: LiteralString, seq: Sequence[Params]) -> int:
        async with self.transaction() as tx:
            return await tx.executemany(sql, seq)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._writer_lock():
            await rollback(self._writer)  # a cancelled task may have left one open
            await _execute(self._writer, "BEGIN IMMEDIATE")
            handle = WriterHandle(self._writer)
            try:
                yield handle
            except BaseException:
                handle._end()
                await rollback(self._writer)
                raise
            handle._end()
            try:
                await _execute(self._writer, "COMMIT")
            except BaseException:
                await rollback(self._writer)
                raise

    @asynccontextmanager
    async def _writer_lock(self) -> AsyncIterator[None]:
        self._check_open()
        me = asyncio.current_task()
        if self._lock.locked() and self._owner is me:
            raise StoreError("sqlite: writer used from inside its own transaction; use the handle")
        async with self._lock:
            self._check_open()  # close() may have won the lock while we waited
            self._owner = me
            try:
                yield
            finally:
                self._owner = None

    @asynccontextmanager
    async def raw_writer(self) -> AsyncIterator[aiosqlite.Connection]:
        """Hold the writer lock and expose the connection, for the migration runner only."""
        async with self._writer_lock():
            yield self._writer

    # -- lifecycle ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"sqlite: database {self.path} is closed")

    async def close(self) -> None:
        """Close readers, then the writer (the last connection checkpoints the WAL). Idempotent."""
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            readers, self._readers = self._readers, []
            for conn in readers:
                await conn.close()
            await self._writer.close()


async def _execute(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> int:
    async with conn.execute(sql, params) as cur:
        return int(cur.rowcount)


async def _executemany(conn: aiosqlite.Connection, sql: str, seq: Sequence[Params]) -> int:
    async with conn.executemany(sql, seq) as cur:
        return int(cur.rowcount)


async def _fetchall(conn: aiosqlite.Connection, sql: str, params: Params) -> list[Row]:
    async with conn.execute(sql, params) as cur:
        rows: list[Row] = list(await cur.fetchall())
        return rows


async def rollback(conn: aiosqlite.Connection) -> None:
    """Roll back the open transaction on ``conn``, if any."""
    # After some errors SQLite has already rolled back; only roll back what is still open.
    if not conn.in_transaction:
        return
    try:
        await _execute(conn, "ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "no transaction is active" not in str(exc):
            raise
