"""Built-in ``backends``: the backend registry and the storage API on the dashboard listener.

Parts: ``registry`` (backends from settings and the database, drivers from the
``stowage_storage_driver`` hook), and the API modules mounted as blueprints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stowage.hooks import hookimpl
from stowage.plugins.backends.registry import Registry

if TYPE_CHECKING:
    from stowage.core.runtime import Runtime


@hookimpl
async def stowage_startup(runtime: Runtime) -> None:
    registry = Registry(runtime)
    runtime.services["backends"] = registry
    await registry.load_settings()


@hookimpl
async def stowage_shutdown(runtime: Runtime) -> None:
    registry = runtime.services.pop("backends", None)
    if registry is not None:
        await registry.close()
