"""The in-memory backend registry: settings-file entries first, then database rows (BE-1).

Drivers come from the ``stowage_storage_driver`` hook. Settings-file entries read their keys from
the environment variables they name (CFG-6) and win over database rows with the same id.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from stowage.core.backends import RegisteredBackend
from stowage.core.config import BackendEntry
from stowage.core.driver import BackendSpec, StorageDriver
from stowage.core.errors import ConfigError, NotFound

if TYPE_CHECKING:
    from stowage.core.runtime import Runtime

__all__ = ["Registry", "spec_from_settings"]

log = logging.getLogger("stowage.backends")


def spec_from_settings(entry: BackendEntry, environ: dict[str, str] | None = None) -> BackendSpec:
    """A ``BackendSpec`` for a settings-file entry, keys read from the variables it names."""
    env = os.environ if environ is None else environ
    return BackendSpec(
        id=entry.id,
        name=entry.name,
        type=entry.type,
        endpoint=entry.endpoint,
        region=entry.region,
        path_style=entry.path_style,
        access_key=env.get(entry.access_key_env, "") if entry.access_key_env else "",
        secret_key=env.get(entry.secret_key_env, "") if entry.secret_key_env else "",
        source="config",
    )


class Registry:
    """Backends by id; ``register`` builds (or rebuilds) the driver through the hook."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._entries: dict[str, RegisteredBackend] = {}

    def get(self, backend_id: str) -> RegisteredBackend | None:
        return self._entries.get(backend_id)

    def all(self) -> list[RegisteredBackend]:
        return [self._entries[k] for k in sorted(self._entries)]

    def driver(self, backend_id: str) -> StorageDriver:
        entry = self._entries.get(backend_id)
        if entry is None:
            raise NotFound("backend not found")
        return entry.driver

    async def build_driver(self, spec: BackendSpec) -> StorageDriver:
        driver = await self._runtime.call_first("stowage_storage_driver", backend=spec)
        if driver is None:
            raise ConfigError(
                f'unknown backend type "{spec.type}" (supported: s3v4)', key=f"backends.{spec.id}.type"
            )
        return driver  # type: ignore[no-any-return]

    async def register(self, spec: BackendSpec) -> RegisteredBackend:
        driver = await self.build_driver(spec)
        old = self._entries.get(spec.id)
        entry = RegisteredBackend(spec=spec, driver=driver)
        if old is not None:
            entry.health = old.health
        self._entries[spec.id] = entry
        if old is not None:
            await old.driver.close()
        return entry

    async def unregister(self, backend_id: str) -> None:
        entry = self._entries.pop(backend_id, None)
        if entry is not None:
            await entry.driver.close()

    async def load_settings(self) -> None:
        """Register every settings-file backend."""
        for entry in self._runtime.settings.backends:
            await self.register(spec_from_settings(entry))

    async def close(self) -> None:
        for backend_id in list(self._entries):
            await self.unregister(backend_id)
