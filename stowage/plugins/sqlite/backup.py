"""Online backup: a consistent single-file snapshot of a live database.

SQLite's backup API copies every page in one step, i.e. inside one read transaction on a fresh
connection of its own. In WAL mode that read transaction never blocks writers (in this process or
another), and it sees exactly the commits made before it began, so the snapshot is consistent.
The copy is written to a temporary file next to ``dest``, checked, synced and then renamed into
place, so ``dest`` never holds a partial file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from stowage.core.contracts.store import StoreError

__all__ = ["backup"]


async def backup(source: Path, dest: Path, *, force: bool = False) -> None:
    """Snapshot the database at ``source`` into ``dest``; refuse an existing ``dest`` unless ``force``."""
    await asyncio.to_thread(_backup, Path(os.path.abspath(source)), Path(os.path.abspath(dest)), force)


def _backup(source: Path, dest: Path, force: bool) -> None:
    if dest == source:
        raise StoreError(f"backup: {dest} is the live database itself")
    if not dest.parent.is_dir():
        raise StoreError(f"backup: directory {dest.parent} does not exist")
    if dest.exists() and not force:
        raise StoreError(f"backup: {dest} already exists; refusing to overwrite it")
    if not source.is_file():
        raise StoreError(f"backup: database {source} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _copy(source, tmp)
        _fsync(tmp)
        if dest.exists() and not force:  # appeared while we copied
            raise StoreError(f"backup: {dest} already exists; refusing to overwrite it")
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        for leftover in (tmp, *(Path(f"{tmp}{s}") for s in ("-journal", "-wal", "-shm"))):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise


def _copy(source: Path, tmp: Path) -> None:
    try:
        # mode=rw: never create a database that is not there.
        src = sqlite3.connect(f"{source.as_uri()}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"backup: cannot open {source}: {exc}") from exc
    try:
        src.execute("PRAGMA busy_timeout=5000")
        src.execute("PRAGMA query_only=ON")
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            src.backup(dst, pages=-1)  # one step: one read transaction, one consistent snapshot
            # A plain rollback-journal file is the self-contained form; Stowage switches it back
            # to WAL when it opens a restored copy.
            dst.execute("PRAGMA journal_mode=DELETE")
            result = dst.execute("PRAGMA quick_check").fetchone()
            if result is None or result[0] != "ok":
                raise StoreError(f"backup: snapshot of {source} failed its check: {result}")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise StoreError(f"backup: copying {source} failed: {exc}") from exc
    finally:
        src.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Makes the rename durable; some filesystems refuse fsync on directories, which is harmless.
    with contextlib.suppress(OSError):
        _fsync(path)
