"""The ``stowage`` command as an operator runs it: real processes, real files, real listeners."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

STOWAGE = [sys.executable, "-m", "stowage.core.kernel.cli"]
FIXTURE_PLUGINS = Path(__file__).parent / "plugins_fixture"
CORE_MIGRATIONS = [
    (1, "initial"),
    (2, "shares"),
    (3, "bucket_quotas"),
    (4, "audit_events"),
    (5, "bucket_pins"),
    (6, "users_oidc_subject"),
    (7, "backends"),
    (8, "bucket_size_tracking"),
    (9, "s3_credentials"),
    (10, "s3_anonymous_bindings"),
    (11, "s3_bucket_cors"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOWAGE_")}
    env.update(extra)
    return env


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        STOWAGE + args, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout
    )


def wait_http(url: str, proc: subprocess.Popen[str], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


class Serve:
    """``stowage serve`` in a folder, as a subprocess."""

    def __init__(self, folder: Path, settings: dict | None = None, env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        merged = {
            "server": {"listen": f"127.0.0.1:{self.port}"},
            "plugins": {"dir": str(folder / "plugins.d")},
        }
        for key, value in (settings or {}).items():
            merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
        (folder / "settings.yaml").write_text(yaml.safe_dump(merged))
        self.env = env or clean_env()
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> Serve:
        self.log = open(self.folder / "serve.log", "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*STOWAGE, "serve", "--config", "settings.yaml"],
            cwd=self.folder,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_http(f"http://127.0.0.1:{self.port}/healthz", self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=20)
        self.log.close()
        return code

    def output(self) -> str:
        return (self.folder / "serve.log").read_text()


def test_serve_in_empty_folder_creates_database_and_second_start_applies_nothing(tmp_path: Path) -> None:
    server = Serve(tmp_path).start()
    try:
        assert (tmp_path / "stowage.db").exists()
        assert (tmp_path / "stowage.db-wal").exists()
        assert (tmp_path / "stowage.db-shm").exists()
        with sqlite3.connect(tmp_path / "stowage.db") as db:
            rows = db.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
        assert rows == CORE_MIGRATIONS
    finally:
        assert server.stop() == 0
    first_log = server.output()
    assert first_log.count("migration applied") == 11
    assert "stowage starting" in first_log

    again = Serve(tmp_path).start()
    assert again.stop() == 0
    assert again.output().count("migration applied") == 11  # nothing new in the second run's lines


def test_sqlite_path_environment_overrides(tmp_path: Path) -> None:
    yaml_db = tmp_path / "from-yaml.db"
    settings = {"db": {"sqlite": {"path": str(yaml_db)}}}
    for env_name in ("STOWAGE_SQLITE_PATH", "STOWAGE_DB__SQLITE__PATH"):
        target = tmp_path / f"{env_name.lower()}.db"
        server = Serve(tmp_path, settings, env=clean_env(**{env_name: str(target)})).start()
        assert server.stop() == 0
        assert target.exists(), env_name
        assert not yaml_db.exists()
    server = Serve(tmp_path, settings).start()
    assert server.stop() == 0
    assert yaml_db.exists()


def test_postgres_driver_is_refused_without_creating_a_database(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump({"db": {"driver": "postgres"}}))
    result = run(["serve", "--config", "settings.yaml"], tmp_path)
    assert result.returncode == 1
    assert "db.driver" in result.stderr
    assert "not yet implemented" in result.stderr
    assert result.stderr.startswith("stowage: load config:")
    assert not (tmp_path / "stowage.db").exists()


@pytest.mark.parametrize(
    ("settings", "env", "needle"),
    [
        ({"log": {"format": "xml"}}, {}, "log.format"),
        (
            {
                "server": {"listen": "127.0.0.1:9999"},
                "s3_proxy": {"enabled": True, "listen": "127.0.0.1:9999"},
            },
            {"STOWAGE_SECRET_KEY": "ab" * 32},
            "s3_proxy.listen must differ from server.listen",
        ),
        ({}, {"STOWAGE_SECRET_KEY": "not-a-key"}, "STOWAGE_SECRET_KEY"),
        ({"db": {"driver": "mysql"}}, {}, "db.driver"),
        ({"server": {"shutdown_timeout": "ten seconds"}}, {}, "server.shutdown_timeout"),
        ({"audit": {"durability": "fsync"}}, {}, 'audit.durability must be "batch" or "sync"'),
    ],
)
def test_bad_settings_stop_start_up_naming_the_key(
    tmp_path: Path, settings: dict, env: dict, needle: str
) -> None:
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(settings))
    result = run(["serve", "--config", "settings.yaml"], tmp_path, env=clean_env(**env), timeout=30)
    assert result.returncode == 1, result.stdout
    assert needle in result.stderr
    assert not (tmp_path / "stowage.db").exists()


def test_cli_usage_errors(tmp_path: Path) -> None:
    empty = run([], tmp_path)
    assert empty.returncode == 1
    assert "no command given" in empty.stderr
    unknown = run(["frobnicate"], tmp_path)
    assert unknown.returncode == 1
    assert "unknown command" in unknown.stderr
    helped = run(["--help"], tmp_path)
    assert helped.returncode == 0
    assert "serve" in helped.stdout


@pytest.mark.parametrize("spelling", ["--help", "-h", "help"])
def test_help_lists_plugin_commands(tmp_path: Path, spelling: str) -> None:
    helped = run([spelling], tmp_path)
    assert helped.returncode == 0, helped.stderr
    listed = helped.stdout.split()
    for command in ("serve", "quickstart", "create-admin", "hash-password"):
        assert command in listed, helped.stdout
    assert helped.stderr == ""


def test_help_with_unloadable_settings_still_helps_and_says_why(tmp_path: Path) -> None:
    helped = run(["--help", "--config", "missing.yaml"], tmp_path)
    assert helped.returncode == 0 and "serve" in helped.stdout.split()
    assert "create-admin" not in helped.stdout
    assert "plugin commands not listed" in helped.stderr and "missing.yaml" in helped.stderr


def _install_tick_writer(folder: Path) -> None:
    (folder / "plugins.d").mkdir(exist_ok=True)
    shutil.copy(FIXTURE_PLUGINS / "tick_writer.py", folder / "plugins.d" / "tick_writer.py")


def _ticks(db_path: Path) -> int:
    with sqlite3.connect(db_path, timeout=10) as db:
        return int(db.execute("SELECT coalesce(max(id), 0) FROM ticks").fetchone()[0])


def test_backup_while_serve_writes_is_consistent_and_complete(tmp_path: Path) -> None:
    _install_tick_writer(tmp_path)
    server = Serve(tmp_path).start()
    try:
        deadline = time.monotonic() + 10
        while _ticks(tmp_path / "stowage.db") < 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
        committed_before = _ticks(tmp_path / "stowage.db")
        assert committed_before >= 2000
        result = run(["backup", str(tmp_path / "snap.db"), "--config", "settings.yaml"], tmp_path)
        assert result.returncode == 0, result.stderr
        refused = run(["backup", str(tmp_path / "snap.db"), "--config", "settings.yaml"], tmp_path)
        assert refused.returncode == 1
        assert "--force" in refused.stderr
        assert _ticks(tmp_path / "stowage.db") > committed_before  # the writer kept going
    finally:
        assert server.stop() == 0
    with sqlite3.connect(tmp_path / "snap.db") as snap:
        assert snap.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count, highest = snap.execute("SELECT count(*), max(id) FROM ticks").fetchone()
        assert highest >= committed_before
        assert count == highest  # no gaps: every committed row up to the snapshot is present
        plugin_rows = snap.execute("SELECT plugin, version, name FROM plugin_migrations").fetchall()
    assert plugin_rows == [("plugins.d/tick_writer", 1, "ticks")] or plugin_rows == [
        ("tick_writer", 1, "ticks")
    ]


def test_sigkill_during_writes_never_corrupts_the_database(tmp_path: Path) -> None:
    _install_tick_writer(tmp_path)
    for _ in range(3):
        server = Serve(tmp_path).start()
        time.sleep(0.3)
        server.stop(signal.SIGKILL)
        with sqlite3.connect(tmp_path / "stowage.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert _ticks(tmp_path / "stowage.db") > 0


def test_migrate_status_lists_applied_and_pending(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump({"plugins": {"dir": str(tmp_path / "plugins.d")}}))
    before = run(["migrate", "--status", "--config", "settings.yaml"], tmp_path)
    assert before.returncode == 0, before.stderr
    assert "pending    11  s3_bucket_cors" in before.stdout
    applied = run(["migrate", "--config", "settings.yaml"], tmp_path)
    assert "applied core 11 s3_bucket_cors" in applied.stdout
    after = run(["migrate", "--status", "--config", "settings.yaml"], tmp_path)
    assert "applied    11  s3_bucket_cors" in after.stdout
    assert "pending" not in after.stdout


def test_database_with_unknown_migration_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump({"plugins": {"dir": str(tmp_path / "plugins.d")}}))
    assert run(["migrate", "--config", "settings.yaml"], tmp_path).returncode == 0
    db = sqlite3.connect(tmp_path / "stowage.db")
    with db:
        db.execute("INSERT INTO schema_migrations(version, name) VALUES (99, 'from_the_future')")
    db.close()  # the last connection checkpoints the WAL into the main file
    before = (tmp_path / "stowage.db").read_bytes()
    result = run(["serve", "--config", "settings.yaml"], tmp_path)
    assert result.returncode == 1
    assert "newer than this Stowage" in result.stderr
    assert (tmp_path / "stowage.db").read_bytes() == before


def test_config_check_and_plugins_listing(tmp_path: Path) -> None:
    _install_tick_writer(tmp_path)
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump({"plugins": {"dir": str(tmp_path / "plugins.d")}}))
    env = clean_env(STOWAGE_SECRET_KEY="cd" * 32)
    checked = run(["config", "check", "--config", "settings.yaml"], tmp_path, env=env)
    assert checked.returncode == 0, checked.stderr
    assert "listen: :8080" in checked.stdout
    assert "cd" * 32 not in checked.stdout
    listed = run(["plugins", "--config", "settings.yaml"], tmp_path)
    assert listed.returncode == 0
    lines = {line.split("\t")[0]: line for line in listed.stdout.splitlines()}
    assert "builtin:stowage.plugins.sqlite" in lines["sqlite"]
    assert "stowage_store" in lines["sqlite"]
    assert "plugins.d/tick_writer" in lines
    assert str(tmp_path / "plugins.d" / "tick_writer.py") in lines["plugins.d/tick_writer"]
