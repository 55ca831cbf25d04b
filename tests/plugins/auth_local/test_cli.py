"""``stowage create-admin`` and ``hash-password`` as operators run them: real processes and files."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path

import yaml

from stowage.core.security.passwords import verify_password_sync
from tests.core.kernel.test_cli import Serve
from tests.plugins.auth_local.helpers import cli

ULID = r"[0-9A-HJKMNP-TV-Z]{26}"


def test_create_admin_on_an_empty_database(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text(
        yaml.safe_dump({"auth": {"local": {"password": {"min_length": 14}}}})
    )
    args = [
        "create-admin",
        "--username",
        "ops",
        "--password",
        "fourteen-chars",
        "--email",
        "ops@example.com",
        "--must-change-password",
        "--config",
        "settings.yaml",
    ]
    made = cli(args, tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("created admin user ops (id=")
    with sqlite3.connect(tmp_path / "stowage.db") as db:
        row = db.execute("SELECT id, role, email, must_change_pw, password_hash FROM users").fetchone()
    assert made.stdout.strip() == f"created admin user ops (id={row[0]})"
    assert row[1:4] == ("admin", "ops@example.com", 1)
    assert verify_password_sync("fourteen-chars", row[4])

    again = cli(args, tmp_path)
    assert again.returncode == 1
    assert again.stderr.strip().endswith("stowage: create admin: username already taken")

    weak = cli(
        ["create-admin", "--username", "w", "--password", "short", "--config", "settings.yaml"], tmp_path
    )
    assert weak.returncode == 1
    assert "password must be at least 14 characters" in weak.stderr


def test_create_admin_beside_a_running_serve(tmp_path: Path) -> None:
    server = Serve(tmp_path).start()
    try:
        made = cli(
            [
                "create-admin",
                "--username",
                "late",
                "--password",
                "created-while-serving",
                "--config",
                "settings.yaml",
            ],
            tmp_path,
        )
        assert made.returncode == 0, made.stderr
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/auth/login/local",
            data=json.dumps({"username": "late", "password": "created-while-serving"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read()) == {"status": "ok", "source": "local", "must_change_pw": False}
            assert any(h.startswith("stowage_session=") for h in response.headers.get_all("Set-Cookie"))
    finally:
        assert server.stop() == 0


def test_hash_password_prints_a_phc_string_that_verifies(tmp_path: Path) -> None:
    result = cli(["hash-password", "--password", "p@ss w0rd"], tmp_path)
    assert result.returncode == 0, result.stderr
    phc = result.stdout.strip()
    assert phc.startswith("$argon2id$v=19$m=65536,t=3,p=2$")
    assert verify_password_sync("p@ss w0rd", phc)
    empty = cli(["hash-password"], tmp_path, stdin="\n")
    assert empty.returncode == 1
    assert "empty password" in empty.stderr
