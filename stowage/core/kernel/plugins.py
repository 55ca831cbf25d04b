"""Building a Runtime's plugin manager: discovery, strict loading, and what got loaded.

Order: built-ins (``BUILTIN_PLUGINS``), then packages exposing the ``stowage`` entry-point group,
then ``*.py`` modules in ``plugins.dir`` (sorted, registered as ``plugins.d/<stem>``).
``plugins.disabled`` blocks any plugin by name; ``plugins.enabled``, when non-empty, is an
allow-list for third-party plugins. Unknown names, import errors, duplicate names and
misspelled hooks stop start-up with a ``PluginError`` naming the plugin and its origin.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from stowage import hooks
from stowage.core.kernel.errors import PluginError

__all__ = [
    "BUILTIN_PLUGINS",
    "ESSENTIAL",
    "LoadedPlugin",
    "PluginCandidate",
    "build_plugin_manager",
    "loaded_plugins",
]

#: Built-in plugins: (name, module). Registered like any third-party plugin.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("sqlite", "stowage.plugins.sqlite"),
    ("health", "stowage.plugins.health"),
    ("audit", "stowage.plugins.audit"),
    ("auth_local", "stowage.plugins.auth_local"),
    ("s3v4", "stowage.plugins.s3v4"),
    ("backends", "stowage.plugins.backends"),
    ("quotas", "stowage.plugins.quotas"),
    ("shares", "stowage.plugins.shares"),
    ("s3proxy", "stowage.plugins.s3proxy"),
    ("overview", "stowage.plugins.overview"),
)

#: Built-ins that cannot be disabled (the store plugin is essential for its own driver).
ESSENTIAL: frozenset[str] = frozenset({"health", "sqlite"})

ENTRY_POINT_GROUP = "stowage"
PLUGINS_D_PREFIX = "plugins.d/"


@dataclass
class PluginCandidate:
    """A plugin found during discovery, not yet registered."""

    name: str
    origin: str
    load: Any  # zero-argument callable returning the plugin object
    builtin: bool = False
    version: str = ""


@dataclass(frozen=True)
class LoadedPlugin:
    """What ``stowage plugins`` prints for one registered plugin."""

    name: str
    origin: str
    version: str
    hooks: tuple[str, ...] = field(default_factory=tuple)


def _builtin_candidates() -> list[PluginCandidate]:
    from stowage import __version__

    return [
        PluginCandidate(
            name=name,
            origin=f"builtin:{module}",
            load=lambda module=module: importlib.import_module(module),
            builtin=True,
            version=__version__,
        )
        for name, module in BUILTIN_PLUGINS
    ]


def _entry_point_candidates() -> list[PluginCandidate]:
    out = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        dist_name = getattr(dist, "name", "") if dist else ""
        out.append(
            PluginCandidate(
                name=ep.name,
                origin=f"entrypoint:{dist_name or ep.value}",
                load=ep.load,
                version=getattr(dist, "version", "") if dist else "",
            )
        )
    return out


def _load_file(path: Path) -> ModuleType:
    module_name = f"stowage_plugins_d.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _directory_candidates(directory: str) -> list[PluginCandidate]:
    if not directory:
        return []
    root = Path(directory).expanduser()
    if not root.is_dir():
        return []
    return [
        PluginCandidate(
            name=PLUGINS_D_PREFIX + path.stem,
            origin=f"file:{path.resolve()}",
            load=lambda path=path: _load_file(path),
            version=str(getattr(sys.modules.get(f"stowage_plugins_d.{path.stem}"), "__version__", "")),
        )
        for path in sorted(root.glob("*.py"))
        if not path.name.startswith("_")
    ]


def _matches(name: str, wanted: str) -> bool:
    return name == wanted or (name.startswith(PLUGINS_D_PREFIX) and name[len(PLUGINS_D_PREFIX) :] == wanted)


def _select(
    candidates: Sequence[PluginCandidate],
    enabled: Sequence[str],
    disabled: Sequence[str],
    essential: set[str],
) -> list[PluginCandidate]:
    names = [c.name for c in candidates]
    for wanted, key in [(n, "plugins.disabled") for n in disabled] + [
        (n, "plugins.enabled") for n in enabled
    ]:
        if not any(_matches(name, wanted) for name in names):
            raise PluginError(f'{key}: unknown plugin "{wanted}" (known: {", ".join(names)})', plugin=wanted)
    chosen = []
    for cand in candidates:
        if any(_matches(cand.name, d) for d in disabled):
            if cand.name in essential:
                raise PluginError(
                    f'plugins.disabled: plugin "{cand.name}" is essential and cannot be disabled',
                    plugin=cand.name,
                    origin=cand.origin,
                )
            continue
        if enabled and not cand.builtin and not any(_matches(cand.name, e) for e in enabled):
            continue
        chosen.append(cand)
    return chosen


def _reject_misspelled_hooks(pm: pluggy.PluginManager, plugin: object, cand: PluginCandidate) -> None:
    """A ``stowage_*`` callable that matches no hookspec is a typo, marked or not."""
    for attr in dir(plugin):
        if not attr.startswith("stowage_") or not callable(getattr(plugin, attr, None)):
            continue
        if getattr(pm.hook, attr, None) is None or not hasattr(hooks, attr):
            raise PluginError(
                f'plugin "{cand.name}" ({cand.origin}) implements an unknown hook "{attr}"',
                plugin=cand.name,
                origin=cand.origin,
            )


def build_plugin_manager(
    *,
    plugin_dir: str = "",
    enabled: Sequence[str] = (),
    disabled: Sequence[str] = (),
    essential: Sequence[str] = (),
    extra: Sequence[tuple[str, object]] = (),
    entry_points: bool = True,
) -> pluggy.PluginManager:
    """Discover, filter and register plugins; return a fresh manager (never a global).

    ``essential`` names plugins that cannot be disabled in addition to ``ESSENTIAL``.
    ``extra`` registers already-imported plugin objects last (tests and the testing fixtures).
    """
    pm = pluggy.PluginManager(hooks.PROJECT_NAME)
    pm.add_hookspecs(hooks)
    candidates = _builtin_candidates()
    if entry_points:
        candidates += _entry_point_candidates()
    candidates += _directory_candidates(plugin_dir)
    candidates += [
        PluginCandidate(name=name, origin="extra", load=lambda obj=obj: obj) for name, obj in extra
    ]
    seen: dict[str, str] = {}
    for cand in candidates:
        if cand.name in seen:
            raise PluginError(
                f'duplicate plugin name "{cand.name}" from {cand.origin} (already from {seen[cand.name]})',
                plugin=cand.name,
                origin=cand.origin,
            )
        seen[cand.name] = cand.origin
    origins: dict[str, LoadedPlugin] = {}
    for cand in _select(candidates, enabled, disabled, set(ESSENTIAL) | set(essential)):
        try:
            plugin = cand.load()
        except Exception as exc:
            raise PluginError(
                f'plugin "{cand.name}" ({cand.origin}) failed to import: {type(exc).__name__}: {exc}',
                plugin=cand.name,
                origin=cand.origin,
            ) from exc
        try:
            pm.register(plugin, name=cand.name)
        except ValueError as exc:
            raise PluginError(
                f'plugin "{cand.name}" ({cand.origin}) could not be registered: {exc}',
                plugin=cand.name,
                origin=cand.origin,
            ) from exc
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f'plugin "{cand.name}" ({cand.origin}) is invalid: {exc}',
                plugin=cand.name,
                origin=cand.origin,
            ) from exc
        _reject_misspelled_hooks(pm, plugin, cand)
        version = cand.version or str(getattr(plugin, "__version__", ""))
        origins[cand.name] = LoadedPlugin(cand.name, cand.origin, version)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or "?"
        origin = origins[name].origin if name in origins else "?"
        raise PluginError(
            f'plugin "{name}" ({origin}) implements an unknown hook: {exc}', plugin=name, origin=origin
        ) from exc
    pm.stowage_origins = origins  # type: ignore[attr-defined]
    return pm


def loaded_plugins(pm: pluggy.PluginManager) -> list[LoadedPlugin]:
    """Registered plugins in load order, each with the hooks it implements."""
    origins: dict[str, LoadedPlugin] = getattr(pm, "stowage_origins", {})
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hook_names = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        info = origins.get(name, LoadedPlugin(name, "unknown", ""))
        out.append(LoadedPlugin(info.name, info.origin, info.version, tuple(hook_names)))
    return out
