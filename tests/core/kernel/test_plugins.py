"""Plugin loading (ARCHITECTURE "Plugins"): order, filters, strictness, and what got loaded."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import stowage
from stowage.core.kernel.errors import PluginError
from stowage.core.kernel.plugins import BUILTIN_PLUGINS, ESSENTIAL, build_plugin_manager, loaded_plugins
from stowage.core.kernel.runtime import load_settings_and_plugins
from stowage.hooks import hookimpl

BUILTINS = [name for name, _ in BUILTIN_PLUGINS]

HOOKED = """
from stowage.hooks import hookimpl

__version__ = "2.5"


@hookimpl
def stowage_cli_commands():
    return ["{tag}"]
"""


@pytest.fixture(autouse=True)
def _forget_plugin_modules() -> Iterator[None]:
    """Drop modules imported from test plugin folders so tests cannot see each other's files."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("stowage_plugins_d.", "ep_core_test_")):
            del sys.modules[name]


def commands_from_test_plugins(pm):
    """What the test plugins contributed (built-ins contribute real Command objects)."""
    return [r for r in pm.hook.stowage_cli_commands() if r and isinstance(r[0], str)]


def plugin_file(folder: Path, stem: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def hooked(folder: Path, stem: str) -> Path:
    return plugin_file(folder, stem, HOOKED.format(tag=stem))


def names(pm: object) -> list[str]:
    return [p.name for p in loaded_plugins(pm)]  # type: ignore[arg-type]


@pytest.fixture
def entry_point_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real installed distribution exposing one ``stowage`` entry point, found through sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "ep_core_test_mod.py").write_text(HOOKED.format(tag="ep"), encoding="utf-8")
    dist = site / "stowage_ep_demo-0.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: stowage-ep-demo\nVersion: 0.3\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text("[stowage]\nep_demo = ep_core_test_mod\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    return "ep_demo"


# --- discovery and order -----------------------------------------------------------------------


def test_builtins_only(tmp_path: Path) -> None:
    pm = build_plugin_manager(plugin_dir=str(tmp_path / "absent"), entry_points=False)
    assert names(pm) == BUILTINS
    assert ESSENTIAL <= set(BUILTINS)


def test_load_order_builtins_entry_points_files_then_extras(tmp_path: Path, entry_point_dist: str) -> None:
    folder = tmp_path / "plugins.d"
    hooked(folder, "zeta")
    hooked(folder, "alpha")
    plugin_file(folder, "_private", "raise RuntimeError('never imported')")
    (folder / "notes.txt").write_text("not a plugin", encoding="utf-8")

    class Extra:
        pass

    pm = build_plugin_manager(plugin_dir=str(folder), extra=[("extra", Extra())])
    assert names(pm) == [*BUILTINS, entry_point_dist, "plugins.d/alpha", "plugins.d/zeta", "extra"]
    # Collect hooks run newest-registered first (pluggy's LIFO), so files come before the entry point.
    assert commands_from_test_plugins(pm) == [["zeta"], ["alpha"], ["ep"]]


def test_entry_point_plugin_is_reported_with_its_distribution(tmp_path: Path, entry_point_dist: str) -> None:
    pm = build_plugin_manager(plugin_dir="")
    info = {p.name: p for p in loaded_plugins(pm)}[entry_point_dist]
    assert info.origin == "entrypoint:stowage-ep-demo"
    assert info.version == "0.3"
    assert info.hooks == ("stowage_cli_commands",)


def test_entry_points_false_skips_them(tmp_path: Path, entry_point_dist: str) -> None:
    assert entry_point_dist not in names(build_plugin_manager(entry_points=False))


def test_plugins_d_file_is_registered_with_its_stem_and_hooks_are_visible(tmp_path: Path) -> None:
    folder = tmp_path / "plugins.d"
    path = hooked(folder, "greeter")
    pm = build_plugin_manager(plugin_dir=str(folder), entry_points=False)
    assert pm.has_plugin("plugins.d/greeter")
    assert commands_from_test_plugins(pm) == [["greeter"]]
    info = {p.name: p for p in loaded_plugins(pm)}["plugins.d/greeter"]
    assert info.origin == f"file:{path.resolve()}"
    assert info.version == "2.5"
    assert info.hooks == ("stowage_cli_commands",)


def test_loaded_plugins_reports_builtins(tmp_path: Path) -> None:
    pm = build_plugin_manager(plugin_dir="", entry_points=False)
    info = {p.name: p for p in loaded_plugins(pm)}
    assert info["sqlite"].origin == "builtin:stowage.plugins.sqlite"
    assert info["sqlite"].version == stowage.__version__
    assert {"stowage_store", "stowage_migrations"} <= set(info["sqlite"].hooks)
    assert list(info["sqlite"].hooks) == sorted(info["sqlite"].hooks)
    assert info["health"].origin == "builtin:stowage.plugins.health"
    assert "stowage_blueprints" in info["health"].hooks


def test_each_build_returns_a_fresh_manager(tmp_path: Path) -> None:
    first = build_plugin_manager(plugin_dir="", entry_points=False)
    second = build_plugin_manager(plugin_dir="", entry_points=False)
    assert first is not second
    assert first.get_plugin("sqlite") is second.get_plugin("sqlite")  # same module, two managers


# --- enabled / disabled ------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["plugins.d/greeter", "greeter"])
def test_disabled_blocks_a_plugins_d_plugin(tmp_path: Path, spelling: str) -> None:
    folder = tmp_path / "plugins.d"
    hooked(folder, "greeter")
    hooked(folder, "other")
    pm = build_plugin_manager(plugin_dir=str(folder), disabled=[spelling], entry_points=False)
    assert names(pm) == [*BUILTINS, "plugins.d/other"]
    assert commands_from_test_plugins(pm) == [["other"]]


def test_disabled_plugin_file_is_not_even_imported(tmp_path: Path) -> None:
    folder = tmp_path / "plugins.d"
    plugin_file(folder, "broken", "raise RuntimeError('imported anyway')")
    pm = build_plugin_manager(plugin_dir=str(folder), disabled=["broken"], entry_points=False)
    assert names(pm) == BUILTINS


def test_enabled_is_an_allow_list_for_third_party_only(tmp_path: Path) -> None:
    folder = tmp_path / "plugins.d"
    for stem in ("a", "b", "c"):
        hooked(folder, stem)
    pm = build_plugin_manager(plugin_dir=str(folder), enabled=["a", "plugins.d/c"], entry_points=False)
    assert names(pm) == [*BUILTINS, "plugins.d/a", "plugins.d/c"]


def test_enabled_and_disabled_together(tmp_path: Path) -> None:
    folder = tmp_path / "plugins.d"
    hooked(folder, "a")
    hooked(folder, "b")
    pm = build_plugin_manager(plugin_dir=str(folder), enabled=["a", "b"], disabled=["b"], entry_points=False)
    assert names(pm) == [*BUILTINS, "plugins.d/a"]


@pytest.mark.parametrize("essential", sorted(ESSENTIAL))
def test_disabling_an_essential_builtin_is_an_error(tmp_path: Path, essential: str) -> None:
    with pytest.raises(PluginError) as info:
        build_plugin_manager(plugin_dir="", disabled=[essential], entry_points=False)
    assert f'"{essential}"' in str(info.value)
    assert "essential" in str(info.value)
    assert info.value.plugin == essential


def test_extra_essential_names_are_honoured(tmp_path: Path) -> None:
    folder = tmp_path / "plugins.d"
    hooked(folder, "vital")
    with pytest.raises(PluginError, match="essential"):
        build_plugin_manager(
            plugin_dir=str(folder), disabled=["vital"], essential=["plugins.d/vital"], entry_points=False
        )


@pytest.mark.parametrize("key", ["disabled", "enabled"])
def test_unknown_names_are_errors(tmp_path: Path, key: str) -> None:
    with pytest.raises(PluginError) as info:
        build_plugin_manager(plugin_dir="", entry_points=False, **{key: ["nosuchplugin"]})
    assert f"plugins.{key}" in str(info.value)
    assert '"nosuchplugin"' in str(info.value)
    assert info.value.plugin == "nosuchplugin"


def test_settings_file_drives_the_plugin_manager(tmp_path: Path) -> None:
    folder = tmp_path / "plugins.d"
    hooked(folder, "keep")
    hooked(folder, "drop")
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"plugins": {"dir": str(folder), "disabled": ["drop"]}}), encoding="utf-8")
    settings, pm = load_settings_and_plugins(str(path), environ={}, entry_points=False)
    assert settings.plugins.disabled == ("drop",)
    assert names(pm) == [*BUILTINS, "plugins.d/keep"]


def test_settings_file_disabling_sqlite_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"plugins": {"dir": "", "disabled": ["sqlite"]}}), encoding="utf-8")
    with pytest.raises(PluginError, match='"sqlite" is essential'):
        load_settings_and_plugins(str(path), environ={}, entry_points=False)


# --- strictness --------------------------------------------------------------------------------

TYPO_MARKED = """
from stowage.hooks import hookimpl

@hookimpl
def stowage_startpu(runtime):
    pass
"""

TYPO_UNMARKED = """
def stowage_startpu(runtime):
    pass
"""


@pytest.mark.parametrize("body", [TYPO_MARKED, TYPO_UNMARKED], ids=["marked", "unmarked"])
def test_misspelled_hook_names_plugin_and_origin(tmp_path: Path, body: str) -> None:
    path = plugin_file(tmp_path / "plugins.d", "typo", body)
    with pytest.raises(PluginError) as info:
        build_plugin_manager(plugin_dir=str(tmp_path / "plugins.d"), entry_points=False)
    message = str(info.value)
    assert '"plugins.d/typo"' in message
    assert str(path.resolve()) in message
    assert "stowage_startpu" in message
    assert info.value.plugin == "plugins.d/typo"
    assert info.value.origin == f"file:{path.resolve()}"


def test_marked_hook_without_prefix_is_rejected(tmp_path: Path) -> None:
    body = """
    from stowage.hooks import hookimpl

    @hookimpl
    def startup(runtime):
        pass
    """
    path = plugin_file(tmp_path / "plugins.d", "noprefix", body)
    with pytest.raises(PluginError) as info:
        build_plugin_manager(plugin_dir=str(tmp_path / "plugins.d"), entry_points=False)
    assert '"plugins.d/noprefix"' in str(info.value)
    assert str(path.resolve()) in str(info.value)
    assert "startup" in str(info.value)


def test_hook_with_wrong_argument_names_plugin_and_origin(tmp_path: Path) -> None:
    body = """
    from stowage.hooks import hookimpl

    @hookimpl
    def stowage_startup(rt):
        pass
    """
    path = plugin_file(tmp_path / "plugins.d", "badargs", body)
    with pytest.raises(PluginError) as info:
        build_plugin_manager(plugin_dir=str(tmp_path / "plugins.d"), entry_points=False)
    assert '"plugins.d/badargs"' in str(info.value)
    assert str(path.resolve()) in str(info.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("raise RuntimeError('boom at import')\n", "boom at import"),
        ("import stowage_no_such_module_xyz\n", "stowage_no_such_module_xyz"),
        ("def broken(:\n", "SyntaxError"),
    ],
)
def test_import_error_names_the_file(tmp_path: Path, body: str, reason: str) -> None:
    path = plugin_file(tmp_path / "plugins.d", "bad", body)
    with pytest.raises(PluginError) as info:
        build_plugin_manager(plugin_dir=str(tmp_path / "plugins.d"), entry_points=False)
    message = str(info.value)
    assert '"plugins.d/bad"' in message
    assert str(path.resolve()) in message
    assert reason in message
    assert "stowage_plugins_d.bad" not in sys.modules


def test_duplicate_extra_names_are_errors(tmp_path: Path) -> None:
    class One:
        pass

    with pytest.raises(PluginError, match='duplicate plugin name "x"'):
        build_plugin_manager(plugin_dir="", extra=[("x", One()), ("x", One())], entry_points=False)


def test_name_clashing_with_a_builtin_is_an_error(tmp_path: Path) -> None:
    class Impostor:
        @hookimpl
        def stowage_cli_commands(self) -> list[str]:
            return []

    with pytest.raises(PluginError) as info:
        build_plugin_manager(plugin_dir="", extra=[("sqlite", Impostor())], entry_points=False)
    assert 'duplicate plugin name "sqlite"' in str(info.value)
    assert "builtin:stowage.plugins.sqlite" in str(info.value)


def test_same_object_registered_twice_is_an_error(tmp_path: Path) -> None:
    class Twice:
        pass

    obj = Twice()
    with pytest.raises(PluginError, match='"second"'):
        build_plugin_manager(plugin_dir="", extra=[("first", obj), ("second", obj)], entry_points=False)
