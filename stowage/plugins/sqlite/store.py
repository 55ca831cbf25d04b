"""``SqliteStore``: the ``stowage.core.contracts.store.Store`` for ``db.driver: sqlite``."""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stowage.core.contracts.store import AppliedMigration, Database, MigrationSet, MigrationStatus, StoreError
from stowage.plugins.sqlite import backup as _backup
from stowage.plugins.sqlite import integrity, migration_runner
from stowage.plugins.sqlite.connection import READER_POOL_SIZE, SqliteDatabase, connect

__all__ = ["SqliteStore"]


class SqliteStore:
    """One SQLite file (plus its ``-wal``/``-shm``) in WAL mode, with migrations and backups.

    ``path`` is made absolute against the current directory when the store is built;
    its parent directory must already exist when the store opens.
    """

    def __init__(self, path: str | os.PathLike[str], *, readers: int = READER_POOL_SIZE) -> None:
        self.path = Path(os.path.abspath(os.fspath(path)))
        self._readers = readers
        self._db: SqliteDatabase | None = None
        self._areas: dict[str, Any] = {}

    def __repr__(self) -> str:
        state = "open" if self._db is not None else "closed"
        return f"SqliteStore({str(self.path)!r}, {state})"

    @property
    def db(self) -> Database:
        """The open database; raises StoreError before ``open()`` or after ``close()``."""
        return self._database()

    def _database(self) -> SqliteDatabase:
        if self._db is None:
            raise StoreError(f"sqlite: database {self.path} is not open")
        return self._db

    async def open(self) -> None:
        """Open the writer (creating the file and switching it to WAL); readers open on demand.

        Refuses a damaged file (``PRAGMA quick_check``) with a ``StoreError`` naming it.
        """
        if self._db is not None:
            return
        writer = await connect(self.path, reader=False)
        try:
            await integrity.quick_check(self.path, writer)
        except BaseException:
            await writer.close()
            raise
        self._db = SqliteDatabase(self.path, writer, pool_size=self._readers)

    async def close(self) -> None:
        """Close every connection; later calls do nothing."""
        db, self._db = self._db, None
        if db is not None:
            await db.close()

    async def apply_migrations(self, sets: Sequence[MigrationSet]) -> list[AppliedMigration]:
        """Apply pending migrations (see ``migration_runner.apply_migrations``)."""
        return await migration_runner.apply_migrations(self._database(), sets)

    async def migration_status(self, sets: Sequence[MigrationSet]) -> list[MigrationStatus]:
        """Applied, pending and unknown migrations per set; changes nothing."""
        return await migration_runner.migration_status(self._database(), sets)

    async def backup(self, dest: Path, *, force: bool = False) -> None:
        """Consistent snapshot into ``dest`` (works whether or not this store is open)."""
        await _backup.backup(self.path, dest, force=force)

    def db_bytes(self) -> int:
        """Size of the main database file (WAL/SHM excluded); 0 when it does not exist."""
        try:
            return os.path.getsize(self.path)
        except FileNotFoundError:
            return 0

    # --- per-area repositories (users, sessions, audit, …), each in its own module ------------

    def _area(self, name: str) -> Any:
        """The repository for one area, built on first use over the open database."""
        repo = self._areas.get(name)
        if repo is None:
            module = importlib.import_module(f"stowage.plugins.sqlite.{name}")
            repo = module.REPOSITORY(self)
            self._areas[name] = repo
        return repo

    @property
    def users(self) -> Any:
        return self._area("users")

    @property
    def sessions(self) -> Any:
        return self._area("sessions")

    @property
    def audit(self) -> Any:
        return self._area("audit")

    @property
    def backends(self) -> Any:
        return self._area("backends")

    @property
    def credentials(self) -> Any:
        return self._area("credentials")

    @property
    def anonymous(self) -> Any:
        return self._area("anonymous")

    @property
    def shares(self) -> Any:
        return self._area("shares")

    @property
    def quotas(self) -> Any:
        return self._area("quotas")

    @property
    def cors(self) -> Any:
        return self._area("cors")
