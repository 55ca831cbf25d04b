"""Every Stowage hookspec, grouped by the phase in which it fires.

Plugins implement hooks with the ``hookimpl`` marker exported here::

    from stowage.hooks import hookimpl

    @hookimpl
    def stowage_startup(runtime):
        ...

Contract rules that hold for every hook:

* Arguments may be added in later releases, never removed or renamed; pluggy only passes the
  arguments an implementation names, so implementations keep working.
* Hooks may be plain functions or ``async def`` coroutines. The core never calls a hook through
  pluggy's own result handling: ``stowage.core.kernel.hookcall`` awaits each result, and for
  ``firstresult`` hooks (the *resolvers*) it moves on to the next implementation when an awaited
  result is ``None``.
* A resolver returns ``None`` for input that is not its own, and raises a typed error from
  ``stowage.core.kernel.errors`` for input it owns and rejects.
* Built-in defaults are registered with ``trylast=True`` so third-party plugins override them
  without ordering tricks.
* Core and plugins call hooks through the typed facade ``runtime.hooks``
  (``stowage.core.kernel.hookfacade.Hooks``: one method per hookspec, same arguments, typed result).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from collections.abc import Sequence

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

PROJECT_NAME = "stowage"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]


# --- Phase 1: configuration -------------------------------------------------------------------


@hookspec
def stowage_settings_validators() -> Sequence[Validator] | None:
    """Contribute Dynaconf validators for the plugin's own ``plugins.<name>`` section.

    When: once, while settings load, before anything opens.
    Returns: a sequence of ``dynaconf.Validator`` objects. Their names must start with
    ``plugins.<your plugin name>.``; a failing validator stops start-up with the key named.
    """


# --- Phase 2: persistence ---------------------------------------------------------------------


@hookspec(firstresult=True)
def stowage_store(settings: Settings) -> Store | None:
    """Return the Store for ``settings.db.driver``, or ``None`` when the driver is not yours.

    When: once per Runtime, after validation, before migrations.
    Arguments: ``settings`` — the validated ``stowage.core.kernel.config.Settings``.
    Returns: an object implementing ``stowage.core.contracts.store.Store`` (not yet opened).
    """


@hookspec
def stowage_migrations() -> MigrationSet | None:
    """Contribute this plugin's ordered, append-only schema migrations.

    When: at every start-up (``serve``, ``create-admin``, ``quickstart``, ``migrate``), after the
    store opens and before anything reads from it.
    Returns: a ``stowage.core.contracts.store.MigrationSet`` (plugin name + ordered list of
    ``Migration(version, name, sql)``), or ``None``. The core schema is contributed by the sqlite
    plugin and recorded in ``schema_migrations``; every other plugin's migrations are recorded in
    ``plugin_migrations`` under the plugin name. A shipped migration is never edited.
    """


# --- Phase 3: runtime services ----------------------------------------------------------------


@hookspec(firstresult=True)
def stowage_storage_driver(backend: BackendSpec) -> StorageDriver | None:
    """Return a storage driver for a backend entry whose ``type`` is yours, else ``None``.

    When: whenever the backend registry (re)builds an entry: at start-up and on live changes.
    Arguments: ``backend`` — a ``stowage.core.contracts.backends.BackendSpec`` (id, type, endpoint, region,
    path_style, access_key, secret_key).
    Returns: an object implementing ``stowage.core.contracts.driver.StorageDriver``.
    """


@hookspec(firstresult=True)
def stowage_authenticate(request: Request, runtime: Runtime) -> Identity | None:
    """Return an ``Identity`` for a dashboard request, or ``None`` when you cannot identify it.

    When: once per dashboard request under ``/api`` before role gates run.
    Arguments: ``request`` — the Quart request; ``runtime`` — the Runtime.
    Returns: ``stowage.core.contracts.identity.Identity`` or ``None`` (anonymous so far; the next
    implementation is asked).
    """


@hookspec(firstresult=True)
def stowage_credential_lookup(access_key_id: str, runtime: Runtime) -> VirtualCredential | None:
    """Resolve an access key id presented to the S3 proxy to a virtual credential.

    When: for every signed proxy request whose key is not in the credential cache.
    Returns: ``stowage.core.contracts.credentials.VirtualCredential`` or ``None`` (not yours).
    """


@hookspec(firstresult=True)
def stowage_audit_sample(event: AuditEvent, runtime: Runtime) -> bool | None:
    """Decide whether an audit event is recorded.

    When: once per audit event, before it is written. With only the built-in sampler present it
    is applied as the event is recorded, so sampled-out reads never occupy the audit queue;
    with a third-party sampler every implementation runs in the audit writer task.
    Arguments: ``event`` — a ``stowage.core.contracts.audit.AuditEvent``.
    Returns: ``True`` (record), ``False`` (drop), or ``None`` (no opinion; ask the next). The
    built-in default applies ``audit.sampling.*`` and is registered ``trylast``.
    """


@hookspec
def stowage_audit_export(events: Sequence[AuditEvent], runtime: Runtime) -> None:
    """Receive each batch of audit events after it is committed to the store.

    When: after every successful batch commit of the audit writer, in commit order.
    Arguments: ``events`` — the committed ``AuditEvent`` records (read-only).
    Returns: nothing. An exception is logged and never affects the batch or other exporters.
    """


@hookspec(firstresult=True)
def stowage_share_resolve(code: str, runtime: Runtime) -> Share | None:
    """Resolve a public share code to a ``stowage.core.contracts.shares.Share``.

    When: on every public ``/s/<code>`` request.
    Returns: a share, or ``None`` when the code is not yours (the built-in store lookup is
    registered ``trylast``).
    """


@hookspec(firstresult=True)
def stowage_quota_limits(
    backend_id: str, bucket: str, runtime: Runtime
) -> QuotaLimits | tuple[int, int] | None:
    """Return ``(soft_bytes, hard_bytes)`` (or a ``QuotaLimits``) for a bucket, or ``None``.

    ``None`` means you have no limit source for this bucket; the next implementation is asked.

    When: on each quota check and scan. The built-in store source is registered ``trylast``.
    """


# --- Phase 4: HTTP surface and lifecycle ------------------------------------------------------


@hookspec
def stowage_blueprints(runtime: Runtime) -> Blueprint | Sequence[Blueprint] | None:
    """Return Quart blueprints to mount on the dashboard listener (a list, one, or ``None``).

    When: once per Runtime while the dashboard app is built.
    """


@hookspec
def stowage_listeners(runtime: Runtime) -> Sequence[Listener] | None:
    """Contribute listeners served next to the dashboard (the S3 proxy's is one).

    When: once per ``serve``, after every ``stowage_startup``, before any socket is bound.
    Arguments: ``runtime`` — the opened Runtime.
    Returns: a list of ``stowage.core.kernel.server.Listener`` (name, address, ASGI app) or ``None``.
    The server binds each (a failure names the ``<name>.listen`` setting) and writes the bound
    port back into the object, so keep a reference to read it later.
    """


@hookspec
def stowage_quickstart_steps(runtime: Runtime) -> Sequence[QuickstartStep] | None:
    """Contribute steps that ``stowage quickstart`` runs once the Runtime is open.

    When: once, in ``stowage quickstart``, after start-up and before the banner is printed.
    Arguments: ``runtime`` — the opened Runtime.
    Returns: a list of ``stowage.core.tooling.quickstart.QuickstartStep``: async callables
    ``step(runtime, args, random_password) -> dict[str, str]`` whose lines the banner shows.
    """


@hookspec
def stowage_proxy_sources(runtime: Runtime) -> Sequence[CredentialSource] | None:
    """Contribute credential sources shown in the proxy's admin views (API-50).

    When: on each ``GET /api/admin/s3-proxy/credentials`` and ``…/anonymous`` request.
    Arguments: ``runtime`` — the Runtime.
    Returns: a list of ``stowage.core.contracts.credentials.CredentialSource`` (a ``name`` and
    ``list_credentials()`` / ``list_anonymous()`` returning dicts, sync or async), or ``None``.
    Secrets a source returns are never shown.
    """


@hookspec
def stowage_startup(runtime: Runtime) -> None:
    """Open what the plugin owns and start its background tasks.

    When: once per Runtime, after migrations and before the listeners accept connections.
    Implementations run in registration order (built-ins first: store, audit, backends … then
    third-party plugins; ``tryfirst``/``trylast`` still apply); an exception stops start-up.
    """


@hookspec
def stowage_shutdown(runtime: Runtime) -> None:
    """Stop background tasks and close what the plugin owns.

    When: once, after the listeners drained and before the store closes. Runs in reverse
    registration order (last registered first, so the audit writer shuts down after the plugins
    that record into it); exceptions are logged and the remaining implementations still run.
    """


@hookspec
def stowage_cli_commands() -> Sequence[Command] | None:
    """Contribute extra ``stowage`` subcommands.

    When: when the CLI builds its parser.
    Returns: a list of ``stowage.core.kernel.command.Command`` (name, help, add_arguments, run).
    """
