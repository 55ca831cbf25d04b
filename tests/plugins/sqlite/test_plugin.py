"""The plugin's hooks, called through a real pluggy manager with the project's hookspecs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pluggy
import pytest

import stowage.plugins.sqlite as sqlite_plugin
from stowage import hooks
from stowage.core.contracts.store import CORE_PLUGIN, Store
from stowage.plugins.sqlite import CORE_SET, SqliteStore


def _settings(driver: str, path: str) -> SimpleNamespace:
    return SimpleNamespace(db=SimpleNamespace(driver=driver, sqlite=SimpleNamespace(path=path)))


@pytest.fixture
def pm() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hooks.PROJECT_NAME)
    manager.add_hookspecs(hooks)
    manager.register(sqlite_plugin, name="sqlite")
    return manager


def test_store_hook_answers_sqlite(
    pm: pluggy.PluginManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = pm.hook.stowage_store(settings=_settings("sqlite", "./stowage.db"))
    assert isinstance(store, SqliteStore)
    assert store.path == tmp_path / "stowage.db"
    assert not store.path.exists()  # built, not opened
    checked: Store = store  # satisfies the core protocol (checked by mypy)
    assert checked.db_bytes() == 0


@pytest.mark.parametrize("driver", ["postgres", "mysql", ""])
def test_store_hook_ignores_other_drivers(pm: pluggy.PluginManager, driver: str) -> None:
    assert pm.hook.stowage_store(settings=_settings(driver, "/x/stowage.db")) is None


def test_migrations_hook_contributes_the_core_set(pm: pluggy.PluginManager) -> None:
    (contributed,) = pm.hook.stowage_migrations()
    assert contributed is CORE_SET
    assert contributed.plugin == CORE_PLUGIN
    assert [m.version for m in contributed.migrations] == list(range(1, 12))


def test_store_hook_is_a_trylast_default(pm: pluggy.PluginManager) -> None:
    (impl,) = pm.hook.stowage_store.get_hookimpls()
    assert impl.trylast
