"""The typed hook facade: one method per hookspec in ``stowage.hooks``, the one way hooks are called.

``runtime.hooks.credential_lookup(access_key_id=…, runtime=…)`` reads as a call and returns
``VirtualCredential | None`` to mypy, where ``call_first("stowage_credential_lookup", …)`` was a
string and ``Any``. Each method takes the hookspec's arguments (keyword-only, same names) and runs
through ``stowage.core.kernel.hookcall`` for its semantics: resolvers (``firstresult``) stop at the first
awaited non-``None`` answer, collectors gather and flatten contributions, lifecycle hooks run in
their documented orders. A test pins that every hookspec has its method here, with its arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import pluggy

from stowage.core.kernel import hookcall

if TYPE_CHECKING:
    from dynaconf import Validator
    from quart import Blueprint, Request

    from stowage.core.contracts.audit import AuditEvent
    from stowage.core.contracts.credentials import CredentialSource, VirtualCredential
    from stowage.core.contracts.driver import BackendSpec, StorageDriver
    from stowage.core.contracts.identity import Identity
    from stowage.core.contracts.quotas import QuotaLimits
    from stowage.core.contracts.shares import Share
    from stowage.core.contracts.store import MigrationSet, Store
    from stowage.core.kernel.cli import Command
    from stowage.core.kernel.config import Settings
    from stowage.core.kernel.runtime import Runtime
    from stowage.core.kernel.server import Listener
    from stowage.core.tooling.quickstart import QuickstartStep

__all__ = ["Hooks"]


def _flatten(contributions: list[Any]) -> list[Any]:
    """Collectors may answer with one item or a list/tuple of items; ``None`` was already dropped."""
    out: list[Any] = []
    for contributed in contributions:
        if isinstance(contributed, list | tuple):
            out.extend(contributed)
        else:
            out.append(contributed)
    return out


class Hooks:
    """Typed calls of every Stowage hook over one plugin manager (``runtime.hooks``)."""

    __slots__ = ("pm",)

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    # --- Phase 1: configuration (no event loop yet) --------------------------------------------

    def settings_validators(self) -> list[Validator]:
        """Every plugin's Dynaconf validators (``stowage_settings_validators``)."""
        validators: list[Validator] = _flatten(hookcall.call_all_sync(self.pm, "stowage_settings_validators"))
        return validators

    def cli_commands(self) -> list[Command]:
        """Every plugin's extra subcommands (``stowage_cli_commands``)."""
        return cast("list[Command]", _flatten(hookcall.call_all_sync(self.pm, "stowage_cli_commands")))

    # --- Phase 2: persistence ------------------------------------------------------------------

    async def store(self, *, settings: Settings) -> Store | None:
        """The Store for ``settings.db.driver`` (``stowage_store``), or ``None``."""
        return cast("Store | None", await hookcall.call_first(self.pm, "stowage_store", settings=settings))

    async def migrations(self) -> list[MigrationSet]:
        """Every plugin's migration set (``stowage_migrations``)."""
        return cast("list[MigrationSet]", await hookcall.call_all(self.pm, "stowage_migrations"))

    # --- Phase 3: runtime services -------------------------------------------------------------

    async def storage_driver(self, *, backend: BackendSpec) -> StorageDriver | None:
        """A driver for ``backend`` (``stowage_storage_driver``), or ``None`` for an unknown type."""
        found = await hookcall.call_first(self.pm, "stowage_storage_driver", backend=backend)
        return cast("StorageDriver | None", found)

    async def authenticate(self, *, request: Request, runtime: Runtime) -> Identity | None:
        """The identity of a dashboard request (``stowage_authenticate``), or ``None``."""
        found = await hookcall.call_first(self.pm, "stowage_authenticate", request=request, runtime=runtime)
        return cast("Identity | None", found)

    async def credential_lookup(self, *, access_key_id: str, runtime: Runtime) -> VirtualCredential | None:
        """A proxy credential for ``access_key_id`` (``stowage_credential_lookup``), or ``None``."""
        found = await hookcall.call_first(
            self.pm, "stowage_credential_lookup", access_key_id=access_key_id, runtime=runtime
        )
        return cast("VirtualCredential | None", found)

    async def audit_sample(self, *, event: AuditEvent, runtime: Runtime) -> bool | None:
        """Keep (``True``), drop (``False``) or no opinion (``None``) for ``event``."""
        found = await hookcall.call_first(self.pm, "stowage_audit_sample", event=event, runtime=runtime)
        return cast("bool | None", found)

    async def audit_export(self, *, events: Sequence[AuditEvent], runtime: Runtime) -> None:
        """Hand a committed batch to every exporter; an exporter's failure is logged, not raised."""
        await hookcall.call_all_logged(self.pm, "stowage_audit_export", events=events, runtime=runtime)

    async def share_resolve(self, *, code: str, runtime: Runtime) -> Share | None:
        """The share behind a public code (``stowage_share_resolve``), or ``None``."""
        found = await hookcall.call_first(self.pm, "stowage_share_resolve", code=code, runtime=runtime)
        return cast("Share | None", found)

    async def quota_limits(
        self, *, backend_id: str, bucket: str, runtime: Runtime
    ) -> QuotaLimits | tuple[int, int] | None:
        """A bucket's caps from the first limit source that has them, or ``None``."""
        found = await hookcall.call_first(
            self.pm, "stowage_quota_limits", backend_id=backend_id, bucket=bucket, runtime=runtime
        )
        return cast("QuotaLimits | tuple[int, int] | None", found)

    # --- Phase 4: HTTP surface and lifecycle ---------------------------------------------------

    async def blueprints(self, *, runtime: Runtime) -> list[Blueprint]:
        """Every plugin's dashboard blueprints, flattened (``stowage_blueprints``)."""
        found = await hookcall.call_all(self.pm, "stowage_blueprints", runtime=runtime)
        return cast("list[Blueprint]", _flatten(found))

    async def listeners(self, *, runtime: Runtime) -> list[Listener]:
        """Every plugin's extra listeners, flattened (``stowage_listeners``)."""
        return cast(
            "list[Listener]", _flatten(await hookcall.call_all(self.pm, "stowage_listeners", runtime=runtime))
        )

    async def quickstart_steps(self, *, runtime: Runtime) -> list[QuickstartStep]:
        """Every plugin's quickstart steps in registration order (``stowage_quickstart_steps``)."""
        found = await hookcall.call_all(
            self.pm, "stowage_quickstart_steps", registration_order=True, runtime=runtime
        )
        return cast("list[QuickstartStep]", _flatten(found))

    async def proxy_sources(self, *, runtime: Runtime) -> list[CredentialSource]:
        """Every plugin's extra credential sources for the proxy's admin views."""
        found = await hookcall.call_all(self.pm, "stowage_proxy_sources", runtime=runtime)
        return cast("list[CredentialSource]", _flatten(found))

    async def startup(self, *, runtime: Runtime) -> None:
        """Start every plugin in registration order (the store, audit and registry first)."""
        await hookcall.call_all(self.pm, "stowage_startup", registration_order=True, runtime=runtime)

    async def shutdown(self, *, runtime: Runtime) -> None:
        """Stop every plugin, last registered first; failures are logged and the rest still run."""
        await hookcall.call_all_logged(self.pm, "stowage_shutdown", runtime=runtime)
