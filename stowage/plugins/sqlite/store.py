"""``SqliteStore``: the ``stowage.core.contracts.store.Store`` for ``db.driver: sqlite``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from stowage.core.contracts.accounts import SessionRepository, UserRepository
from stowage.core.contracts.audit import AuditRepository
from stowage.core.contracts.credentials import AnonymousRepository, CorsRepository, CredentialRepository
from stowage.core.contracts.endpoints import EndpointRepository
from stowage.core.contracts.quotas import QuotaRepository
from stowage.core.contracts.sealed import SealedDataRepository
from stowage.core.contracts.shares import ShareStore
from stowage.core.contracts.sizes import SizeTrackingRepository
from stowage.core.contracts.store import AppliedMigration, Database, MigrationSet, MigrationStatus, StoreError
from stowage.plugins.sqlite import backup as _backup
from stowage.plugins.sqlite import integrity, migration_runner
from stowage.plugins.sqlite.anonymous import SqliteAnonymous
from stowage.plugins.sqlite.audit import SqliteAuditRepository
from stowage.plugins.sqlite.backends import SqliteBackends
from stowage.plugins.sqlite.connection import READER_POOL_SIZE, SqliteDatabase, connect
from stowage.plugins.sqlite.cors import SqliteCors
from stowage.plugins.sqlite.credentials import SqliteCredentials
from stowage.plugins.sqlite.quotas import SqliteQuotas
from stowage.plugins.sqlite.sealed import SqliteSealed
from stowage.plugins.sqlite.sessions import SqliteSessions
from stowage.plugins.sqlite.shares import SqliteShares
from stowage.plugins.sqlite.size_tracking import SqliteSizeTracking
from stowage.plugins.sqlite.users import SqliteUsers

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
        # One repository per area; each reads ``self.db`` per call, so it works once open.
        # Typed as the core Protocols: mypy checks each implements its area's contract.
        self.users: UserRepository = SqliteUsers(self)
        self.sessions: SessionRepository = SqliteSessions(self)
        self.audit: AuditRepository = SqliteAuditRepository(self)
        self.shares: ShareStore = SqliteShares(self)
        self.backends: EndpointRepository = SqliteBackends(self)
        self.credentials: CredentialRepository = SqliteCredentials(self)
        self.anonymous: AnonymousRepository = SqliteAnonymous(self)
        self.cors: CorsRepository = SqliteCors(self)
        self.quotas: QuotaRepository = SqliteQuotas(self)
        self.size_tracking: SizeTrackingRepository = SqliteSizeTracking(self)
        self.sealed: SealedDataRepository = SqliteSealed(self)

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
