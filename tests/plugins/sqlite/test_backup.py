"""Online backup under a continuously writing process, and crash safety of the writer (SIGKILL)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stowage.core.contracts.store import StoreError
from stowage.plugins.sqlite import CORE_SET, SqliteStore

REPO = Path(__file__).resolve().parents[3]
BATCH = 10  # rows per writer transaction

# A separate process standing in for `stowage serve`: our store, committing batches forever.
WRITER = f"""
import asyncio, os, sys
from stowage.core.contracts.store import Migration, MigrationSet
from stowage.plugins.sqlite import CORE_SET, SqliteStore

DDL = "CREATE TABLE rows (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, payload BLOB NOT NULL)"
ROWS = MigrationSet("loadtest", (Migration(1, "rows", DDL),))
INSERT = "INSERT INTO rows (batch, payload) VALUES (?, ?)"

async def main():
    store = SqliteStore(sys.argv[1])
    await store.open()
    await store.apply_migrations([CORE_SET, ROWS])
    payload = os.urandom(int(sys.argv[2]))
    batch = 0
    while True:
        batch += 1
        async with store.db.transaction() as tx:
            await tx.executemany(INSERT, [(batch, payload)] * {BATCH})
        if batch == 3:
            print("ready", flush=True)

asyncio.run(main())
"""


@pytest.fixture
def writer_script(tmp_path: Path) -> Path:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return script


def _start_writer(script: Path, db: Path, payload: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(payload)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        proc.wait()
        pytest.fail(f"writer did not start (exit {proc.poll()}): {line!r}")
    return proc


@pytest.fixture
def reap() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()
        if p.stdout:
            p.stdout.close()


def _check(path: Path) -> tuple[str, int, int]:
    conn = sqlite3.connect(path)
    try:
        (ok,) = conn.execute("PRAGMA integrity_check").fetchone()
        n, top = conn.execute("SELECT count(*), coalesce(max(id), 0) FROM rows").fetchone()
        return ok, n, top
    finally:
        conn.close()


async def test_backup_while_another_process_writes(
    tmp_path: Path, writer_script: Path, reap: list[subprocess.Popen[str]]
) -> None:
    db = tmp_path / "stowage.db"
    proc = _start_writer(writer_script, db, payload=2048)
    reap.append(proc)
    store = SqliteStore(db)
    await store.open()
    try:
        # Let the database grow to a few MB so the copy takes a while, then note what is committed.
        deadline = time.monotonic() + 15
        while True:
            row = await store.db.fetchone("SELECT coalesce(max(id), 0) AS top FROM rows")
            assert row is not None
            if row["top"] >= 2000 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        committed_before = int(row["top"])
        assert committed_before > 0

        dest = tmp_path / "snapshot.db"
        seen_during: list[int] = []
        backup = asyncio.create_task(store.backup(dest))
        while not backup.done():  # the copy runs in a thread; watch the writer commit meanwhile
            row = await store.db.fetchone("SELECT max(id) AS top FROM rows")
            assert row is not None
            seen_during.append(int(row["top"]))
            await asyncio.sleep(0.01)
        await backup
        assert proc.poll() is None  # the writer kept going throughout
        assert max(seen_during) > committed_before

        row = await store.db.fetchone("SELECT max(id) AS top FROM rows")
        assert row is not None and row["top"] > committed_before
    finally:
        await store.close()
    proc.kill()
    proc.wait()

    ok, n, top = _check(dest)
    assert ok == "ok"
    assert n == top >= committed_before  # every row committed before the backup began, no holes
    assert n % BATCH == 0  # a transaction-consistent snapshot: whole batches only
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("snapshot", ".snapshot"))) == [
        "snapshot.db"
    ]
    conn = sqlite3.connect(dest)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # self-contained single file
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (11,)
    conn.close()


async def test_backup_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "stowage.db")
    await store.open()
    try:
        await store.apply_migrations([CORE_SET])
        dest = tmp_path / "snap.db"
        dest.write_bytes(b"precious")
        with pytest.raises(StoreError, match="already exists"):
            await store.backup(dest)
        assert dest.read_bytes() == b"precious"
        await store.backup(dest, force=True)
        conn = sqlite3.connect(dest)
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (11,)
        conn.close()

        with pytest.raises(StoreError, match="live database"):
            await store.backup(store.path, force=True)
        with pytest.raises(StoreError, match="does not exist"):
            await store.backup(tmp_path / "nowhere" / "snap.db")
    finally:
        await store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap.db", "stowage.db"]  # no temp files left


async def test_backup_of_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "stowage.db")
    with pytest.raises(StoreError, match="does not exist"):
        await store.backup(tmp_path / "snap.db")
    assert list(tmp_path.iterdir()) == []


def test_sigkill_mid_write_leaves_a_sound_database(
    tmp_path: Path, writer_script: Path, reap: list[subprocess.Popen[str]]
) -> None:
    db = tmp_path / "stowage.db"
    rng = random.Random(5)
    last = 0
    for _ in range(4):
        proc = _start_writer(writer_script, db, payload=8192)
        reap.append(proc)
        time.sleep(rng.uniform(0.05, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        # The next open recovers from the hot WAL left behind; committed batches survive whole.
        ok, n, top = _check(db)
        assert ok == "ok"
        assert n == top and n % BATCH == 0 and n > last
        last = n
