"""The plugin author's kit: the pytest plugin without boto3, the in-process client, the stand-ins,
and the order in which lifecycle hooks fire."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from stowage.hooks import hookimpl
from stowage.testing import AuditCapture, HeaderAuth

ROOT = Path(__file__).resolve().parents[2]
STRONG = "a-long-enough-password-1"

BLOCK_BOTO3 = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "boto3" or name.startswith("boto3."):
            raise ImportError("boto3 is blocked: the dev extra is not installed")
        return None

sys.meta_path.insert(0, Block())
import stowage.testing
assert "boto3" not in sys.modules
try:
    import boto3
except ImportError:
    print("ok")
"""


def test_the_pytest_plugin_loads_without_boto3() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", BLOCK_BOTO3], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"  # the blocker really blocked


async def test_api_client_is_signed_in_and_sends_csrf(stowage_factory: Any) -> None:
    async with stowage_factory() as running:
        client = await running.api_client(role="admin", username="kit-admin")
        me = await client.get("/api/me")
        assert me.status_code == 200
        assert (await me.get_json())["username"] == "kit-admin"
        created = await client.post(
            "/api/admin/users", json={"username": "kit-bob", "password": STRONG, "role": "user"}
        )
        assert created.status_code == 201, await created.get_data()
        # The same session without the CSRF header is refused: the client really sends it.
        bare = await client.test_client.post(
            "/api/admin/users", json={"username": "kit-eve", "password": STRONG, "role": "user"}
        )
        assert bare.status_code == 403
        assert (await bare.get_json())["error"]["code"] == "csrf_invalid"


async def test_api_client_role_is_enforced(stowage_factory: Any) -> None:
    async with stowage_factory() as running:
        reader = await running.api_client(role="readonly")
        denied = await reader.post(
            "/api/admin/users", json={"username": "kit-x", "password": STRONG, "role": "user"}
        )
        assert denied.status_code == 403


async def test_header_auth_and_audit_capture(stowage_factory: Any) -> None:
    audit = AuditCapture()
    plugins = [("kit_auth", HeaderAuth()), ("kit_audit", audit)]
    async with stowage_factory(plugins=plugins) as running:
        client = running.listeners[0].app.test_client()
        anonymous = await client.get("/api/me")
        assert anonymous.status_code == 401
        me = await client.get("/api/me", headers=HeaderAuth.headers("admin"))
        assert (await me.get_json())["id"] == "test-admin"
        created = await client.post(
            "/api/admin/users",
            json={"username": "kit-carol", "password": STRONG, "role": "user"},
            headers=HeaderAuth.headers("admin"),
        )
        assert created.status_code == 201
        events = await audit.collected("user.")
    assert [(e.action, e.user_id, e.outcome) for e in events] == [("user.create", "test-admin", "ok")]


class LifecycleProbe:
    """Records, in one shared list, each lifecycle hook as it fires for this plugin."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    @hookimpl
    def stowage_settings_validators(self) -> list[Any]:
        self.calls.append(f"{self.name}:settings_validators")
        return []

    @hookimpl
    def stowage_store(self, settings: Any) -> None:
        self.calls.append(f"{self.name}:store")

    @hookimpl
    def stowage_migrations(self) -> None:
        self.calls.append(f"{self.name}:migrations")

    @hookimpl
    async def stowage_startup(self, runtime: Any) -> None:
        self.calls.append(f"{self.name}:startup")

    @hookimpl
    def stowage_blueprints(self, runtime: Any) -> list[Any]:
        self.calls.append(f"{self.name}:blueprints")
        return []

    @hookimpl
    async def stowage_shutdown(self, runtime: Any) -> None:
        self.calls.append(f"{self.name}:shutdown")


async def test_lifecycle_hooks_fire_in_documented_order(stowage_factory: Any) -> None:
    calls: list[str] = []
    plugins = [("probe_a", LifecycleProbe("a", calls)), ("probe_b", LifecycleProbe("b", calls))]
    async with stowage_factory(plugins=plugins):
        started = list(calls)
    # Collecting hooks run later-registered plugins first, except startup (registration order) and
    # shutdown (reverse registration order); the store is asked until one answers (built-in last).
    assert started == [
        "b:settings_validators",
        "a:settings_validators",
        "b:store",
        "a:store",
        "b:migrations",
        "a:migrations",
        "a:startup",
        "b:startup",
        "b:blueprints",
        "a:blueprints",
    ]
    assert calls[len(started) :] == ["b:shutdown", "a:shutdown"]
