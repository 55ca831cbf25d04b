"""``stowage rotate-key`` on a real SQLite file with sealed backends, credentials and a plugin's
sealed column: the rotated database serves with the new key; refusals, a failed verification and
a process killed mid-transaction all leave the old key valid."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from botocore.config import Config

from stowage.core.kernel import cli
from stowage.core.kernel.errors import SecretKeyError
from stowage.core.security.secretbox import SecretBox
from stowage.core.tooling.rotate_key import RotationRefused, reseal_all
from stowage.plugins.sqlite.store import SqliteStore
from stowage.testing.fixtures_s3 import make_s3_client
from stowage.testing.harness import write_settings
from stowage.testing.stand_ins import ROLE_HEADER, HeaderAuth

# A plugin's own table with one value sealed under the root key and one blob that only looks sealed.
VAULT = "CREATE TABLE plugin_vault (id INTEGER PRIMARY KEY, token BLOB, note TEXT)"
LOOKALIKE = bytes([1, 0]) + b"\x55" * 40


@dataclass
class Node:
    folder: Path
    settings: dict[str, Any]
    key_file: Path
    old_key: bytes
    access_key: str
    secret_key: str
    bucket: str
    token: bytes

    @property
    def db(self) -> Path:
        return self.folder / "stowage.db"

    @property
    def config(self) -> Path:
        return self.folder / "settings.yaml"

    def sealed_rows(self) -> dict[str, bytes]:
        with contextlib.closing(sqlite3.connect(self.db)) as conn:
            rows = {
                f"backend:{i}": bytes(b) for i, b in conn.execute("SELECT id, secret_key_enc FROM backends")
            }
            rows |= {
                f"cred:{a}": bytes(b)
                for a, b in conn.execute("SELECT access_key, secret_key_enc FROM s3_credentials")
            }
            rows |= {f"vault:{i}": bytes(b) for i, b in conn.execute("SELECT id, token FROM plugin_vault")}
        return rows

    def new_key_file(self, name: str = "new.key", key: bytes | None = None) -> tuple[Path, bytes]:
        key = key or secrets.token_bytes(32)
        path = self.folder.parent / name
        path.write_text(key.hex() + "\n", encoding="ascii")
        return path, key


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("STOWAGE_")}


def _settings(folder: Path) -> dict[str, Any]:
    return {
        "server": {"secret_key_file": str(folder / "root.key")},
        "s3_proxy": {"enabled": True},
    }


@contextlib.asynccontextmanager
async def _serving(stowage_factory: Any, node_folder: Path, settings: dict[str, Any]) -> AsyncIterator[Any]:
    plugins = [("test_auth", HeaderAuth(user_id="u-{role}", username="{role}-user"))]
    async with stowage_factory(settings, plugins=plugins, root_key=None, directory=node_folder) as stowage:
        yield stowage


@pytest.fixture
async def node(stowage_factory, rclone_upstream, s3_bucket, tmp_path) -> Node:
    """A stopped Stowage whose database holds a sealed backend, a sealed credential and a plugin's
    sealed value, all under the root key in ``root.key``."""
    folder = tmp_path / "node"
    folder.mkdir()
    settings = _settings(folder)
    async with _serving(stowage_factory, folder, settings) as stowage, aiohttp.ClientSession() as http:
        admin = {ROLE_HEADER: "admin"}
        body = {
            "id": "ui1",
            "name": "ui1",
            "endpoint": rclone_upstream.endpoint_url,
            "region": "us-east-1",
            "access_key": rclone_upstream.access_key,
            "secret_key": rclone_upstream.secret_key,
            "path_style": True,
        }
        async with http.post(stowage.dashboard_url + "/api/admin/backends", json=body, headers=admin) as r:
            assert r.status == 201, await r.text()
        cred = {"backend_id": "ui1", "buckets": [s3_bucket]}
        async with http.post(
            stowage.dashboard_url + "/api/admin/s3-credentials", json=cred, headers=admin
        ) as r:
            assert r.status == 201, await r.text()
            created = await r.json()
        proxy = stowage.url("s3_proxy")
        await asyncio.to_thread(
            _proxy_put, proxy, created["access_key"], created["secret_key"], s3_bucket, b"before"
        )
    old_key = bytes.fromhex((folder / "root.key").read_text().strip())
    token = b"plugin-secret-" + secrets.token_bytes(8)
    with contextlib.closing(sqlite3.connect(folder / "stowage.db")) as conn, conn:
        conn.execute(VAULT)
        conn.execute("INSERT INTO plugin_vault VALUES (1, ?, 'sealed')", (SecretBox(old_key).seal(token),))
        conn.execute("INSERT INTO plugin_vault VALUES (2, ?, 'look-alike')", (LOOKALIKE,))
    return Node(
        folder,
        settings,
        folder / "root.key",
        old_key,
        created["access_key"],
        created["secret_key"],
        s3_bucket,
        token,
    )


def _proxy_client(endpoint: str, access_key: str, secret_key: str) -> Any:
    return make_s3_client(endpoint, access_key, secret_key, config=Config(s3={"addressing_style": "path"}))


def _proxy_put(endpoint: str, access_key: str, secret_key: str, bucket: str, data: bytes) -> None:
    client = _proxy_client(endpoint, access_key, secret_key)
    try:
        client.put_object(Bucket=bucket, Key="rotate.txt", Body=data)
    finally:
        client.close()


def _proxy_get(endpoint: str, access_key: str, secret_key: str, bucket: str) -> bytes:
    client = _proxy_client(endpoint, access_key, secret_key)
    try:
        return bytes(client.get_object(Bucket=bucket, Key="rotate.txt")["Body"].read())
    finally:
        client.close()


def _rotate_process(node: Node, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stowage.core.kernel.cli", "rotate-key", "--config", str(node.config), *args],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _opens_all(node: Node, key: bytes) -> bool:
    box = SecretBox(key)
    try:
        for name, blob in node.sealed_rows().items():
            if name != "vault:2":
                box.unseal(blob)
    except SecretKeyError:
        return False
    return True


async def _serves(stowage_factory: Any, node: Node) -> bytes:
    """Start on the node's database and key file; go through the backend and the proxy credential."""
    async with (
        _serving(stowage_factory, node.folder, node.settings) as stowage,
        aiohttp.ClientSession() as http,
    ):
        url = stowage.dashboard_url + "/api/backends/ui1/buckets"
        async with http.get(url, headers={ROLE_HEADER: "readonly"}) as response:
            assert response.status == 200, await response.text()
            assert node.bucket in [b["name"] for b in (await response.json())["buckets"]]
        proxy = stowage.url("s3_proxy")
        await asyncio.to_thread(_proxy_put, proxy, node.access_key, node.secret_key, node.bucket, b"after")
        return await asyncio.to_thread(_proxy_get, proxy, node.access_key, node.secret_key, node.bucket)


async def test_rotated_database_serves_with_the_new_key(node, stowage_factory) -> None:
    before = node.sealed_rows()
    new_file, new_key = node.new_key_file()
    proc = _rotate_process(node, "--new-key-file", str(new_file))
    assert proc.returncode == 0, proc.stderr
    assert (
        "re-sealed 3 values with the new key (backends: 1, plugin_vault: 1, s3_credentials: 1)" in proc.stdout
    )
    assert "left alone (does not open with the old key): plugin_vault.token (id=2)" in proc.stdout
    assert node.key_file.read_text() == new_key.hex()
    assert node.key_file.stat().st_mode & 0o777 == 0o600
    after = node.sealed_rows()
    assert after["vault:2"] == LOOKALIKE  # not ours: untouched
    assert all(after[name] != before[name] for name in before if name != "vault:2")
    assert _opens_all(node, new_key) and not _opens_all(node, node.old_key)
    assert SecretBox(new_key).unseal(after["vault:1"]) == node.token
    assert (
        node.old_key.hex() not in proc.stdout + proc.stderr and new_key.hex() not in proc.stdout + proc.stderr
    )

    assert await _serves(stowage_factory, node) == b"after"


async def test_env_key_is_rotated_in_the_database_and_the_operator_is_told(node, stowage_factory) -> None:
    new_file, new_key = node.new_key_file()
    env = {**_env(), "STOWAGE_SECRET_KEY": node.old_key.hex()}
    args = ["rotate-key", "--config", str(node.config), "--new-key-file", str(new_file)]
    proc = subprocess.run(
        [sys.executable, "-m", "stowage.core.kernel.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"set it to the contents of {new_file}" in proc.stdout
    assert node.key_file.read_text() == node.old_key.hex()  # the key lives in the environment: file untouched
    assert _opens_all(node, new_key)


async def test_refusals_name_the_problem_and_change_nothing(node, tmp_path, capsys) -> None:
    before = node.sealed_rows()

    folders = iter(range(100))

    async def refused(*args: str, settings: dict[str, Any] | None = None) -> str:
        config = node.config
        if settings is not None:  # another settings file on the same database
            folder = tmp_path / f"alt{next(folders)}"
            folder.mkdir()
            config = write_settings(folder, {**settings, "db": {"sqlite": {"path": str(node.db)}}})
        code = await asyncio.to_thread(cli.main, ["rotate-key", "--config", str(config), *args])
        err = capsys.readouterr().err
        assert code == 1, err
        assert node.sealed_rows() == before and node.key_file.read_text() == node.old_key.hex()
        return err

    missing = tmp_path / "missing.key"
    assert f"stowage: rotate-key: new key file {missing} does not exist" in await refused(
        "--new-key-file", str(missing)
    )
    bad = tmp_path / "bad.key"
    bad.write_text("not-a-key")
    err = await refused("--new-key-file", str(bad))
    assert (
        f"new key file {bad}: secrets: key must be 32 bytes encoded as 64 hex chars or 44 base64 chars" in err
    )
    same, _ = node.new_key_file("same.key", node.old_key)
    assert "holds the current root key" in await refused("--new-key-file", str(same))
    new_file, _ = node.new_key_file()

    # Something listens where the server would: refuse (a running server would seal with the old key).
    with socket_listening() as port:
        listening = {**node.settings, "server": {**node.settings["server"], "listen": f"127.0.0.1:{port}"}}
        err = await refused("--new-key-file", str(new_file), settings=listening)
        assert f"something is listening on server.listen (127.0.0.1:{port})" in err

    no_key = {"server": {"secret_key_file": ""}}
    assert "no root key is configured" in await refused("--new-key-file", str(new_file), settings=no_key)

    # A declared sealed value that the current key cannot open: refuse before writing anything.
    foreign = SecretBox(secrets.token_bytes(32)).seal("someone else's")
    with contextlib.closing(sqlite3.connect(node.db)) as conn, conn:
        conn.execute("UPDATE s3_credentials SET secret_key_enc = ?", (foreign,))
    before = node.sealed_rows()
    err = await refused("--new-key-file", str(new_file))
    assert f"s3_credentials.secret_key_enc (access_key='{node.access_key}') does not open" in err
    assert "nothing was changed" in err


@contextlib.contextmanager
def socket_listening() -> Any:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


class _BrokenSeal(SecretBox):
    """A new-key box whose seal output for the plugin's value is damaged: verification must catch it."""

    def seal(self, plaintext: bytes | str, *, nonce: bytes | None = None) -> bytes:
        sealed = super().seal(plaintext, nonce=nonce)
        damaged = isinstance(plaintext, bytes) and plaintext.startswith(b"plugin-secret-")
        return sealed[:-1] + bytes([sealed[-1] ^ 1]) if damaged else sealed


class _Interrupted(SecretBox):
    """A new-key box that is interrupted (as a cancelled task is) on its second value."""

    calls = 0

    def seal(self, plaintext: bytes | str, *, nonce: bytes | None = None) -> bytes:
        type(self).calls += 1
        if type(self).calls == 2:
            raise asyncio.CancelledError
        return super().seal(plaintext, nonce=nonce)


async def test_failed_verification_or_interruption_rolls_back_and_the_old_key_still_serves(
    node, stowage_factory
) -> None:
    before = node.sealed_rows()
    new_key = secrets.token_bytes(32)
    store = SqliteStore(node.db)
    await store.open()
    try:
        with pytest.raises(
            RotationRefused, match=r"plugin_vault.token \(id=1\): the re-sealed value does not open"
        ):
            await reseal_all(store, SecretBox(node.old_key), _BrokenSeal(new_key))
        assert node.sealed_rows() == before
        with pytest.raises(asyncio.CancelledError):
            await reseal_all(store, SecretBox(node.old_key), _Interrupted(new_key))
        assert node.sealed_rows() == before
    finally:
        await store.close()
    assert _opens_all(node, node.old_key)
    assert await _serves(stowage_factory, node) == b"after"


PAUSING_PLUGIN = '''
import os, time
from stowage import hookimpl
from stowage.plugins.sqlite.store import SqliteStore


class Pausing:
    """Wraps the real sealed repository; stops (forever) after two values were re-sealed."""

    def __init__(self, inner):
        self.inner = inner

    async def rewrite(self, reseal, verify):
        seen = []

        def slow(value):
            blob = reseal(value)
            seen.append(value)
            if len(seen) == 3:  # two UPDATEs are done inside the open transaction
                open(os.environ["ROTATE_PAUSED"], "w").close()
                time.sleep(600)
            return blob

        return await self.inner.rewrite(slow, verify)


@hookimpl
def stowage_store(settings):
    store = SqliteStore(settings.db.sqlite.path)
    store.sealed = Pausing(store.sealed)
    return store
'''


async def test_a_run_killed_inside_the_transaction_leaves_the_old_key_valid(
    node, stowage_factory, tmp_path
) -> None:
    before = node.sealed_rows()
    plugins = node.folder / "plugins.d"
    plugins.mkdir(exist_ok=True)
    (plugins / "pausing_store.py").write_text(PAUSING_PLUGIN, encoding="utf-8")
    paused = tmp_path / "paused"
    new_file, new_key = node.new_key_file()
    log = tmp_path / "rotate.log"
    with log.open("wb") as output:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "stowage.core.kernel.cli", "rotate-key"),
                *("--config", str(node.config), "--new-key-file", str(new_file)),
            ],
            env={**_env(), "ROTATE_PAUSED": str(paused)},
            stdout=output,
            stderr=output,
        )
        try:
            deadline = time.monotonic() + 60
            while not paused.exists() and proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert paused.exists(), log.read_text()
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL  # killed while paused inside the transaction
    (plugins / "pausing_store.py").unlink()
    assert node.sealed_rows() == before
    assert node.key_file.read_text() == node.old_key.hex()
    assert _opens_all(node, node.old_key) and not _opens_all(node, new_key)
    assert await _serves(stowage_factory, node) == b"after"
