"""Settings: layered loading with Dynaconf, validation, and the typed ``Settings`` tree.

Layering: packaged defaults (``stowage/default_settings.yaml``) < the operator's YAML file
(``--config PATH`` or ``STOWAGE_CONFIG``) < ``STOWAGE_<SECTION>__<KEY>`` environment variables <
the six documented short names (``STOWAGE_LISTEN`` …), applied only when non-empty.
``STOWAGE_SECRET_KEY`` is never a setting: the secret box reads it directly.

Validation runs before anything opens and raises ``ConfigError`` naming the key, the value and
what is allowed. Unknown keys are ignored with a warning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from dynaconf import Dynaconf, ValidationError

from stowage.core.kernel.errors import ConfigError
from stowage.core.kernel.setting_readers import invalid, parse_listen, read_duration, read_str
from stowage.core.kernel.settings import BackendEntry, ListenAddress, RawSettings, Settings
from stowage.core.kernel.settings_sections import (
    build_audit,
    build_auth,
    build_backends,
    build_db,
    build_denied_networks,
    build_log,
    build_plugins,
    build_ratelimit,
    build_s3_proxy,
    build_server,
)

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
    logging_part = build_log(raw)
    server = build_server(raw)
    db = build_db(raw)
    auth = build_auth(raw)
    s3_proxy = build_s3_proxy(raw, server)
    audit = build_audit(raw)
    plugin_data = raw.get("plugins") or {}
    if not isinstance(plugin_data, Mapping):
        raise invalid("plugins", plugin_data, "expected a mapping")
    _run_plugin_validators(raw, validators)
    # Validators may fill defaults into the Dynaconf object: read plugin sections back from it.
    filled = _lower_keys(raw.dynaconf.get("plugins") or {}) if raw.dynaconf is not None else {}
    plugin_data = _deep_merge(filled if isinstance(filled, Mapping) else {}, plugin_data)
    return Settings(
        server=server,
        log=logging_part,
        db=db,
        auth=auth,
        backends=build_backends(raw),
        quota_scan_interval=read_duration(raw, "quotas.scan_interval"),
        ratelimit=build_ratelimit(raw),
        s3_proxy=s3_proxy,
        operator_proxy_url=read_str(raw, "operator.proxy_url"),
        audit=audit,
        plugins=build_plugins(raw, plugin_data),
        raw=raw.data,
        config_path=raw.config_path,
        backend_denied_networks=build_denied_networks(raw),
    )


def _run_plugin_validators(raw: RawSettings, validators: Sequence[Any]) -> None:
    for validator in validators:
        try:
            validator.validate(raw.dynaconf)
        except ValidationError as exc:
            names = getattr(validator, "names", ())
            key = names[0] if names else ""
            raise ConfigError(f"{key}: {exc}", key=str(key)) from None
