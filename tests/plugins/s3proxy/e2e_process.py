"""Stowage as a separate ``stowage serve`` process (for memory measurements), with a credential minted
in its database before it starts, and a client-side SigV4 signer for streaming aiohttp requests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from stowage.core.formats.timefmt import utcnow
from stowage.core.tooling.rclone_launcher import free_port
from stowage.plugins.s3proxy.outbound import UpstreamSigner
from stowage.testing.harness import runtime_for

STOWAGE = str(Path(sys.executable).parent / "stowage")


@dataclass
class ServedStowage:
    pid: int
    endpoint: str
    dashboard: str
    access_key: str
    secret_key: str

    def signer(self) -> UpstreamSigner:
        """A client-side signer for the virtual credential (UNSIGNED-PAYLOAD, header auth)."""
        return UpstreamSigner(self.endpoint, "us-east-1", self.access_key, self.secret_key)


async def mint_offline(
    directory: Path, settings: dict[str, Any], env: dict[str, str], root_key: str, buckets: list[str]
) -> tuple[str, str]:
    """Write the settings file and a credential row before any server runs; (access key, secret)."""
    runtime = await runtime_for(directory, settings, root_key=root_key, env=env)
    await runtime.open_store()
    try:
        access_key = "AKIA" + secrets.token_hex(8).upper()
        secret = secrets.token_hex(20)
        assert runtime.secret_box is not None
        await runtime.store.credentials.insert(
            access_key=access_key,
            secret_key_enc=runtime.secret_box.seal(secret),
            backend_id="up",
            buckets=buckets,
            created_at=utcnow(),
        )
    finally:
        await runtime.store.close()
    return access_key, secret


def process_settings(directory: Path, upstream: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Settings for a proxy in front of ``upstream`` on fixed free ports, and the env it needs."""
    env = {"PROXY_UP_AK": upstream.access_key, "PROXY_UP_SK": upstream.secret_key}
    settings = {
        "server": {"listen": f"127.0.0.1:{free_port()}"},
        "s3_proxy": {"enabled": True, "listen": f"127.0.0.1:{free_port()}"},
        "log": {"level": "warn", "format": "text"},
        "backends": [
            {
                "id": "up",
                "type": "s3v4",
                "endpoint": upstream.endpoint_url,
                "access_key_env": "PROXY_UP_AK",
                "secret_key_env": "PROXY_UP_SK",
                "path_style": True,
            }
        ],
    }
    return settings, env


@contextlib.asynccontextmanager
async def served_stowage(
    directory: Path, upstream: Any, buckets: list[str], extra_settings: dict[str, Any] | None = None
) -> AsyncIterator[ServedStowage]:
    """``stowage serve`` in a child process until the block exits (SIGTERM, then SIGKILL).

    ``extra_settings`` are merged over the defaults one section deep (e.g. ``{"audit": {...}}``).
    """
    settings, env = process_settings(directory, upstream)
    for section, values in (extra_settings or {}).items():
        settings[section] = {**settings.get(section, {}), **values}
    root_key = secrets.token_hex(32)
    access_key, secret = await mint_offline(directory, settings, env, root_key, buckets)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("STOWAGE_")}
    child_env.update(env, STOWAGE_SECRET_KEY=root_key)
    log = (directory / "stowage.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        STOWAGE,
        "serve",
        "--config",
        str(directory / "settings.yaml"),
        env=child_env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    served = ServedStowage(
        proc.pid,
        "http://" + settings["s3_proxy"]["listen"],
        "http://" + settings["server"]["listen"],
        access_key,
        secret,
    )
    try:
        await _wait_ready(served, proc)
        yield served
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        log.close()


async def _wait_ready(served: ServedStowage, proc: asyncio.subprocess.Process) -> None:
    signer = served.signer()
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if proc.returncode is not None:
                raise RuntimeError(f"stowage serve exited with {proc.returncode}")
            outbound = signer.build("GET", "", "", b"", [])
            url = served.endpoint + "/"
            try:
                async with session.get(url, headers=dict(outbound.headers)) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("stowage serve did not become ready in 30 s")
