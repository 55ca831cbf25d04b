"""Server side of the bench: the upstream, the floors and Stowage, each a process pinned to a core."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

from stowage.core.formats.timefmt import format_ts, utcnow
from stowage.core.security.secretbox import SecretBox
from stowage.core.tooling.rclone_launcher import RcloneUpstream

ROOT = Path(__file__).resolve().parent.parent
UP_KEY, UP_SECRET = "benchadmin", secrets.token_hex(16)
VC_KEY, VC_SECRET = "AKIABENCHBENCHBENCH2", secrets.token_hex(20)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin(pid: int, cores: list[int]) -> None:
    """Pin a process (and its threads) to ``cores`` when the machine has them."""
    available = os.sched_getaffinity(0) | set(range(os.cpu_count() or 1))
    wanted = [c for c in cores if c in available]
    if wanted:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            proc.cpu_affinity(wanted)
            for thread in proc.threads():
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(thread.id, wanted)


def wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@dataclass
class Server:
    name: str
    port: int
    process: psutil.Process
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.popen is not None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()


def _spawn(
    name: str,
    args: list[str],
    port: int,
    core: list[int],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Server:
    popen = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pin(popen.pid, core)
    wait_port(port)
    pin(popen.pid, core)  # again: threads started during start-up
    return Server(name, port, psutil.Process(popen.pid), popen)


@contextlib.contextmanager
def upstream(workdir: Path, core: list[int]) -> Iterator[tuple[RcloneUpstream, Server]]:
    data = workdir / "objects"
    (data / "bench").mkdir(parents=True, exist_ok=True)
    up = RcloneUpstream(data, UP_KEY, UP_SECRET)
    up.start_sync()
    assert up.pid is not None
    pin(up.pid, core)
    try:
        yield up, Server("rclone", int(up.endpoint_url.rsplit(":", 1)[1]), psutil.Process(up.pid))
    finally:
        up.stop_sync()


def floor(kind: str, upstream_port: int, core: list[int]) -> Server:
    port = free_port()
    args = [sys.executable, str(ROOT / "bench" / "floors.py"), kind, "--listen", f"127.0.0.1:{port}",
            "--upstream", f"127.0.0.1:{upstream_port}"]  # fmt: skip
    return _spawn(kind, args, port, core)


def stowage(
    workdir: Path, upstream_url: str, core: list[int], extra: dict[str, object] | None = None
) -> Server:
    """``stowage serve`` with the proxy on, one backend (the upstream) and one minted credential."""
    folder = workdir / "stowage"
    folder.mkdir(exist_ok=True)
    port, dash = free_port(), free_port()
    settings: dict[str, object] = {
        "server": {"listen": f"127.0.0.1:{dash}"},
        "log": {"level": "error"},
        "db": {"sqlite": {"path": str(folder / "stowage.db")}},
        "s3_proxy": {"enabled": True, "listen": f"127.0.0.1:{port}"},
        "plugins": {"dir": str(folder / "plugins.d")},
        "backends": [
            {
                "id": "up",
                "type": "s3v4",
                "endpoint": upstream_url,
                "access_key_env": "BENCH_UP_AK",
                "secret_key_env": "BENCH_UP_SK",
                "path_style": True,
            }
        ],  # fmt: skip
        **(extra or {}),
    }
    (folder / "settings.yaml").write_text(yaml.safe_dump(settings))
    key = secrets.token_hex(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOWAGE_")}
    env.update(STOWAGE_SECRET_KEY=key, BENCH_UP_AK=UP_KEY, BENCH_UP_SK=UP_SECRET)
    cli = [sys.executable, "-m", "stowage.core.kernel.cli"]
    subprocess.run(
        [*cli, "migrate", "--config", "settings.yaml"], cwd=folder, env=env, check=True, capture_output=True
    )
    box = SecretBox(bytes.fromhex(key))
    with contextlib.closing(sqlite3.connect(folder / "stowage.db")) as db, db:
        now = format_ts(utcnow())
        db.execute(
            "INSERT OR REPLACE INTO s3_credentials(access_key, secret_key_enc, backend_id, buckets, description,"
            " enabled, created_at, updated_at) VALUES (?, ?, 'up', '[\"bench\"]', 'bench', 1, ?, ?)",
            (VC_KEY, box.seal(VC_SECRET), now, now),
        )
    return _spawn("stowage", [*cli, "serve", "--config", "settings.yaml"], port, core, env=env, cwd=folder)
