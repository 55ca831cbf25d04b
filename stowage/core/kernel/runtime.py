"""The Runtime: everything one Stowage process shares, built once at start-up.

It owns the settings, the plugin manager, the store, the secret box, the metrics registry and
the background tasks; plugins hang their own services on it during ``stowage_startup`` (the
backend registry, the audit recorder, the credential cache …) under typed keys
(``stowage.core.kernel.services``): ``provide`` once, ``get``/``find`` anywhere. Both listeners see the
same Runtime.

Lifecycle: ``build_runtime`` (validate, load plugins, resolve the store — nothing opened) →
``await runtime.open()`` (store, migrations, ``stowage_startup``) → serve →
``await runtime.close()`` (``stowage_shutdown`` in reverse order, background tasks cancelled,
store closed).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy
from prometheus_client import CollectorRegistry

from stowage.core.kernel.config import Settings, load_raw_settings, validate_settings
from stowage.core.kernel.errors import ConfigError
from stowage.core.kernel.hookfacade import Hooks
from stowage.core.kernel.metrics import DashboardMetrics, ScrapeGauge, new_registry
from stowage.core.kernel.plugins import build_plugin_manager
from stowage.core.kernel.services import ServiceKey, Services
from stowage.core.security.secretbox import SecretBox, load_root_key
from stowage.core.web.clientaddr import TrustedProxies

if TYPE_CHECKING:
    from stowage.core.contracts.store import AppliedMigration, MigrationSet, Store

__all__ = ["Runtime", "build_runtime", "load_settings_and_plugins"]

log = logging.getLogger("stowage.runtime")

T = TypeVar("T")


@dataclass
class Runtime:
    """Shared state of one process. Never a module global; tests build as many as they like."""

    settings: Settings
    pm: pluggy.PluginManager
    store: Store
    secret_box: SecretBox | None
    registry: CollectorRegistry
    metrics: DashboardMetrics
    trusted_proxies: TrustedProxies
    clock: Callable[[], float] = time.time
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    hooks: Hooks = field(init=False)
    """Typed calls of every hook (``stowage.core.kernel.hookfacade``): the one way to call a hook."""
    _services: Services = field(default_factory=Services)
    started_at: float = field(default_factory=time.time)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _opened: bool = False

    def __post_init__(self) -> None:
        self.hooks = Hooks(self.pm)

    # --- services ------------------------------------------------------------------------------

    def provide(self, key: ServiceKey[T], impl: T) -> None:
        """Install a service (once per key; a second provider raises ``ServiceConflictError``)."""
        self._services.provide(key, impl)

    def get(self, key: ServiceKey[T]) -> T:
        """A required service; ``MissingServiceError`` names the plugin that should provide it."""
        return self._services.get(key)

    def find(self, key: ServiceKey[T]) -> T | None:
        """An optional service, or ``None`` when its plugin is disabled."""
        return self._services.find(key)

    def withdraw(self, key: ServiceKey[T]) -> T | None:
        """Remove a service at shutdown; return it (``None`` when it was not there)."""
        return self._services.withdraw(key)

    def replace(self, key: ServiceKey[T], impl: T) -> T | None:
        """Swap a service on purpose (tests, deliberate overrides); return the previous one."""
        return self._services.replace(key, impl)

    def memo(self, key: ServiceKey[T], factory: Callable[[], T]) -> T:
        """Per-runtime state private to a plugin, built by ``factory`` on first use."""
        return self._services.memo(key, factory)

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        """Start a background task that is cancelled when the Runtime closes."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception(), extra={"task": task.get_name()})

    # --- lifecycle -----------------------------------------------------------------------------

    async def migration_sets(self) -> list[MigrationSet]:
        return await self.hooks.migrations()

    async def open_store(self) -> list[AppliedMigration]:
        """Open the store and apply pending migrations (no plugin start-up)."""
        await self.store.open()
        try:
            return list(await self.store.apply_migrations(await self.migration_sets()))
        except BaseException:
            await self.store.close()
            raise

    async def open(self) -> None:
        """Open the store, migrate, and run every plugin's ``stowage_startup``."""
        await self.open_store()
        self._opened = True
        try:
            # Registration order: the store, audit and registry come up before what uses them.
            await self.hooks.startup(runtime=self)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Shut plugins down (reverse order), cancel background tasks, close the store."""
        if self._opened:
            # Pluggy order (last registered first): audit shuts down after what records into it.
            await self.hooks.shutdown(runtime=self)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._opened = False
        await self.store.close()


def load_settings_and_plugins(
    config_path: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    extra_plugins: Sequence[tuple[str, object]] = (),
    entry_points: bool = True,
) -> tuple[Settings, pluggy.PluginManager]:
    """Load raw settings, build the plugin manager they describe, then validate everything."""
    raw = load_raw_settings(config_path, environ)
    plugin_data = raw.get("plugins") or {}

    def names(key: str) -> list[str]:
        value = plugin_data.get(key) or [] if isinstance(plugin_data, Mapping) else []
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"plugins.{key}: expected a list of plugin names", key=f"plugins.{key}")
        return [str(v) for v in value]

    pm = build_plugin_manager(
        plugin_dir=str(plugin_data.get("dir") or "") if isinstance(plugin_data, Mapping) else "",
        enabled=names("enabled"),
        disabled=names("disabled"),
        extra=extra_plugins,
        entry_points=entry_points,
    )
    return validate_settings(raw, Hooks(pm).settings_validators()), pm


async def build_runtime(
    settings: Settings,
    pm: pluggy.PluginManager,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] | None = None,
) -> Runtime:
    """Resolve the store and the root key and assemble a Runtime; nothing is opened yet."""
    store = await Hooks(pm).store(settings=settings)
    if store is None:
        raise ConfigError(
            f'db.driver "{settings.db.driver}": no plugin provides this driver', key="db.driver"
        )
    key = load_root_key(settings.server.secret_key_file, environ)
    box = SecretBox(key) if key is not None else None
    if box is None:
        log.warning("no secret key configured; UI endpoint management is disabled")
    if settings.s3_proxy.enabled and box is None:
        raise ConfigError(
            "s3_proxy.enabled needs the root key: set STOWAGE_SECRET_KEY or server.secret_key_file",
            key="s3_proxy.enabled",
        )
    registry = new_registry()
    registry.register(
        ScrapeGauge("stowage_sqlite_db_bytes", "Size of the main SQLite database file.", store.db_bytes)
    )
    return Runtime(
        settings=settings,
        pm=pm,
        store=store,
        secret_box=box,
        registry=registry,
        metrics=DashboardMetrics(registry),
        trusted_proxies=TrustedProxies(settings.server.trusted_proxies),
        clock=clock or time.time,
        environ=os.environ if environ is None else environ,
    )
