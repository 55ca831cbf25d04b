"""Helpers for the auth_local tests: users inserted with one precomputed hash, a cookie-aware client."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from stowage.core.contracts.accounts import User, at, users
from stowage.core.security.passwords import hash_password_sync

PASSWORD = "correct-horse-battery"
STOWAGE = [sys.executable, "-m", "stowage.core.kernel.cli"]


@functools.cache
def known_hash() -> str:
    """One real argon2id hash of ``PASSWORD``, computed once per test run (each costs ~0.2 s)."""
    return hash_password_sync(PASSWORD)


async def add_user(
    runtime: Any, username: str, role: str = "user", *, must_change_pw: bool = False, email: str | None = None
) -> User:
    """Insert a local user whose password is ``PASSWORD`` straight through the repository."""
    return await users(runtime).create(
        username=username,
        password_hash=known_hash(),
        role=role,
        now=at(runtime.clock()),
        email=email,
        must_change_pw=must_change_pw,
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOWAGE_")}
    env.update(extra)
    return env


def cli(
    args: list[str], cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        STOWAGE + args,
        cwd=cwd,
        env=env or clean_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_path(running: Any) -> Path:
    """The settings file the harness wrote for a running Stowage (beside its database)."""
    return Path(running.runtime.settings.db.sqlite.path).parent / "settings.yaml"


class Client:
    """One browser: its own cookie jar; sends ``X-CSRF-Token`` from the ``stowage_csrf`` cookie."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()

    def cookie(self, name: str) -> str:
        found = [c.value for c in self.http.cookie_jar if c.key == name]
        return found[0] if found else ""

    async def call(
        self, method: str, path: str, json: Any = None, *, csrf: bool = True
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = (
            {"X-CSRF-Token": self.cookie("stowage_csrf")} if csrf and self.cookie("stowage_csrf") else {}
        )
        payload = {"data": json} if isinstance(json, bytes) else {"json": json}
        async with self.http.request(method, self.base_url + path, headers=headers, **payload) as response:
            text = await response.text()
            body = await response.json() if text and response.content_type == "application/json" else text
            return response.status, body, response

    async def login(self, username: str, password: str = PASSWORD) -> tuple[int, Any, aiohttp.ClientResponse]:
        return await self.call("POST", "/auth/login/local", {"username": username, "password": password})

    async def code(self, method: str, path: str, json: Any = None, *, csrf: bool = True) -> tuple[int, str]:
        """Status and error code (empty for successes)."""
        status, body, _ = await self.call(method, path, json, csrf=csrf)
        return status, body.get("error", {}).get("code", "") if isinstance(body, dict) else ""


class Recorder:
    """An audit recorder that keeps events in memory."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def record(self, event: Any) -> None:
        self.events.append(event)

    async def flush(self) -> None:
        return None

    def actions(self) -> list[str]:
        return [e.action for e in self.events]
