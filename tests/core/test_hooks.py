"""One test per core hook: each is called by the core at the documented moment with its arguments."""

from __future__ import annotations

import argparse
import types
from pathlib import Path

import aiohttp
import pytest
from dynaconf import Validator
from quart import Blueprint, jsonify

from stowage.core.contracts.store import Migration, MigrationSet
from stowage.core.kernel.cli import Command, main
from stowage.core.kernel.config import parse_listen
from stowage.core.kernel.errors import ConfigError
from stowage.core.kernel.runtime import load_settings_and_plugins
from stowage.core.kernel.server import Listener
from stowage.core.tooling.quickstart import _prepare as quickstart_prepare
from stowage.hooks import hookimpl
from stowage.testing.harness import runtime_for, write_settings


def plugin(**hooks_: object) -> types.SimpleNamespace:
    return types.SimpleNamespace(**hooks_)


def test_hook_stowage_settings_validators(tmp_path: Path) -> None:
    validators = plugin(
        stowage_settings_validators=hookimpl(
            lambda: [Validator("plugins.checked.size", is_type_of=int, gte=1, must_exist=True)]
        )
    )
    bad = write_settings(tmp_path, {"plugins": {"checked": {"size": 0}}})
    with pytest.raises(ConfigError, match=r"plugins\.checked\.size"):
        load_settings_and_plugins(str(bad), environ={}, extra_plugins=[("checked", validators)])
    good = write_settings(tmp_path, {"plugins": {"checked": {"size": 3}}})
    settings, _ = load_settings_and_plugins(str(good), environ={}, extra_plugins=[("checked", validators)])
    assert settings.plugins.section("checked") == {"size": 3}


async def test_hook_stowage_store(tmp_path: Path) -> None:
    seen = []

    @hookimpl(tryfirst=True)
    async def stowage_store(settings):  # an async resolver answering None passes on
        seen.append(settings.db.driver)
        return None

    runtime = await runtime_for(tmp_path, plugins=[("spy", plugin(stowage_store=stowage_store))])
    assert seen == ["sqlite"]
    assert type(runtime.store).__module__.startswith("stowage.plugins.sqlite")


async def test_hook_stowage_migrations(tmp_path: Path) -> None:
    notes = MigrationSet("notes", (Migration(1, "notes", "CREATE TABLE notes(id INTEGER PRIMARY KEY)"),))
    runtime = await runtime_for(
        tmp_path, plugins=[("notes", plugin(stowage_migrations=hookimpl(lambda: notes)))]
    )
    applied = await runtime.open_store()
    try:
        assert ("notes", 1, "notes") in [(a.plugin, a.version, a.name) for a in applied]
        rows = await runtime.store.db.fetchall("SELECT plugin, version, name FROM plugin_migrations")
        assert [tuple(r) for r in rows] == [("notes", 1, "notes")]
    finally:
        await runtime.store.close()


async def test_hook_stowage_blueprints(stowage_factory) -> None:
    blueprint = Blueprint("hello", __name__)

    @blueprint.get("/hello")
    async def hello():
        return jsonify({"hello": "world"})

    hooks_ = plugin(stowage_blueprints=hookimpl(lambda runtime: [blueprint]))
    async with stowage_factory(plugins=[("hello", hooks_)]) as stowage, aiohttp.ClientSession() as http:
        async with http.get(stowage.dashboard_url + "/hello") as response:
            assert response.status == 200
            assert await response.json() == {"hello": "world"}
            assert response.headers["X-Frame-Options"] == "DENY"


async def test_hook_stowage_startup(stowage_factory) -> None:
    calls = []

    @hookimpl
    async def stowage_startup(runtime):
        calls.append(("startup", runtime.store.db_bytes() > 0))

    async with stowage_factory(plugins=[("starter", plugin(stowage_startup=stowage_startup))]):
        assert calls == [("startup", True)]  # after migrations, before serving


async def test_hook_stowage_shutdown(stowage_factory) -> None:
    order = []

    def make(name: str) -> types.SimpleNamespace:
        @hookimpl
        async def stowage_shutdown(runtime):
            order.append(name)
            if name == "first":
                raise RuntimeError("shutdown errors are logged, not fatal")

        return plugin(stowage_shutdown=stowage_shutdown)

    async with stowage_factory(plugins=[("first", make("first")), ("second", make("second"))]) as stowage:
        runtime = stowage.runtime
    assert order == ["second", "first"]  # reverse registration order: last registered, first out
    with pytest.raises(Exception):  # the store is closed after shutdown hooks ran
        await runtime.store.db.fetchone("SELECT 1")


def test_hook_stowage_cli_commands(tmp_path: Path, monkeypatch, capsys) -> None:
    plugins_dir = tmp_path / "plugins.d"
    plugins_dir.mkdir()
    (plugins_dir / "hello_cmd.py").write_text(
        "from stowage.core.kernel.command import Command\n"
        "from stowage.hooks import hookimpl\n"
        "def _args(p): p.add_argument('--name', required=True)\n"
        "def _run(args, ctx): print('hello', args.name); return 0\n"
        "@hookimpl\n"
        "def stowage_cli_commands(): return [Command('hello', 'say hello', _args, _run)]\n"
    )
    settings = write_settings(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("STOWAGE_")]:
        monkeypatch.delenv(name)
    assert main(["hello", "--name", "ops", "--config", str(settings)]) == 0
    assert capsys.readouterr().out.strip() == "hello ops"
    assert isinstance(
        Command("x", "y", lambda p: None, lambda a, c: 0).add_arguments(argparse.ArgumentParser()), type(None)
    )


async def test_hook_stowage_listeners(stowage_factory) -> None:
    async def hello_app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
        await send({"type": "http.response.body", "body": b"hello"})

    listener = Listener("hello", parse_listen("127.0.0.1:0", "plugins.hello.listen"), hello_app)
    hooks_ = plugin(stowage_listeners=hookimpl(lambda runtime: [listener]))
    async with stowage_factory(plugins=[("hello", hooks_)]) as stowage, aiohttp.ClientSession() as http:
        assert listener.port > 0  # the bound port is written back into the contributed object
        assert stowage.url("hello") == f"http://127.0.0.1:{listener.port}"
        async with http.get(stowage.url("hello") + "/") as response:
            assert (response.status, await response.read()) == (200, b"hello")


async def test_hook_stowage_quickstart_steps(stowage_factory) -> None:
    seen = []

    async def step(runtime, args, random_password):
        seen.append((args.admin_username, random_password()))
        return {"my plugin": "ready"}

    hooks_ = plugin(stowage_quickstart_steps=hookimpl(lambda runtime: [step]))
    async with stowage_factory(plugins=[("stepper", hooks_)]) as stowage:
        args = argparse.Namespace(admin_username="root", admin_password="")
        banner = await quickstart_prepare(stowage.runtime, args)
    assert seen and seen[0][0] == "root" and len(seen[0][1]) >= 16
    # Registration order: the built-in admin step runs first, the plugin's after it.
    assert list(banner) == ["admin user", "admin password", "my plugin"]
    assert banner["my plugin"] == "ready"
