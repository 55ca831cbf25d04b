"""s3cmd and rclone run as subprocesses against an endpoint, hermetically (own config, no user files)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

BIN = Path(sys.executable).parent
S3CMD = str(BIN / "s3cmd")
RCLONE = str(BIN / "rclone")


async def run(*argv: str, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """(returncode, stdout, stderr) of ``argv``."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


class S3cmd:
    """``s3cmd -c <config>`` for one endpoint and key pair, path-style, SigV2 or SigV4."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, folder: Path, *, v2: bool) -> None:
        host = urlsplit(endpoint).netloc
        self.config = folder / ("s3cmd-v2.cfg" if v2 else "s3cmd-v4.cfg")
        self.config.write_text(
            "[default]\n"
            f"access_key = {access_key}\n"
            f"secret_key = {secret_key}\n"
            f"host_base = {host}\n"
            f"host_bucket = {host}\n"
            "use_https = False\n"
            f"signature_v2 = {v2}\n"
            "bucket_location = us-east-1\n"
            "guess_mime_type = False\n"
            "progress_meter = False\n"
        )
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        self.env["HOME"] = str(folder)

    async def __call__(self, *args: str) -> tuple[int, str, str]:
        return await run(S3CMD, "-c", str(self.config), *args, env=self.env)


class Rclone:
    """``rclone`` with one S3 remote ``px:`` in its default configuration (no --s3-no-check-bucket)."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, folder: Path) -> None:
        config = folder / "rclone.conf"
        config.write_text(
            "[px]\ntype = s3\nprovider = Other\n"
            f"access_key_id = {access_key}\nsecret_access_key = {secret_key}\nendpoint = {endpoint}\n"
        )
        self.argv = [RCLONE, "--config", str(config), "--retries", "1", "--low-level-retries", "1"]
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "RCLONE_")) or key == "AWS_CA_BUNDLE"
        }

    async def __call__(self, *args: str) -> tuple[int, str, str]:
        return await run(*self.argv, *args, env=self.env)
