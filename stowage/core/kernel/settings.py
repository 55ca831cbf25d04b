"""The typed, validated settings tree every part of Stowage reads (built by ``kernel.config``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AuditSettings",
    "AuthSettings",
    "BackendEntry",
    "DbSettings",
    "ListenAddress",
    "LocalAuthSettings",
    "LogSettings",
    "PluginSettings",
    "RateLimitSettings",
    "RawSettings",
    "S3ProxySettings",
    "ServerSettings",
    "SessionSettings",
    "Settings",
    "SqliteSettings",
    "StaticAuthSettings",
]


@dataclass(frozen=True)
class RawSettings:
    """Merged settings before validation: a lower-cased nested dict plus the Dynaconf object."""

    data: dict[str, Any]
    dynaconf: Any
    config_path: Path | None

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node


@dataclass(frozen=True)
class ListenAddress:
    host: str
    port: int

    def bind(self) -> str:
        """The address in Hypercorn's ``bind`` syntax."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class BackendEntry:
    """A backend declared in the settings file; keys are read from the variables it names."""

    id: str
    name: str
    type: str
    endpoint: str
    region: str
    access_key_env: str
    secret_key_env: str
    path_style: bool


@dataclass(frozen=True)
class ServerSettings:
    listen: str
    shutdown_timeout: float
    public_url: str
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    secret_key_file: str


@dataclass(frozen=True)
class LogSettings:
    level: str
    format: str


@dataclass(frozen=True)
class SqliteSettings:
    path: str


@dataclass(frozen=True)
class DbSettings:
    driver: str
    sqlite: SqliteSettings


@dataclass(frozen=True)
class SessionSettings:
    lifetime: float
    idle_timeout: float


@dataclass(frozen=True)
class LocalAuthSettings:
    allow_self_registration: bool
    require_admin_approval: bool
    min_password_length: int
    prevent_reuse: bool
    lockout_max_attempts: int
    lockout_window: float


@dataclass(frozen=True)
class StaticAuthSettings:
    enabled: bool
    username: str
    password_hash_env: str


@dataclass(frozen=True)
class AuthSettings:
    modes: tuple[str, ...]
    session: SessionSettings
    local: LocalAuthSettings
    static: StaticAuthSettings
    oidc: dict[str, Any]


@dataclass(frozen=True)
class RateLimitSettings:
    api_per_minute: int
    login_attempts: int
    login_window: float
    share_per_minute: int


@dataclass(frozen=True)
class S3ProxySettings:
    enabled: bool
    listen: str
    host_suffixes: tuple[str, ...]
    global_rps: float
    per_key_rps: float
    anonymous_enabled: bool
    anonymous_rps: float
    public_hostname: str
    endpoint_url: str
    sigv2: bool = True


@dataclass(frozen=True)
class AuditSettings:
    proxy_success_read_rate: float
    queue_size: int
    batch_size: int
    durability: str = "batch"  # batch | sync: group commits, or commit each event before answering


@dataclass(frozen=True)
class PluginSettings:
    dir: str
    enabled: tuple[str, ...]
    disabled: tuple[str, ...]
    sections: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """A plugin's own ``plugins.<name>`` settings (empty when absent)."""
        value = self.sections.get(name, {})
        return dict(value) if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Settings:
    """Validated settings. ``raw`` keeps the merged dict for ``config check`` and plugins."""

    server: ServerSettings
    log: LogSettings
    db: DbSettings
    auth: AuthSettings
    backends: tuple[BackendEntry, ...]
    quota_scan_interval: float
    ratelimit: RateLimitSettings
    s3_proxy: S3ProxySettings
    operator_proxy_url: str
    audit: AuditSettings
    plugins: PluginSettings
    raw: dict[str, Any]
    config_path: Path | None = None
    backend_denied_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    """``backend_network.denied_networks``: where a backend may not connect (``core.netpolicy``)."""
