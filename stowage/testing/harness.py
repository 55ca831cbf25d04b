"""Start a real Stowage (Runtime + listeners on loopback) for tests, with any plugins loaded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stowage.core.kernel.runtime import Runtime, build_runtime, load_settings_and_plugins
from stowage.core.kernel.server import Listener, serve
from stowage.testing.api_client import ApiClient, signed_in_client

__all__ = ["RunningStowage", "running_stowage", "runtime_for", "write_settings"]


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def write_settings(directory: Path, settings: Mapping[str, Any] | None = None) -> Path:
    """Write a test settings file: loopback listeners on free ports, a database in ``directory``."""
    base: dict[str, Any] = {
        "server": {"listen": "127.0.0.1:0", "shutdown_timeout": "5s"},
        "log": {"level": "warn", "format": "text"},
        "db": {"sqlite": {"path": str(directory / "stowage.db")}},
        "s3_proxy": {"listen": "127.0.0.1:0"},
        "plugins": {"dir": str(directory / "plugins.d")},
    }
    path = directory / "settings.yaml"
    path.write_text(yaml.safe_dump(_merge(base, settings or {})), encoding="utf-8")
    return path


@dataclass
class RunningStowage:
    """A started Stowage: its Runtime and the base URL of each listener."""

    runtime: Runtime
    listeners: list[Listener] = field(default_factory=list)

    def url(self, name: str = "dashboard") -> str:
        listener = next(item for item in self.listeners if item.name == name)
        return f"http://127.0.0.1:{listener.port}"

    @property
    def dashboard_url(self) -> str:
        return self.url("dashboard")

    async def api_client(self, *, role: str = "admin", username: str = "") -> ApiClient:
        """An in-process client of the dashboard app, signed in as a new local user with ``role``."""
        app = next(item.app for item in self.listeners if item.name == "dashboard")
        return await signed_in_client(self.runtime, app, role=role, username=username)


async def runtime_for(
    directory: Path,
    settings: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    plugins: Sequence[tuple[str, object]] = (),
    root_key: str | None = "generate",
) -> Runtime:
    """Build (not open) a Runtime from test settings; ``root_key='generate'`` makes a random key."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("STOWAGE_")}
    if root_key == "generate":
        environ["STOWAGE_SECRET_KEY"] = secrets.token_hex(32)
    elif root_key:
        environ["STOWAGE_SECRET_KEY"] = root_key
    environ.update(env or {})
    path = write_settings(directory, settings)
    loaded, pm = load_settings_and_plugins(str(path), environ=environ, extra_plugins=plugins)
    return await build_runtime(loaded, pm, environ=environ)


@contextlib.asynccontextmanager
async def running_stowage(
    directory: Path,
    settings: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    plugins: Sequence[tuple[str, object]] = (),
    root_key: str | None = "generate",
) -> AsyncIterator[RunningStowage]:
    """Open a Runtime and serve it on loopback until the block exits (then drain and close)."""
    runtime = await runtime_for(directory, settings, env=env, plugins=plugins, root_key=root_key)
    await runtime.open()
    shutdown = asyncio.Event()
    running = RunningStowage(runtime)
    ready = asyncio.Event()

    def on_ready(listeners: list[Listener]) -> None:
        running.listeners = listeners
        ready.set()

    task = asyncio.ensure_future(serve(runtime, shutdown=shutdown, on_ready=on_ready, install_signals=False))
    ready_wait = asyncio.ensure_future(ready.wait())
    done, _ = await asyncio.wait({task, ready_wait}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        ready_wait.cancel()
        task.result()
    try:
        yield running
    finally:
        shutdown.set()
        await task
