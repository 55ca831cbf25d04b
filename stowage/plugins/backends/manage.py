"""Live changes to UI-managed backends: the database row and the registry move together.

``BackendAdmin`` is what the admin routes call. Create, patch and delete hold the registry's lock,
so a change is either fully applied (row written, driver registered or removed) or not at all.
Secrets arrive in plaintext, are sealed before they touch the database, and never leave here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from stowage.core.contracts.driver import BackendSpec, ProbeResult
from stowage.core.contracts.endpoints import EndpointRecord, EndpointRepository, endpoint_repository
from stowage.core.kernel.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from stowage.core.security.netpolicy import SETTING, NetworkPolicy
from stowage.plugins.backends.dto import admin_item
from stowage.plugins.backends.endpoint_input import BackendInput
from stowage.plugins.backends.health import probe_driver, probe_entry
from stowage.plugins.backends.registry import spec_from_record

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime
    from stowage.core.security.secretbox import SecretBox
    from stowage.plugins.backends.registry import Registry

__all__ = ["BackendAdmin"]

KEY_UNSET_MESSAGE = "no secret key configured; UI endpoint management is disabled"


class BackendAdmin:
    """Admin operations on backends for one Runtime."""

    def __init__(self, runtime: Runtime, registry: Registry) -> None:
        self._runtime = runtime
        self._registry = registry

    @property
    def _repo(self) -> EndpointRepository:
        return endpoint_repository(self._runtime)

    def _box(self) -> SecretBox:
        box = self._runtime.secret_box
        if box is None:
            raise ServiceUnavailable(KEY_UNSET_MESSAGE, code="secret_key_unset")
        return box

    def _refuse_read_only(self, backend_id: str) -> None:
        if backend_id in self._registry.yaml_ids:
            raise Conflict("backend is managed by the settings file", code="yaml_managed")

    async def _refuse_denied(self, endpoint: str) -> None:
        """400 naming the rule when the endpoint is, or now resolves to, a denied address."""
        policy = NetworkPolicy(self._runtime.settings.backend_denied_networks)
        rule = await policy.denial_after_resolving(urlsplit(endpoint).hostname or "")
        if rule:
            raise BadRequest(f"endpoint: {rule}", detail=SETTING)

    def _view(self, record: EndpointRecord | None, backend_id: str) -> dict[str, Any]:
        entry = self._registry.get(backend_id)
        if entry is not None and entry.spec.source != "db":
            return admin_item(None, entry)
        return admin_item(record, entry)

    # --- reads ---------------------------------------------------------------------------------

    async def listing(self) -> list[dict[str, Any]]:
        """Registry entries and database rows (disabled rows too), sorted by id."""
        records = {record.id: record for record in await self._repo.list()}
        ids = sorted(set(records) | {entry.spec.id for entry in self._registry.all()})
        return [self._view(records.get(backend_id), backend_id) for backend_id in ids]

    async def describe(self, backend_id: str) -> dict[str, Any]:
        """One admin entry; 404 ``not_found`` when neither the registry nor the database has it."""
        record = await self._repo.get(backend_id)
        if record is None and self._registry.get(backend_id) is None:
            raise NotFound("backend not found")
        return self._view(record, backend_id)

    # --- changes -------------------------------------------------------------------------------

    async def _register(self, spec: BackendSpec) -> None:
        try:
            entry = await self._registry.register(spec)
        except Exception as exc:
            raise Conflict(f"backend could not be registered: {exc}", code="register_failed") from None
        self._runtime.spawn(probe_entry(entry), name=f"probe-{spec.id}")

    async def create(self, data: BackendInput, actor: str) -> dict[str, Any]:
        """Insert a row with the sealed secret and register it at once."""
        box = self._box()
        self._refuse_read_only(data.id)
        await self._refuse_denied(data.endpoint)
        record = EndpointRecord(
            id=data.id,
            name=data.name,
            type=data.type,
            endpoint=data.endpoint,
            region=data.region,
            path_style=data.path_style,
            access_key=data.access_key,
            secret_key_enc=box.seal(data.secret_key),
            enabled=data.enabled,
            created_by=actor,
            updated_by=actor,
        )
        async with self._registry.lock:
            if not await self._repo.insert(record):
                raise Conflict("a backend with this id already exists", code="id_taken")
            try:
                if self._registry.get(data.id) is not None:
                    raise Conflict("a backend with this id is already registered", code="register_failed")
                if data.enabled:
                    await self._register(spec_from_record(record, box, data.secret_key))
            except BaseException:
                await self._repo.delete(data.id)
                raise
        return await self.describe(data.id)

    async def update(self, backend_id: str, changes: dict[str, Any], actor: str) -> dict[str, Any]:
        """Apply a subset of fields, re-register or unregister live, keep the stored secret."""
        self._refuse_read_only(backend_id)
        box = self._box()
        if "endpoint" in changes:
            await self._refuse_denied(str(changes["endpoint"]))
        async with self._registry.lock:
            old = await self._repo.get(backend_id)
            if old is None:
                raise NotFound("backend not found")
            fields = {k: v for k, v in changes.items() if k != "secret_key"}
            if "name" in fields and not fields["name"]:
                fields["name"] = backend_id
            secret: str | None = changes.get("secret_key")
            if secret is not None:
                fields["secret_key_enc"] = box.seal(secret)
            new = replace(old, **fields)
            if new.enabled:
                await self._register(spec_from_record(new, box, secret))
            else:
                await self._registry.unregister(backend_id)
            try:
                updated = await self._repo.update(backend_id, fields, updated_by=actor)
            except BaseException:
                await self._restore(old, box)
                raise
            if updated is None:  # deleted underneath us (outside the API)
                await self._registry.unregister(backend_id)
                raise NotFound("backend not found")
        return await self.describe(backend_id)

    async def _restore(self, old: EndpointRecord, box: SecretBox) -> None:
        if old.enabled:
            await self._registry.register(spec_from_record(old, box))
        else:
            await self._registry.unregister(old.id)

    async def delete(self, backend_id: str) -> None:
        """Delete the row and unregister its driver."""
        self._refuse_read_only(backend_id)
        async with self._registry.lock:
            if not await self._repo.delete(backend_id):
                raise NotFound("backend not found")
            await self._registry.unregister(backend_id)

    async def test(self, data: BackendInput) -> ProbeResult:
        """Probe a throwaway driver built from ``data``; nothing is stored or registered."""
        await self._refuse_denied(data.endpoint)
        spec = BackendSpec(
            id="connection-test",
            name=data.name,
            type=data.type,
            endpoint=data.endpoint,
            region=data.region,
            path_style=data.path_style,
            access_key=data.access_key,
            secret_key=data.secret_key,
            source="test",
        )
        try:
            driver = await self._registry.build_driver(spec)
        except Exception as exc:
            raise BadRequest(str(exc)) from None
        try:
            return await probe_driver(driver)
        finally:
            await driver.close()
