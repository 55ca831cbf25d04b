"""The in-memory backend registry: settings-file entries first, then database rows.

Drivers come from the ``stowage_storage_driver`` hook. Settings-file entries read their keys from
the environment variables they name and win over database rows with the same id. Database
rows carry a sealed secret that is opened with the root key only to build the driver.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from stowage.core.contracts.backends import RegisteredBackend
from stowage.core.contracts.driver import BackendSpec, StorageDriver
from stowage.core.contracts.endpoints import EndpointRecord, endpoint_repository
from stowage.core.kernel.config import BackendEntry
from stowage.core.kernel.errors import ConfigError, NotFound, SecretKeyError

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime
    from stowage.core.security.secretbox import SecretBox

__all__ = ["SEALED_WITHOUT_KEY", "Registry", "spec_from_record", "spec_from_settings"]

log = logging.getLogger("stowage.backends")

SEALED_WITHOUT_KEY = "sealed secret on disk but STOWAGE_SECRET_KEY is unset"


def spec_from_settings(entry: BackendEntry, environ: Mapping[str, str] | None = None) -> BackendSpec:
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


def spec_from_record(
    record: EndpointRecord, box: SecretBox | None, secret_key: str | None = None
) -> BackendSpec:
    """A ``BackendSpec`` for a database row; ``secret_key`` overrides the sealed one.

    Raises ``SecretKeyError`` when a sealed secret cannot be opened (or there is no key).
    """
    if secret_key is None:
        if record.secret_key_enc and box is None:
            raise SecretKeyError(SEALED_WITHOUT_KEY)
        try:
            secret_key = box.unseal_text(record.secret_key_enc) if box is not None else ""
        except (SecretKeyError, UnicodeDecodeError) as exc:
            raise SecretKeyError(f"backend {record.id!r}: cannot unseal its secret: {exc}") from None
    return BackendSpec(
        id=record.id,
        name=record.name or record.id,
        type=record.type,
        endpoint=record.endpoint,
        region=record.region,
        path_style=record.path_style,
        access_key=record.access_key,
        secret_key=secret_key,
        source="db",
    )


class Registry:
    """Backends by id; ``register`` builds (or rebuilds) the driver through the hook.

    ``lock`` serialises live changes (API create/patch/delete) so the database and the registry
    move together.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._entries: dict[str, RegisteredBackend] = {}
        self.lock = asyncio.Lock()

    @property
    def yaml_ids(self) -> frozenset[str]:
        """Ids declared in the settings file (read-only in the UI)."""
        return frozenset(entry.id for entry in self._runtime.settings.backends)

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
        """A new driver for ``spec`` (not registered); ``ConfigError`` for an unknown type.

        The spec carries ``backend_network.denied_networks`` so the driver refuses them at
        connect time."""
        spec = replace(spec, denied_networks=self._runtime.settings.backend_denied_networks)
        driver = await self._runtime.hooks.storage_driver(backend=spec)
        if driver is None:
            raise ConfigError(
                f'unknown backend type "{spec.type}" (supported: s3v4)', key=f"backends.{spec.id}.type"
            )
        return driver

    async def register(self, spec: BackendSpec) -> RegisteredBackend:
        """Register (or replace) ``spec``; a replaced entry keeps its health and its old driver is closed."""
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
            await self.register(spec_from_settings(entry, self._runtime.environ))

    async def load_database(self) -> None:
        """Register enabled database rows not shadowed by the settings file.

        Refuses to start (``SecretKeyError``) when any row holds a sealed secret but no root key
        is configured, or when an enabled row's secret does not unseal.
        """
        records = await endpoint_repository(self._runtime).list()
        box = self._runtime.secret_box
        if box is None and any(record.secret_set for record in records):
            raise SecretKeyError(SEALED_WITHOUT_KEY)
        for record in records:
            if not record.enabled:
                continue
            if record.id in self._entries:
                log.warning("db backend shadowed by yaml entry; skipping", extra={"backend": record.id})
                continue
            spec = spec_from_record(record, box)
            try:
                await self.register(spec)
            except ConfigError as exc:
                log.error("db backend not registered", extra={"backend": record.id, "error": str(exc)})

    async def close(self) -> None:
        for backend_id in list(self._entries):
            await self.unregister(backend_id)
