"""The persistence contract: migration records, the generic ``Database`` and the ``Store`` protocols.

A store plugin (the built-in ``stowage.plugins.sqlite``) answers the ``stowage_store`` hook with an
object implementing :class:`Store`. The Runtime opens it, collects every plugin's
:class:`MigrationSet` from ``stowage_migrations`` and applies them. Features use the store through
one typed repository per area (``store.users``, ``store.sessions``, ``store.audit``, ``store.shares``,
``store.credentials``, ``store.backends``, ``store.anonymous``, ``store.cors``, ``store.quotas``,
``store.size_tracking``, ``store.sealed``),
each a Protocol declared next to the records it returns. Their signatures carry only our own
records and plain values, never an engine's types, so another engine (PostgreSQL) implements the
same :class:`Store`; plugins with their own tables use ``store.db`` (a :class:`Database`).

Errors::

    StowageError (stowage.core.kernel.errors)
    └── StoreError                 the store cannot do what was asked (bad path, closed, backup target…)
        ├── DatabaseAheadError     the database records a migration this build does not know
        └── MigrationError         a pending migration failed; it was rolled back

SQL errors raised by the engine itself (``sqlite3.IntegrityError`` and friends) pass through the
``Database`` unchanged: repositories live next to their engine and translate what they expect.

Timestamps are bound as text in the canonical form of ``stowage.core.formats.timefmt.format_ts`` and read
back with ``parse_ts``; never bind a ``datetime`` directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, LiteralString, Protocol, TypeAlias

from stowage.core.kernel.errors import StowageError

if TYPE_CHECKING:
    from stowage.core.contracts.accounts import SessionRepository, UserRepository
    from stowage.core.contracts.audit import AuditRepository
    from stowage.core.contracts.credentials import AnonymousRepository, CorsRepository, CredentialRepository
    from stowage.core.contracts.endpoints import EndpointRepository
    from stowage.core.contracts.quotas import QuotaRepository
    from stowage.core.contracts.sealed import SealedDataRepository
    from stowage.core.contracts.shares import ShareStore
    from stowage.core.contracts.sizes import SizeTrackingRepository

__all__ = [
    "CORE_PLUGIN",
    "AppliedMigration",
    "Database",
    "DatabaseAheadError",
    "Migration",
    "MigrationError",
    "MigrationSet",
    "MigrationStatus",
    "Params",
    "Row",
    "Store",
    "StoreError",
    "Transaction",
]

CORE_PLUGIN = "core"
"""Plugin name of the core schema; its migrations are recorded in ``schema_migrations``."""

Params: TypeAlias = Sequence[Any] | Mapping[str, Any]
"""Bound parameters: a sequence for ``?`` placeholders or a mapping for ``:name`` placeholders."""


# --- errors ------------------------------------------------------------------------------------


class StoreError(StowageError):
    """The store cannot do what was asked; the message says what and names the path."""


class DatabaseAheadError(StoreError):
    """The database records a migration that this build does not have (a downgrade)."""

    def __init__(self, plugin: str, version: int, name: str) -> None:
        where = "" if plugin == CORE_PLUGIN else f" of plugin {plugin!r}"
        super().__init__(
            f"database is newer than this Stowage: it records migration {version} ({name}){where}"
            " that this build does not have"
        )
        self.plugin = plugin
        self.version = version
        self.name = name


class MigrationError(StoreError):
    """A pending migration failed and was rolled back; start-up must stop."""

    def __init__(self, plugin: str, version: int, name: str, cause: BaseException) -> None:
        where = "" if plugin == CORE_PLUGIN else f"plugin {plugin}: "
        super().__init__(f"migrate: {where}migration {version} ({name}): {cause}")
        self.plugin = plugin
        self.version = version
        self.name = name


# --- migration records -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Migration:
    """One forward-only schema step. ``sql`` may hold several statements; it runs in one transaction."""

    version: int
    name: str
    sql: str


@dataclass(frozen=True, slots=True)
class MigrationSet:
    """A plugin's ordered, append-only migrations. ``plugin == "core"`` is the core schema."""

    plugin: str
    migrations: tuple[Migration, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.plugin:
            raise ValueError("MigrationSet needs a plugin name")
        last = 0
        for m in self.migrations:
            if m.version <= last:
                raise ValueError(
                    f"{self.plugin}: migration versions must be positive and strictly increasing "
                    f"(got {m.version} after {last})"
                )
            last = m.version

    def get(self, version: int) -> Migration | None:
        """Return the migration with ``version``, or None when this set does not have it."""
        return next((m for m in self.migrations if m.version == version), None)


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    """A migration recorded in the database (``applied_at`` aware UTC; None if the text is unreadable)."""

    plugin: str
    version: int
    name: str
    applied_at: datetime | None


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """Where one plugin's schema stands: what is recorded, what is still to run, what is unknown."""

    plugin: str
    applied: tuple[AppliedMigration, ...]
    pending: tuple[Migration, ...]
    unknown: tuple[AppliedMigration, ...] = ()
    """Recorded versions this build does not have; non-empty means the database is ahead."""


# --- generic SQL access ------------------------------------------------------------------------


class Row(Protocol):
    """One result row: index by column name (``row["id"]``) or position; ``keys()`` lists names.

    ``sqlite3.Row`` satisfies it. Iterating a row yields its values (``tuple(row)`` works), not
    its keys, so a row is not a ``Mapping``; use ``dict(zip(row.keys(), row))`` for a dict.
    """

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class Transaction(Protocol):
    """The writer inside :meth:`Database.transaction`; every call runs in that one transaction."""

    async def execute(self, sql: LiteralString, params: Params = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        ...

    async def executemany(self, sql: LiteralString, seq: Sequence[Params]) -> int:
        """Run one statement once per parameter set; return the total rows changed."""
        ...

    async def fetchone(self, sql: LiteralString, params: Params = ()) -> Row | None:
        """Run a query (or ``INSERT … RETURNING``) on the writer; return its first row."""
        ...

    async def fetchall(self, sql: LiteralString, params: Params = ()) -> list[Row]:
        """Run a query (or a statement with ``RETURNING``) on the writer; return all rows."""
        ...


class Database(Protocol):
    """Async SQL access shared by every repository.

    Reads (``fetchone``/``fetchall``) run on a pool of reader connections and never wait for the
    writer: they see the last committed state. Writes go through the single writer connection,
    one at a time. ``execute``/``executemany`` each commit on their own; use :meth:`transaction`
    to make several statements atomic or to read-then-write without a race. Calling the
    ``Database`` write methods from inside ``transaction()`` in the same task raises
    :class:`StoreError` (it would wait for itself); use the handle instead.
    """

    async def fetchone(self, sql: LiteralString, params: Params = ()) -> Row | None:
        """Run a read-only query on a reader; return the first row or None."""
        ...

    async def fetchall(self, sql: LiteralString, params: Params = ()) -> list[Row]:
        """Run a read-only query on a reader; return every row."""
        ...

    async def execute(self, sql: LiteralString, params: Params = ()) -> int:
        """Run one write statement through the writer and commit; return rows changed."""
        ...

    async def executemany(self, sql: LiteralString, seq: Sequence[Params]) -> int:
        """Run one statement per parameter set in a single committed transaction; return rows changed."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Hold the writer for the block: ``BEGIN IMMEDIATE`` … ``COMMIT``, ``ROLLBACK`` on error."""
        ...


class Store(Protocol):
    """A database file (or server) with its migrations, backups and size.

    Lifecycle: construct (from the ``stowage_store`` hook) → ``await open()`` →
    ``await apply_migrations(sets)`` → use ``db`` → ``await close()``.
    """

    path: Path
    """Absolute path of the main database file."""

    @property
    def db(self) -> Database:
        """The generic SQL access; raises :class:`StoreError` while the store is not open."""
        ...

    async def open(self) -> None:
        """Open connections and apply connection settings; creates the file if it is missing."""
        ...

    async def close(self) -> None:
        """Close every connection; safe to call more than once."""
        ...

    async def apply_migrations(self, sets: Sequence[MigrationSet]) -> list[AppliedMigration]:
        """Apply pending migrations of every set, each in its own transaction; return what ran.

        Refuses (:class:`DatabaseAheadError`) before changing anything when the database records
        a version a given set does not know. A failure raises :class:`MigrationError`; migrations
        applied before it stay applied.
        """
        ...

    async def migration_status(self, sets: Sequence[MigrationSet]) -> list[MigrationStatus]:
        """Report, per set, applied and pending migrations without changing the database."""
        ...

    async def backup(self, dest: Path, *, force: bool = False) -> None:
        """Write a consistent single-file snapshot to ``dest`` while the database stays live.

        Refuses an existing ``dest`` unless ``force``; never leaves a partial file at ``dest``.
        """
        ...

    def db_bytes(self) -> int:
        """Size of the main database file in bytes (WAL and SHM excluded); 0 when missing."""
        ...

    # --- per-area repositories (usable once the store is open) ---------------------------------

    @property
    def users(self) -> UserRepository:
        """Local and external accounts (``stowage.core.contracts.accounts``)."""
        ...

    @property
    def sessions(self) -> SessionRepository:
        """Dashboard sessions (``stowage.core.contracts.accounts``)."""
        ...

    @property
    def audit(self) -> AuditRepository:
        """Audit events (``stowage.core.contracts.audit``)."""
        ...

    @property
    def shares(self) -> ShareStore:
        """Public share links (``stowage.core.contracts.shares``)."""
        ...

    @property
    def backends(self) -> EndpointRepository:
        """Backends managed in the UI (``stowage.core.contracts.endpoints``)."""
        ...

    @property
    def credentials(self) -> CredentialRepository:
        """The proxy's virtual credentials (``stowage.core.contracts.credentials``)."""
        ...

    @property
    def anonymous(self) -> AnonymousRepository:
        """Anonymous read bindings (``stowage.core.contracts.credentials``)."""
        ...

    @property
    def cors(self) -> CorsRepository:
        """Per-bucket CORS rules (``stowage.core.contracts.credentials``)."""
        ...

    @property
    def quotas(self) -> QuotaRepository:
        """Configured bucket caps (``stowage.core.contracts.quotas``)."""
        ...

    @property
    def size_tracking(self) -> SizeTrackingRepository:
        """Per-bucket size-tracking switches (``stowage.core.contracts.sizes``)."""
        ...

    @property
    def sealed(self) -> SealedDataRepository:
        """Every value sealed with the root key, for ``rotate-key`` (``stowage.core.contracts.sealed``)."""
        ...
