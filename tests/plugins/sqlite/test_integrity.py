"""A damaged database: ``stowage serve`` refuses to start on it and says why;
``stowage db check`` reports it (exit 1) and passes a healthy one (exit 0). Real processes, a real
SQLite file with pages overwritten in the middle."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

STOWAGE = [sys.executable, "-m", "stowage.core.kernel.cli"]
PAGE = 4096
REPO = Path(__file__).resolve().parents[3]


def stowage(folder: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOWAGE_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [*STOWAGE, *args, "--config", "settings.yaml"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A migrated database holding 5,000 audit rows (~2 MB), checkpointed into the main file."""
    settings = {
        "server": {"listen": "127.0.0.1:0"},
        "s3_proxy": {"listen": "127.0.0.1:0"},
        "db": {"sqlite": {"path": str(tmp_path / "stowage.db")}},
        "plugins": {"dir": str(tmp_path / "plugins.d")},
        "log": {"level": "warn", "format": "text"},
    }
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(settings))
    migrated = stowage(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    path = tmp_path / "stowage.db"
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO audit_events (ts, action, bucket, object_key, detail) VALUES (?, ?, ?, ?, ?)",
            [("2026-12-01T00:00:00Z", "s3.proxy.putobject", "b", f"key-{i}", "x" * 200) for i in range(5000)],
        )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert path.stat().st_size > 400 * PAGE
    return path


def corrupt(path: Path) -> None:
    """Overwrite the cell area of two pages in the middle of the file with random bytes."""
    pages = path.stat().st_size // PAGE
    noise = random.Random(18)
    with path.open("r+b") as fh:
        for page in (pages // 2, pages // 2 + 7):
            fh.seek(page * PAGE + 100)
            fh.write(noise.randbytes(1500))


def test_healthy_database_checks_ok(database: Path) -> None:
    result = stowage(database.parent, "db", "check")
    assert (result.returncode, result.stdout.strip()) == (0, f"{database}: ok"), result.stderr


def test_damaged_database_is_refused_at_start_and_reported_by_db_check(database: Path) -> None:
    corrupt(database)
    served = stowage(database.parent, "serve", timeout=30)
    assert served.returncode == 1, served.stdout + served.stderr
    assert f"database {database} is damaged; Stowage will not start on it" in served.stderr
    assert "PRAGMA quick_check found:\n  On tree page" in served.stderr
    assert "Listening" not in served.stdout + served.stderr

    checked = stowage(database.parent, "db", "check", "--max-errors", "3")
    assert checked.returncode == 1, checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[0] == f"{database}: damaged; PRAGMA integrity_check found 3 problem(s):"
    assert len(lines) == 4
    assert all(line.startswith("  ") and "page" in line for line in lines[1:])


def test_db_check_on_a_missing_database_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text(
        yaml.safe_dump({"db": {"sqlite": {"path": str(tmp_path / "x.db")}}})
    )
    result = stowage(tmp_path, "db", "check")
    assert result.returncode == 1
    assert f"no database at {tmp_path / 'x.db'}" in result.stderr
    assert not (tmp_path / "x.db").exists()
