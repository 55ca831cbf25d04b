"""Built-in ``backends``: the backend registry and the storage API on the dashboard listener.

How the parts combine:

* ``registry`` — backends from the settings file, then enabled database rows (secrets unsealed
  with the root key), drivers from the ``stowage_storage_driver`` hook.
* ``health`` — probes every backend at start-up (10 s budget) and every 60 s.
* ``endpoint_input`` / ``manage`` / ``dto`` — input rules, live create/patch/delete/test that keep the
  ``backends`` table and the registry in step, and the JSON shapes.
* ``admin_api`` (``/api/admin/backends``) and ``read_api`` (``/api/backends``) — the routes,
  mounted as blueprints with the other API modules of this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stowage.core.contracts.backends import BACKENDS
from stowage.hooks import hookimpl
from stowage.plugins.backends.admin_api import admin_backends
from stowage.plugins.backends.health import probe_all, probe_loop
from stowage.plugins.backends.read_api import read_backends
from stowage.plugins.backends.registry import Registry
from stowage.plugins.backends.storage_routes import STORAGE_BLUEPRINTS

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime


@hookimpl
async def stowage_startup(runtime: Runtime) -> None:
    """Load settings-file backends, then database rows; probe them all, then every 60 s."""
    registry = Registry(runtime)
    runtime.provide(BACKENDS, registry)
    await registry.load_settings()
    await registry.load_database()
    await probe_all(registry)
    runtime.spawn(probe_loop(registry), name="backends-health")


@hookimpl
async def stowage_shutdown(runtime: Runtime) -> None:
    registry = runtime.withdraw(BACKENDS)
    if isinstance(registry, Registry):
        await registry.close()


@hookimpl
def stowage_blueprints(runtime: Runtime) -> list[Any]:
    """The backend routes on the dashboard listener."""
    return [read_backends, admin_backends, *STORAGE_BLUEPRINTS]
