"""Stowage: a self-hosted S3 gateway with a dashboard API, a SigV4 proxy and share links.

This module is the plugin author's surface: everything ``docs/plugins.md`` tells a plugin to import
is importable from here (``from stowage import Identity, hookimpl``). The layout behind it:

* ``stowage.hooks`` — every hook a plugin may implement;
* ``stowage.core.kernel`` — runtime, plugin loading, hook calls, settings, errors, CLI, serving;
* ``stowage.core.contracts`` — the records, store protocols and services plugins exchange;
* ``stowage.core.web`` — the dashboard's Quart app and helpers for route handlers;
* ``stowage.core.security``, ``stowage.core.formats`` — shared primitives;
* ``stowage.core.tooling`` — ``stowage quickstart`` and its rclone launcher;
* ``stowage.plugins`` — the built-in plugins; ``stowage.testing`` — pytest fixtures for plugins.
"""

from __future__ import annotations

from stowage.core.contracts.audit import AuditEvent
from stowage.core.contracts.credentials import VirtualCredential
from stowage.core.contracts.driver import BackendSpec, DriverError, StorageDriver
from stowage.core.contracts.identity import ROLES, Identity
from stowage.core.contracts.shares import Share
from stowage.core.contracts.store import Database, Migration, MigrationSet, Store
from stowage.core.kernel.command import CliContext, Command
from stowage.core.kernel.errors import (
    ApiError,
    BackendFailure,
    BadRequest,
    ConfigError,
    Conflict,
    Forbidden,
    InternalError,
    NotFound,
    PayloadTooLarge,
    PluginError,
    RateLimited,
    ServiceUnavailable,
    StowageError,
    Unauthorized,
)
from stowage.core.kernel.runtime import Runtime
from stowage.core.kernel.settings import Settings
from stowage.core.web.request_context import current_runtime
from stowage.hooks import hookimpl, hookspec

__version__ = "0.1.0"

__all__ = [
    "ROLES",
    "ApiError",
    "AuditEvent",
    "BackendFailure",
    "BackendSpec",
    "BadRequest",
    "CliContext",
    "Command",
    "ConfigError",
    "Conflict",
    "Database",
    "DriverError",
    "Forbidden",
    "Identity",
    "InternalError",
    "Migration",
    "MigrationSet",
    "NotFound",
    "PayloadTooLarge",
    "PluginError",
    "RateLimited",
    "Runtime",
    "ServiceUnavailable",
    "Settings",
    "Share",
    "StorageDriver",
    "Store",
    "StowageError",
    "Unauthorized",
    "VirtualCredential",
    "__version__",
    "current_runtime",
    "hookimpl",
    "hookspec",
]
