"""Settings: layered loading with Dynaconf, validation, and the typed ``Settings`` tree.

Layering: packaged defaults (``stowage/default_settings.yaml``) < the operator's YAML file
(``--config PATH`` or ``STOWAGE_CONFIG``) < ``STOWAGE_<SECTION>__<KEY>`` environment variables <
the six documented short names (``STOWAGE_LISTEN`` …), applied only when non-empty.
``STOWAGE_SECRET_KEY`` is never a setting: the secret box reads it directly.

Validation runs before anything opens and raises ``ConfigError`` naming the key, the value and
what is allowed. Unknown keys are ignored with a warning.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from dynaconf import Dynaconf, ValidationError

from stowage.core.formats.durations import parse_duration
from stowage.core.kernel.errors import ConfigError
from stowage.core.kernel.settings import (
    AuditSettings,
    AuthSettings,
    BackendEntry,
    DbSettings,
    ListenAddress,
    LocalAuthSettings,
    LogSettings,
    PluginSettings,
    RateLimitSettings,
    RawSettings,
    S3ProxySettings,
    ServerSettings,
    SessionSettings,
    Settings,
    SqliteSettings,
    StaticAuthSettings,
)
from stowage.core.security.netpolicy import SETTING, parse_networks

__all__ = [
    "DEFAULTS_PATH",
    "ENV_ALIASES",
    "BackendEntry",
    "ListenAddress",
    "RawSettings",
    "Settings",
    "load_raw_settings",
    "parse_listen",
    "validate_settings",
]

log = logging.getLogger("stowage.config")

DEFAULTS_PATH = Path(__file__).resolve().parents[2] / "default_settings.yaml"

#: Short environment names kept from the original, mapped to dotted keys.
ENV_ALIASES: dict[str, str] = {
    "STOWAGE_LISTEN": "server.listen",
    "STOWAGE_PUBLIC_URL": "server.public_url",
    "STOWAGE_LOG_LEVEL": "log.level",
    "STOWAGE_LOG_FORMAT": "log.format",
    "STOWAGE_SQLITE_PATH": "db.sqlite.path",
    "STOWAGE_SECRET_KEY_FILE": "server.secret_key_file",
}
# Environment names that Dynaconf would otherwise surface as settings.
_NOT_SETTINGS = {"secret_key", "config", "load_dotenv", "pprof_listen", "event_loop"} | {
    name.removeprefix("STOWAGE_").lower() for name in ENV_ALIASES
}
KNOWN_DRIVERS = ("sqlite", "postgres")
KNOWN_AUTH_MODES = ("local", "oidc", "static")
BACKEND_KEYS = {"id", "name", "type", "endpoint", "region", "access_key_env", "secret_key_env", "path_style"}
RESERVED_PLUGIN_KEYS = {"dir", "enabled", "disabled"}


# --- loading -----------------------------------------------------------------------------------


def _lower_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lower_keys(v) for v in value]
    return value


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def load_raw_settings(
    config_path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> RawSettings:
    """Merge defaults, the YAML file and the environment; no validation yet."""
    env = os.environ if environ is None else environ
    path_text = str(config_path) if config_path else env.get("STOWAGE_CONFIG", "")
    path = Path(path_text).expanduser().resolve() if path_text else None
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist", key="--config")
    merged = _defaults()
    if path is not None:
        merged = _deep_merge(merged, _read_yaml(path))
    saved = None
    if environ is not None:
        # Dynaconf reads os.environ; swap in the given mapping for the duration of the load.
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(environ)
    try:
        # Files are merged here (dicts merge, lists and scalars replace); Dynaconf layers the
        # environment on top. Its own file merging would append YAML lists to the defaults.
        dyn = Dynaconf(
            envvar_prefix="STOWAGE",
            environments=False,
            merge_enabled=False,
            load_dotenv=False,
            core_loaders=[],
            **{key.upper(): value for key, value in merged.items()},
        )
        data = _lower_keys(dyn.as_dict())
    except Exception as exc:
        raise ConfigError(f"cannot read settings from the environment: {exc}") from exc
    finally:
        if saved is not None:
            os.environ.clear()
            os.environ.update(saved)
    for name in _NOT_SETTINGS:
        data.pop(name, None)
    for env_name, dotted in ENV_ALIASES.items():
        value = env.get(env_name, "")
        if value:
            _set_dotted(data, dotted, value)
    return RawSettings(data=data, dynaconf=dyn, config_path=path)


# --- validation --------------------------------------------------------------------------------


def _bad(key: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{key}: invalid value {value!r}: {allowed}", key=key)


def parse_listen(value: str, key: str = "server.listen") -> ListenAddress:
    """Parse ``host:port`` / ``:port`` / ``[v6]:port``; an empty host means all interfaces."""
    text = str(value).strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise _bad(key, value, "expected host:port, e.g. :8080 or 127.0.0.1:8080")
    host = host.strip("[]") or "0.0.0.0"
    return ListenAddress(host=host, port=int(port_text))


def _duration(raw: RawSettings, key: str) -> float:
    value = raw.get(key)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise _bad(key, value, str(exc)) from None


def _int(raw: RawSettings, key: str, minimum: int | None = None) -> int:
    value = raw.get(key)
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value)
    except (TypeError, ValueError):
        raise _bad(key, value, "expected an integer") from None
    if minimum is not None and number < minimum:
        raise _bad(key, value, f"must be >= {minimum}")
    return number


def _float(raw: RawSettings, key: str, minimum: float = 0.0) -> float:
    value = raw.get(key)
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        raise _bad(key, value, "expected a number") from None
    if number < minimum:
        raise _bad(key, value, f"must be >= {minimum:g}")
    return number


def _bool(raw: RawSettings, key: str) -> bool:
    value = raw.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.lower() in {"true", "1", "yes"}
    raise _bad(key, value, "expected true or false")


def _str(raw: RawSettings, key: str) -> str:
    value = raw.get(key, "")
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise _bad(key, value, "expected a string")
    return str(value)


def _str_list(raw: RawSettings, key: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        raise _bad(key, value, "expected a list of strings")
    return tuple(str(v) for v in value)


def _trusted_proxies(raw: RawSettings) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for entry in _str_list(raw, "server.trusted_proxies"):
        try:
            nets.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ConfigError(
                f"server.trusted_proxies: {entry!r} is not an IP address or CIDR",
                key="server.trusted_proxies",
            ) from None
    return tuple(nets)


def _denied_networks(raw: RawSettings) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return parse_networks(_str_list(raw, SETTING))
    except ValueError as exc:
        raise ConfigError(f"{SETTING}: {exc}", key=SETTING) from None


def _backends(raw: RawSettings) -> tuple[BackendEntry, ...]:
    entries = raw.get("backends") or []
    if not isinstance(entries, list):
        raise _bad("backends", entries, "expected a list of backend entries")
    seen: set[str] = set()
    out = []
    for i, entry in enumerate(entries):
        key = f"backends[{i}]"
        if not isinstance(entry, Mapping):
            raise _bad(key, entry, "expected a mapping")
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


def _warn_unknown(defaults: Mapping[str, Any], data: Mapping[str, Any], prefix: str = "") -> None:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if dotted == "plugins" or dotted == "backends":
            continue
        if key not in defaults:
            log.warning("unknown setting ignored: %s", dotted, extra={"key": dotted})
            continue
        default = defaults[key]
        if isinstance(default, Mapping) and default and isinstance(value, Mapping):
            _warn_unknown(default, value, dotted + ".")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc}", key=str(path)) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"settings file {path} must hold a mapping at the top level", key=str(path))
    return _lower_keys(loaded)  # type: ignore[no-any-return]


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _defaults() -> dict[str, Any]:
    return _read_yaml(DEFAULTS_PATH)


def validate_settings(raw: RawSettings, validators: Sequence[Any] = ()) -> Settings:
    """Check every key and build the typed tree; ``validators`` come from plugins."""
    _warn_unknown(_defaults(), raw.data)

    level = _str(raw, "log.level").lower() or "info"
    if level not in {"debug", "info", "warn", "warning", "error"}:
        raise ConfigError(f"log.level must be debug|info|warn|error (got {level!r})", key="log.level")
    fmt = _str(raw, "log.format").lower() or "json"
    if fmt not in {"json", "text"}:
        raise ConfigError(f'log.format must be "json" or "text" (got {fmt!r})', key="log.format")

    listen = _str(raw, "server.listen")
    if not listen:
        raise ConfigError("server.listen is required", key="server.listen")
    parse_listen(listen)

    driver = _str(raw, "db.driver").lower() or "sqlite"
    if driver == "postgres":
        raise ConfigError('db.driver "postgres" not yet implemented', key="db.driver")
    if driver not in KNOWN_DRIVERS:
        raise ConfigError(
            f'db.driver "{driver}" unknown (known drivers: sqlite; postgres is reserved)', key="db.driver"
        )
    sqlite_path = _str(raw, "db.sqlite.path")
    if not sqlite_path:
        raise ConfigError("db.sqlite.path is required when driver is sqlite", key="db.sqlite.path")
    sqlite_path = str(Path(sqlite_path).expanduser().resolve())

    modes = tuple(m.lower() for m in _str_list(raw, "auth.modes"))
    if not modes:
        raise ConfigError("auth.modes must list at least one of: local, oidc, static", key="auth.modes")
    for mode in modes:
        if mode not in KNOWN_AUTH_MODES:
            raise ConfigError(f'auth.modes contains unknown mode "{mode}"', key="auth.modes")
    static = StaticAuthSettings(
        enabled=_bool(raw, "auth.static.enabled") or "static" in modes,
        username=_str(raw, "auth.static.username"),
        password_hash_env=_str(raw, "auth.static.password_hash_env"),
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
    if static.enabled and "static" not in modes:
        modes = (*modes, "static")

    lockout_attempts = _int(raw, "auth.local.lockout.max_attempts")
    lockout_window = _duration(raw, "auth.local.lockout.window")
    local = LocalAuthSettings(
        allow_self_registration=_bool(raw, "auth.local.allow_self_registration"),
        require_admin_approval=_bool(raw, "auth.local.require_admin_approval"),
        min_password_length=_int(raw, "auth.local.password.min_length", minimum=1),
        prevent_reuse=_bool(raw, "auth.local.password.prevent_reuse"),
        lockout_max_attempts=lockout_attempts if lockout_attempts > 0 else 5,
        lockout_window=lockout_window if lockout_window > 0 else 900.0,
    )
    session = SessionSettings(
        lifetime=_duration(raw, "auth.session.lifetime"),
        idle_timeout=_duration(raw, "auth.session.idle_timeout"),
    )
    if session.lifetime <= 0:
        raise _bad("auth.session.lifetime", raw.get("auth.session.lifetime"), "must be positive")
    if session.idle_timeout <= 0:
        raise _bad("auth.session.idle_timeout", raw.get("auth.session.idle_timeout"), "must be positive")

    proxy_enabled = _bool(raw, "s3_proxy.enabled")
    proxy_listen = _str(raw, "s3_proxy.listen")
    if proxy_enabled:
        if not proxy_listen:
            raise ConfigError(
                "s3_proxy.listen is required when s3_proxy.enabled is true", key="s3_proxy.listen"
            )
        proxy_address = parse_listen(proxy_listen, "s3_proxy.listen")
        same = proxy_address == parse_listen(listen) and proxy_address.port != 0
        if same or (proxy_listen == listen and proxy_address.port != 0):
            raise ConfigError(
                f's3_proxy.listen must differ from server.listen (both set to "{listen}")',
                key="s3_proxy.listen",
            )
    public_hostname = _str(raw, "s3_proxy.public_hostname")
    if public_hostname and (any(c in public_hostname for c in "/?#") or "://" in public_hostname):
        raise ConfigError(
            "s3_proxy.public_hostname must be a bare host (no scheme or path)", key="s3_proxy.public_hostname"
        )

    rate = _float(raw, "audit.sampling.proxy_success_read_rate", minimum=float("-inf"))
    durability = _str(raw, "audit.durability").lower() or "batch"
    if durability not in {"batch", "sync"}:
        raise ConfigError(
            f'audit.durability must be "batch" or "sync" (got {durability!r})', key="audit.durability"
        )
    plugin_data = raw.get("plugins") or {}
    if not isinstance(plugin_data, Mapping):
        raise _bad("plugins", plugin_data, "expected a mapping")

    for validator in validators:
        try:
            validator.validate(raw.dynaconf)
        except ValidationError as exc:
            names = getattr(validator, "names", ())
            key = names[0] if names else ""
            raise ConfigError(f"{key}: {exc}", key=str(key)) from None

    # Validators may fill defaults into the Dynaconf object: read plugin sections back from it.
    filled = _lower_keys(raw.dynaconf.get("plugins") or {}) if raw.dynaconf is not None else {}
    plugin_data = _deep_merge(filled if isinstance(filled, Mapping) else {}, plugin_data)
    return Settings(
        server=ServerSettings(
            listen=listen,
            shutdown_timeout=_duration(raw, "server.shutdown_timeout"),
            public_url=_str(raw, "server.public_url").rstrip("/"),
            trusted_proxies=_trusted_proxies(raw),
            secret_key_file=_str(raw, "server.secret_key_file"),
        ),
        log=LogSettings(level="warn" if level == "warning" else level, format=fmt),
        db=DbSettings(driver=driver, sqlite=SqliteSettings(path=sqlite_path)),
        auth=AuthSettings(
            modes=modes,
            session=session,
            local=local,
            static=static,
            oidc=dict(raw.get("auth.oidc") or {}),
        ),
        backends=_backends(raw),
        quota_scan_interval=_duration(raw, "quotas.scan_interval"),
        ratelimit=RateLimitSettings(
            api_per_minute=_int(raw, "ratelimit.api_per_minute", minimum=0),
            login_attempts=_int(raw, "ratelimit.login_attempts", minimum=1),
            login_window=_duration(raw, "ratelimit.login_window"),
            share_per_minute=_int(raw, "ratelimit.share_per_minute", minimum=1),
        ),
        s3_proxy=S3ProxySettings(
            enabled=proxy_enabled,
            listen=proxy_listen,
            host_suffixes=tuple(s.lower().strip(".") for s in _str_list(raw, "s3_proxy.host_suffixes")),
            global_rps=_float(raw, "s3_proxy.global_rps"),
            per_key_rps=_float(raw, "s3_proxy.per_key_rps"),
            anonymous_enabled=_bool(raw, "s3_proxy.anonymous_enabled"),
            anonymous_rps=_float(raw, "s3_proxy.anonymous_rps"),
            public_hostname=public_hostname,
            endpoint_url=_str(raw, "s3_proxy.endpoint_url").rstrip("/"),
            sigv2=_bool(raw, "s3_proxy.sigv2"),
        ),
        operator_proxy_url=_str(raw, "operator.proxy_url"),
        audit=AuditSettings(
            proxy_success_read_rate=min(1.0, max(0.0, rate)),
            queue_size=_int(raw, "audit.queue_size", minimum=1),
            batch_size=_int(raw, "audit.batch_size", minimum=1),
            durability=durability,
        ),
        plugins=PluginSettings(
            dir=_str(raw, "plugins.dir"),
            enabled=_str_list(raw, "plugins.enabled"),
            disabled=_str_list(raw, "plugins.disabled"),
            sections={k: v for k, v in plugin_data.items() if k not in RESERVED_PLUGIN_KEYS},
        ),
        raw=raw.data,
        config_path=raw.config_path,
        backend_denied_networks=_denied_networks(raw),
    )
