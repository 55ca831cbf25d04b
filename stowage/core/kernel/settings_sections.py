"""One builder per settings section: each reads its keys, checks them and returns its typed part.

``config.validate_settings`` calls them in order; each raises ``ConfigError`` naming the first bad
key of its section.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stowage.core.kernel.errors import ConfigError
from stowage.core.kernel.setting_readers import (
    invalid,
    parse_listen,
    read_bool,
    read_duration,
    read_float,
    read_int,
    read_str,
    read_str_list,
)
from stowage.core.kernel.settings import (
    AuditSettings,
    AuthSettings,
    BackendEntry,
    DbSettings,
    LocalAuthSettings,
    LogSettings,
    PluginSettings,
    RateLimitSettings,
    RawSettings,
    S3ProxySettings,
    ServerSettings,
    SessionSettings,
    SqliteSettings,
    StaticAuthSettings,
)
from stowage.core.security.netpolicy import SETTING, parse_networks

__all__ = [
    "build_audit",
    "build_auth",
    "build_backends",
    "build_db",
    "build_denied_networks",
    "build_log",
    "build_plugins",
    "build_ratelimit",
    "build_s3_proxy",
    "build_server",
]

log = logging.getLogger("stowage.config")

KNOWN_DRIVERS = ("sqlite", "postgres")
KNOWN_AUTH_MODES = ("local", "oidc", "static")
BACKEND_KEYS = {"id", "name", "type", "endpoint", "region", "access_key_env", "secret_key_env", "path_style"}
RESERVED_PLUGIN_KEYS = {"dir", "enabled", "disabled"}


def build_log(raw: RawSettings) -> LogSettings:
    """``log``: level ``debug|info|warn|error`` (``warning`` accepted) and format ``json|text``."""
    level = read_str(raw, "log.level").lower() or "info"
    if level not in {"debug", "info", "warn", "warning", "error"}:
        raise ConfigError(f"log.level must be debug|info|warn|error (got {level!r})", key="log.level")
    fmt = read_str(raw, "log.format").lower() or "json"
    if fmt not in {"json", "text"}:
        raise ConfigError(f'log.format must be "json" or "text" (got {fmt!r})', key="log.format")
    return LogSettings(level="warn" if level == "warning" else level, format=fmt)


def build_server(raw: RawSettings) -> ServerSettings:
    """``server``: the dashboard listener (required), shutdown budget, public URL, trusted proxies."""
    listen = read_str(raw, "server.listen")
    if not listen:
        raise ConfigError("server.listen is required", key="server.listen")
    parse_listen(listen)
    return ServerSettings(
        listen=listen,
        shutdown_timeout=read_duration(raw, "server.shutdown_timeout"),
        public_url=read_str(raw, "server.public_url").rstrip("/"),
        trusted_proxies=_trusted_proxies(raw),
        secret_key_file=read_str(raw, "server.secret_key_file"),
    )


def build_db(raw: RawSettings) -> DbSettings:
    """``db``: the driver (only ``sqlite`` today; ``postgres`` is reserved) and its file path."""
    driver = read_str(raw, "db.driver").lower() or "sqlite"
    if driver == "postgres":
        raise ConfigError('db.driver "postgres" not yet implemented', key="db.driver")
    if driver not in KNOWN_DRIVERS:
        raise ConfigError(
            f'db.driver "{driver}" unknown (known drivers: sqlite; postgres is reserved)', key="db.driver"
        )
    sqlite_path = read_str(raw, "db.sqlite.path")
    if not sqlite_path:
        raise ConfigError("db.sqlite.path is required when driver is sqlite", key="db.sqlite.path")
    return DbSettings(
        driver=driver, sqlite=SqliteSettings(path=str(Path(sqlite_path).expanduser().resolve()))
    )


def build_auth(raw: RawSettings) -> AuthSettings:
    """``auth``: the sign-in modes and each mode's part; enabling ``static`` adds it to the modes."""
    modes = tuple(m.lower() for m in read_str_list(raw, "auth.modes"))
    if not modes:
        raise ConfigError("auth.modes must list at least one of: local, oidc, static", key="auth.modes")
    for mode in modes:
        if mode not in KNOWN_AUTH_MODES:
            raise ConfigError(f'auth.modes contains unknown mode "{mode}"', key="auth.modes")
    static = _static_auth(raw, modes)
    if static.enabled and "static" not in modes:
        modes = (*modes, "static")
    return AuthSettings(
        modes=modes,
        session=_session(raw),
        local=_local_auth(raw),
        static=static,
        oidc=dict(raw.get("auth.oidc") or {}),
    )


def _static_auth(raw: RawSettings, modes: tuple[str, ...]) -> StaticAuthSettings:
    static = StaticAuthSettings(
        enabled=read_bool(raw, "auth.static.enabled") or "static" in modes,
        username=read_str(raw, "auth.static.username"),
        password_hash_env=read_str(raw, "auth.static.password_hash_env"),
    )
    if static.enabled and not static.username:
        raise ConfigError(
            "auth.static.username is required when static is enabled", key="auth.static.username"
        )
    if static.enabled and not static.password_hash_env:
        raise ConfigError(
            "auth.static.password_hash_env is required when static is enabled",
            key="auth.static.password_hash_env",
        )
    return static


def _local_auth(raw: RawSettings) -> LocalAuthSettings:
    # A lockout of zero attempts or zero seconds would lock nobody out: fall back to the defaults.
    lockout_attempts = read_int(raw, "auth.local.lockout.max_attempts")
    lockout_window = read_duration(raw, "auth.local.lockout.window")
    return LocalAuthSettings(
        allow_self_registration=read_bool(raw, "auth.local.allow_self_registration"),
        require_admin_approval=read_bool(raw, "auth.local.require_admin_approval"),
        min_password_length=read_int(raw, "auth.local.password.min_length", minimum=1),
        prevent_reuse=read_bool(raw, "auth.local.password.prevent_reuse"),
        lockout_max_attempts=lockout_attempts if lockout_attempts > 0 else 5,
        lockout_window=lockout_window if lockout_window > 0 else 900.0,
    )


def _session(raw: RawSettings) -> SessionSettings:
    session = SessionSettings(
        lifetime=read_duration(raw, "auth.session.lifetime"),
        idle_timeout=read_duration(raw, "auth.session.idle_timeout"),
    )
    if session.lifetime <= 0:
        raise invalid("auth.session.lifetime", raw.get("auth.session.lifetime"), "must be positive")
    if session.idle_timeout <= 0:
        raise invalid("auth.session.idle_timeout", raw.get("auth.session.idle_timeout"), "must be positive")
    return session


def build_s3_proxy(raw: RawSettings, server: ServerSettings) -> S3ProxySettings:
    """``s3_proxy``: when enabled, a listener of its own that differs from the dashboard's."""
    enabled = read_bool(raw, "s3_proxy.enabled")
    listen = read_str(raw, "s3_proxy.listen")
    if enabled:
        if not listen:
            raise ConfigError(
                "s3_proxy.listen is required when s3_proxy.enabled is true", key="s3_proxy.listen"
            )
        address = parse_listen(listen, "s3_proxy.listen")
        same = address == parse_listen(server.listen) and address.port != 0
        if same or (listen == server.listen and address.port != 0):
            raise ConfigError(
                f's3_proxy.listen must differ from server.listen (both set to "{server.listen}")',
                key="s3_proxy.listen",
            )
    public_hostname = read_str(raw, "s3_proxy.public_hostname")
    if public_hostname and (any(c in public_hostname for c in "/?#") or "://" in public_hostname):
        raise ConfigError(
            "s3_proxy.public_hostname must be a bare host (no scheme or path)", key="s3_proxy.public_hostname"
        )
    return S3ProxySettings(
        enabled=enabled,
        listen=listen,
        host_suffixes=tuple(s.lower().strip(".") for s in read_str_list(raw, "s3_proxy.host_suffixes")),
        global_rps=read_float(raw, "s3_proxy.global_rps"),
        per_key_rps=read_float(raw, "s3_proxy.per_key_rps"),
        anonymous_enabled=read_bool(raw, "s3_proxy.anonymous_enabled"),
        anonymous_rps=read_float(raw, "s3_proxy.anonymous_rps"),
        public_hostname=public_hostname,
        endpoint_url=read_str(raw, "s3_proxy.endpoint_url").rstrip("/"),
        sigv2=read_bool(raw, "s3_proxy.sigv2"),
    )


def build_audit(raw: RawSettings) -> AuditSettings:
    """``audit``: sampling rate (clamped to 0…1), queue and batch sizes, durability ``batch|sync``."""
    rate = read_float(raw, "audit.sampling.proxy_success_read_rate", minimum=float("-inf"))
    durability = read_str(raw, "audit.durability").lower() or "batch"
    if durability not in {"batch", "sync"}:
        raise ConfigError(
            f'audit.durability must be "batch" or "sync" (got {durability!r})', key="audit.durability"
        )
    return AuditSettings(
        proxy_success_read_rate=min(1.0, max(0.0, rate)),
        queue_size=read_int(raw, "audit.queue_size", minimum=1),
        batch_size=read_int(raw, "audit.batch_size", minimum=1),
        durability=durability,
    )


def build_ratelimit(raw: RawSettings) -> RateLimitSettings:
    """``ratelimit``: the dashboard API, login and share-link limits."""
    return RateLimitSettings(
        api_per_minute=read_int(raw, "ratelimit.api_per_minute", minimum=0),
        login_attempts=read_int(raw, "ratelimit.login_attempts", minimum=1),
        login_window=read_duration(raw, "ratelimit.login_window"),
        share_per_minute=read_int(raw, "ratelimit.share_per_minute", minimum=1),
    )


def build_plugins(raw: RawSettings, sections: Mapping[str, Any]) -> PluginSettings:
    """``plugins``: the drop-in folder, the enable/disable lists and each plugin's own section."""
    return PluginSettings(
        dir=read_str(raw, "plugins.dir"),
        enabled=read_str_list(raw, "plugins.enabled"),
        disabled=read_str_list(raw, "plugins.disabled"),
        sections={k: v for k, v in sections.items() if k not in RESERVED_PLUGIN_KEYS},
    )


def build_denied_networks(raw: RawSettings) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``backend_network.denied_networks``: where no backend endpoint may point."""
    try:
        return parse_networks(read_str_list(raw, SETTING))
    except ValueError as exc:
        raise ConfigError(f"{SETTING}: {exc}", key=SETTING) from None


def _trusted_proxies(raw: RawSettings) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for entry in read_str_list(raw, "server.trusted_proxies"):
        try:
            nets.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ConfigError(
                f"server.trusted_proxies: {entry!r} is not an IP address or CIDR",
                key="server.trusted_proxies",
            ) from None
    return tuple(nets)


def build_backends(raw: RawSettings) -> tuple[BackendEntry, ...]:
    """``backends``: the static backend list; ids are required and unique."""
    entries = raw.get("backends") or []
    if not isinstance(entries, list):
        raise invalid("backends", entries, "expected a list of backend entries")
    seen: set[str] = set()
    out = []
    for i, entry in enumerate(entries):
        key = f"backends[{i}]"
        if not isinstance(entry, Mapping):
            raise invalid(key, entry, "expected a mapping")
        for unknown in sorted(set(entry) - BACKEND_KEYS):
            log.warning("unknown setting ignored: %s.%s", key, unknown, extra={"key": f"{key}.{unknown}"})
        backend_id = str(entry.get("id") or "").strip()
        if not backend_id:
            raise ConfigError(f"{key}.id is required", key=f"{key}.id")
        if backend_id in seen:
            raise ConfigError(f'duplicate backend id "{backend_id}"', key=f"{key}.id")
        seen.add(backend_id)
        btype = str(entry.get("type") or "").strip()
        if not btype:
            raise ConfigError(f"{key}.type is required", key=f"{key}.type")
        path_style = entry.get("path_style", False)
        out.append(
            BackendEntry(
                id=backend_id,
                name=str(entry.get("name") or backend_id),
                type=btype,
                endpoint=str(entry.get("endpoint") or ""),
                region=str(entry.get("region") or ""),
                access_key_env=str(entry.get("access_key_env") or ""),
                secret_key_env=str(entry.get("secret_key_env") or ""),
                path_style=path_style is True or str(path_style).lower() == "true",
            )
        )
    return tuple(out)
