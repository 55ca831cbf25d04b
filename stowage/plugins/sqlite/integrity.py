"""Database integrity: the quick check every open runs, and ``stowage db check``.

A damaged file used to open, answer ``/readyz`` and then fail logins with 500s. ``PRAGMA
quick_check`` (b-tree structure, page and cell bounds, freelist; linear in the file size and much
cheaper than the full check) now runs whenever the store opens, so ``stowage serve`` refuses to
start on a damaged file and says which file and what is wrong. ``stowage db check`` runs the full
``PRAGMA integrity_check`` (also index ↔ table agreement) on a live or stopped database, prints
the result and exits 0 when it is ``ok``, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
from pathlib import Path

import aiosqlite

from stowage.core.contracts.store import StoreError
from stowage.core.kernel.command import CliContext, Command

__all__ = ["FIRST_PROBLEMS", "command", "corruption_error", "quick_check", "run_check"]

FIRST_PROBLEMS = 10
"""Problems reported at start-up; ``stowage db check`` lists up to ``--max-errors``."""


def _problems(rows: list[object]) -> list[str]:
    """One entry per problem: SQLite may pack several into one newline-separated row."""
    lines = [line.strip() for row in rows for line in str(row).splitlines()]
    return [line for line in lines if line and not line.startswith("*** in database")]


def corruption_error(path: Path, problems: list[str]) -> StoreError:
    listed = "".join(f"\n  {problem}" for problem in problems[:FIRST_PROBLEMS])
    return StoreError(
        f"sqlite: database {path} is damaged; Stowage will not start on it. PRAGMA quick_check "
        f"found:{listed}\nRestore the latest `stowage backup` snapshot (see the README: backups); "
        "`stowage db check` prints the full report"
    )


async def quick_check(path: Path, conn: aiosqlite.Connection) -> None:
    """Raise ``StoreError`` naming ``path`` and its first problems unless the quick check is ok."""
    try:
        async with conn.execute(f"PRAGMA quick_check({FIRST_PROBLEMS})") as cursor:
            problems = _problems([row[0] for row in await cursor.fetchall()])
    except sqlite3.DatabaseError as exc:  # damage bad enough that the check itself cannot run
        problems = [str(exc)]
    if problems != ["ok"]:
        raise corruption_error(path, problems)


def run_check(path: Path, max_errors: int = 100) -> list[str]:
    """``PRAGMA integrity_check`` of the file at ``path``: ``["ok"]`` or the problems found."""
    if not path.is_file():
        raise StoreError(f"db check: no database at {path}")
    try:
        # mode=rw: never create a file; query_only: the check changes nothing.
        conn = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"db check: cannot open {path}: {exc}") from exc
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA query_only=ON")
        rows = conn.execute(f"PRAGMA integrity_check({int(max_errors)})").fetchall()
        return _problems([row[0] for row in rows])
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["check"], help="check: full PRAGMA integrity_check")
    parser.add_argument(
        "--max-errors", type=int, default=100, help="stop after this many problems (default 100)"
    )


def _run(args: argparse.Namespace, ctx: CliContext) -> int:
    settings, _ = ctx.load()
    if settings.db.driver != "sqlite":
        raise StoreError(f'db check: db.driver is "{settings.db.driver}", not sqlite')
    path = Path(os.path.abspath(os.fspath(settings.db.sqlite.path)))
    problems = run_check(path, max(1, args.max_errors))
    if problems == ["ok"]:
        print(f"{path}: ok")
        return 0
    print(f"{path}: damaged; PRAGMA integrity_check found {len(problems)} problem(s):")
    for problem in problems:
        print(f"  {problem}")
    return 1


def command() -> Command:
    """``stowage db check [--max-errors N]``."""
    return Command(
        name="db",
        help="database maintenance: `db check` runs a full integrity check (exit 0 ok, 1 damaged)",
        add_arguments=_arguments,
        run=_run,
    )
