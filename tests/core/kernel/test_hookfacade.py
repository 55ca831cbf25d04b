"""The typed hook facade covers every hookspec, with the hookspec's own arguments."""

from __future__ import annotations

import inspect
import types

import pluggy
import pytest

from stowage import hooks
from stowage.core.kernel.hookfacade import Hooks
from stowage.hooks import hookimpl


def hookspec_names() -> list[str]:
    return sorted(n for n, f in vars(hooks).items() if n.startswith("stowage_") and callable(f))


def test_facade_has_one_method_per_hookspec_with_its_arguments() -> None:
    missing, wrong = [], []
    for name in hookspec_names():
        method = getattr(Hooks, name.removeprefix("stowage_"), None)
        if method is None:
            missing.append(name)
            continue
        spec_args = list(inspect.signature(getattr(hooks, name)).parameters)
        facade_args = [p for p in inspect.signature(method).parameters if p != "self"]
        if facade_args != spec_args:
            wrong.append((name, spec_args, facade_args))
    assert not missing, f"hookspecs without a facade method: {missing}"
    assert not wrong, f"facade arguments differ from the hookspec: {wrong}"


def test_facade_has_no_method_without_a_hookspec() -> None:
    public = {n for n, f in vars(Hooks).items() if not n.startswith("_") and callable(f)}
    assert {f"stowage_{n}" for n in public} <= set(hookspec_names())


def _pm(*plugins: object) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hooks.PROJECT_NAME)
    pm.add_hookspecs(hooks)
    for i, item in enumerate(plugins):
        pm.register(item, name=f"p{i}")
    return pm


def test_sync_collectors_flatten_and_refuse_async_implementations() -> None:
    one = types.SimpleNamespace(stowage_cli_commands=hookimpl(lambda: ["a", "b"]))
    none = types.SimpleNamespace(stowage_cli_commands=hookimpl(lambda: None))
    assert sorted(Hooks(_pm(one, none)).cli_commands()) == ["a", "b"]

    async def late() -> list[str]:
        return ["never"]

    bad = types.SimpleNamespace(stowage_cli_commands=hookimpl(late))
    with pytest.raises(TypeError, match="stowage_cli_commands of plugin 'p0' must be synchronous"):
        Hooks(_pm(bad)).cli_commands()


async def test_async_collectors_accept_one_item_or_a_list() -> None:
    single = types.SimpleNamespace(stowage_blueprints=hookimpl(lambda runtime: "bp-1"))

    async def many(runtime: object) -> list[str]:
        return ["bp-2", "bp-3"]

    listing = types.SimpleNamespace(stowage_blueprints=hookimpl(many))
    found = await Hooks(_pm(single, listing)).blueprints(runtime=None)
    assert sorted(found) == ["bp-1", "bp-2", "bp-3"]
