"""The built-in SQLite store plugin: answers ``db.driver: sqlite`` and contributes the core schema.

How the parts combine:

* ``connection`` — opens aiosqlite connections with the standard pragmas (WAL, busy timeout 5 s,
  foreign keys, ``synchronous=NORMAL``) and provides ``SqliteDatabase``, the generic
  ``stowage.core.contracts.store.Database``: one writer behind an ``asyncio.Lock`` for every write and
  transaction, plus a small pool of query-only readers opened on demand.
* ``migrations`` — the core migration list (versions 1 to 11, the original's schema) and the DDL of the
  two bookkeeping tables, ``schema_migrations`` (core) and ``plugin_migrations`` (everyone else).
* ``migration_runner`` — applies ``MigrationSet``s: refuses a database that is ahead, then runs each pending
  step and its record row in one transaction.
* ``backup`` — the online snapshot behind ``stowage backup PATH``.
* ``integrity`` — the ``PRAGMA quick_check`` every open runs and ``stowage db check``.
* ``store`` — ``SqliteStore`` ties these together behind ``stowage.core.contracts.store.Store``.

Per-area repositories (users, sessions, audit, shares, credentials, backends, …) belong in small
modules of this package, each a class taking the ``Database`` (``store.db``) and speaking SQL through
``fetchone``/``fetchall``/``execute``/``transaction``; timestamps go in and out through
``stowage.core.formats.timefmt``.
"""

from __future__ import annotations

from typing import Any

from stowage.core.contracts.store import MigrationSet, Store
from stowage.core.kernel.cli import Command
from stowage.hooks import hookimpl
from stowage.plugins.sqlite import integrity
from stowage.plugins.sqlite.migrations import CORE_MIGRATIONS, CORE_SET
from stowage.plugins.sqlite.store import SqliteStore

__all__ = [
    "CORE_MIGRATIONS",
    "CORE_SET",
    "SqliteStore",
    "stowage_cli_commands",
    "stowage_migrations",
    "stowage_store",
]

DRIVER = "sqlite"


@hookimpl(trylast=True)
def stowage_store(settings: Any) -> Store | None:
    """Return an unopened ``SqliteStore`` at ``db.sqlite.path`` when ``db.driver`` is ``sqlite``."""
    if settings.db.driver != DRIVER:
        return None
    return SqliteStore(settings.db.sqlite.path)


@hookimpl
def stowage_migrations() -> MigrationSet:
    """Contribute the core schema (plugin name ``core``, recorded in ``schema_migrations``)."""
    return CORE_SET


@hookimpl
def stowage_cli_commands() -> list[Command]:
    """``stowage db check``."""
    return [integrity.command()]
