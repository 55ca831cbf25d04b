"""Settings: layering, environment names, validation messages, plugin validators.

Every load passes ``environ=`` explicitly, so the ambient environment (and any ``STOWAGE_*``
variable a developer has exported) never leaks into a test.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from dynaconf import Validator

from stowage.core.kernel.config import (
    DEFAULTS_PATH,
    ENV_ALIASES,
    RawSettings,
    Settings,
    load_raw_settings,
    validate_settings,
)
from stowage.core.kernel.errors import ConfigError
from stowage.core.kernel.runtime import load_settings_and_plugins
from stowage.hooks import hookimpl

REPO_ROOT = Path(__file__).resolve().parents[3]
ROOT_SETTINGS = REPO_ROOT / "settings.yaml"
CONFIG_DOC = REPO_ROOT / "docs" / "configuration.md"


# --- helpers -----------------------------------------------------------------------------------


def write_yaml(tmp_path: Path, data: dict[str, Any], name: str = "settings.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def load(tmp_path: Path, data: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Settings:
    path = write_yaml(tmp_path, data) if data is not None else None
    return validate_settings(load_raw_settings(path, environ=env or {}))


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def defaults_with(**overrides: Any) -> RawSettings:
    """Packaged defaults with dotted overrides (``__`` stands for ``.``), bypassing the YAML layer."""
    raw = load_raw_settings(None, environ={})
    for key, value in overrides.items():
        set_dotted(raw.data, key.replace("__", "."), value)
    return raw


def leaf_paths(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict) and node:
        out: list[str] = []
        for key, value in node.items():
            out += leaf_paths(value, f"{prefix}{key}.")
        return out
    return [prefix.rstrip(".")]


# --- layering ----------------------------------------------------------------------------------


def test_packaged_defaults_alone_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load(tmp_path)
    assert settings.config_path is None
    assert settings.server.listen == ":8080"
    assert settings.server.shutdown_timeout == 10.0
    assert settings.server.public_url == ""
    assert settings.server.trusted_proxies == ()
    assert settings.server.secret_key_file == ""
    assert settings.log.level == "info"
    assert settings.log.format == "json"
    assert settings.audit.durability == "batch"
    assert settings.db.driver == "sqlite"
    assert settings.db.sqlite.path == str(tmp_path.resolve() / "stowage.db")
    assert settings.auth.modes == ("local",)
    assert settings.auth.session.lifetime == 8 * 3600
    assert settings.auth.session.idle_timeout == 3600
    assert settings.auth.local.min_password_length == 12
    assert settings.auth.local.prevent_reuse is True
    assert settings.auth.local.lockout_max_attempts == 5
    assert settings.auth.local.lockout_window == 900
    assert settings.auth.static.enabled is False
    assert settings.auth.oidc["scopes"] == ["openid", "profile", "email"]
    assert settings.backends == ()
    assert settings.quota_scan_interval == 1800
    assert settings.ratelimit.api_per_minute == 600
    assert settings.s3_proxy.enabled is False
    assert settings.s3_proxy.listen == ":8090"
    assert settings.s3_proxy.anonymous_rps == 20
    assert settings.s3_proxy.global_rps == 0
    assert settings.operator_proxy_url == "http://stowage-proxy.stowage-system.svc.cluster.local:8080"
    assert settings.audit.proxy_success_read_rate == 0.0
    assert settings.plugins.dir == "./plugins.d"
    assert settings.plugins.enabled == ()
    assert settings.plugins.disabled == ()


def test_yaml_overrides_defaults_and_keeps_the_rest(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        {
            "server": {"listen": "127.0.0.1:9000", "public_url": "https://s.example.com/"},
            "log": {"level": "debug", "format": "text"},
            "auth": {"session": {"lifetime": "2h"}},
            "backends": [{"id": "minio", "type": "s3v4", "endpoint": "http://m:9000", "path_style": True}],
        },
    )
    assert settings.config_path == (tmp_path / "settings.yaml").resolve()
    assert settings.server.listen == "127.0.0.1:9000"
    assert settings.server.public_url == "https://s.example.com"  # trailing slash dropped
    assert settings.server.shutdown_timeout == 10.0  # untouched default
    assert settings.log.level == "debug"
    assert settings.log.format == "text"
    assert settings.auth.session.lifetime == 7200
    assert settings.auth.session.idle_timeout == 3600  # sibling default survives the merge
    (backend,) = settings.backends
    assert (backend.id, backend.name, backend.type, backend.endpoint) == (
        "minio",
        "minio",
        "s3v4",
        "http://m:9000",
    )
    assert backend.path_style is True
    assert backend.region == ""


def test_yaml_list_replaces_the_default_list(tmp_path: Path) -> None:
    # A list in the operator's file replaces the packaged default; it is not appended to it.
    settings = load(tmp_path, {"auth": {"modes": ["oidc"], "oidc": {"scopes": ["openid"]}}})
    assert settings.auth.modes == ("oidc",)
    assert settings.auth.oidc["scopes"] == ["openid"]


def test_yaml_empty_modes_list_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="auth.modes must list at least one of") as info:
        load(tmp_path, {"auth": {"modes": []}})
    assert info.value.key == "auth.modes"


def test_nested_env_list_replaces_the_default_list(tmp_path: Path) -> None:
    settings = load(tmp_path, env={"STOWAGE_AUTH__MODES": '["oidc"]'})
    assert settings.auth.modes == ("oidc",)


def test_config_path_from_stowage_config_env(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, {"server": {"listen": ":7000"}})
    raw = load_raw_settings(None, environ={"STOWAGE_CONFIG": str(path)})
    assert raw.config_path == path.resolve()
    assert raw.get("server.listen") == ":7000"
    assert "config" not in raw.data


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as info:
        load_raw_settings(tmp_path / "nope.yaml", environ={})
    assert info.value.key == "--config"


def test_unreadable_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("server: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_raw_settings(path, environ={})


def test_raw_get_walks_dotted_keys() -> None:
    raw = load_raw_settings(None, environ={})
    assert raw.get("db.sqlite.path") == "./stowage.db"
    assert raw.get("db.sqlite.nope", "fallback") == "fallback"
    assert raw.get("server.listen.deeper") is None


# --- environment -------------------------------------------------------------------------------

YAML_DB = {"db": {"sqlite": {"path": "/srv/yaml/stowage.db"}}}


def test_yaml_sqlite_path_holds_without_env(tmp_path: Path) -> None:
    assert load(tmp_path, YAML_DB).db.sqlite.path == "/srv/yaml/stowage.db"


def test_short_name_sqlite_path_moves_the_database(tmp_path: Path) -> None:
    settings = load(tmp_path, YAML_DB, env={"STOWAGE_SQLITE_PATH": "/srv/short/stowage.db"})
    assert settings.db.sqlite.path == "/srv/short/stowage.db"


def test_nested_env_sqlite_path_moves_the_database(tmp_path: Path) -> None:
    settings = load(tmp_path, YAML_DB, env={"STOWAGE_DB__SQLITE__PATH": "/srv/nested/stowage.db"})
    assert settings.db.sqlite.path == "/srv/nested/stowage.db"
    assert settings.db.driver == "sqlite"  # the nested override merges, it does not replace db


def test_nested_env_overrides_any_key(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        {"server": {"listen": ":9000"}},
        env={"STOWAGE_SERVER__LISTEN": ":7000", "STOWAGE_RATELIMIT__API_PER_MINUTE": "42"},
    )
    assert settings.server.listen == ":7000"
    assert settings.ratelimit.api_per_minute == 42


@pytest.mark.parametrize(
    ("env_name", "value", "expected"),
    [
        ("STOWAGE_LISTEN", "127.0.0.1:7777", "127.0.0.1:7777"),
        ("STOWAGE_PUBLIC_URL", "https://env.example.com", "https://env.example.com"),
        ("STOWAGE_LOG_LEVEL", "error", "error"),
        ("STOWAGE_LOG_FORMAT", "text", "text"),
        ("STOWAGE_SQLITE_PATH", "/env/stowage.db", "/env/stowage.db"),
        ("STOWAGE_SECRET_KEY_FILE", "/env/stowage.key", "/env/stowage.key"),
    ],
)
def test_short_env_names_map_to_their_keys(tmp_path: Path, env_name: str, value: str, expected: str) -> None:
    dotted = ENV_ALIASES[env_name]
    raw = load_raw_settings(write_yaml(tmp_path, {}), environ={env_name: value})
    assert raw.get(dotted) == expected
    assert env_name.removeprefix("STOWAGE_").lower() not in raw.data  # not also a top-level key
    section, _, key = dotted.partition(".")
    settings = validate_settings(raw)
    node: Any = getattr(settings, section)
    for part in key.split("."):
        node = getattr(node, part)
    assert node == expected


def test_the_six_short_names_are_exactly_the_documented_ones() -> None:
    assert ENV_ALIASES == {
        "STOWAGE_LISTEN": "server.listen",
        "STOWAGE_PUBLIC_URL": "server.public_url",
        "STOWAGE_LOG_LEVEL": "log.level",
        "STOWAGE_LOG_FORMAT": "log.format",
        "STOWAGE_SQLITE_PATH": "db.sqlite.path",
        "STOWAGE_SECRET_KEY_FILE": "server.secret_key_file",
    }


def test_empty_short_names_are_ignored(tmp_path: Path) -> None:
    data = {
        "server": {"listen": "127.0.0.1:9000", "public_url": "https://yaml", "secret_key_file": "/y.key"},
        "log": {"level": "warn", "format": "text"},
        **YAML_DB,
    }
    settings = load(tmp_path, data, env=dict.fromkeys(ENV_ALIASES, ""))
    assert settings.server.listen == "127.0.0.1:9000"
    assert settings.server.public_url == "https://yaml"
    assert settings.server.secret_key_file == "/y.key"
    assert settings.log.level == "warn"
    assert settings.log.format == "text"
    assert settings.db.sqlite.path == "/srv/yaml/stowage.db"


def test_short_name_wins_over_nested_name(tmp_path: Path) -> None:
    env = {"STOWAGE_DB__SQLITE__PATH": "/nested.db", "STOWAGE_SQLITE_PATH": "/short.db"}
    assert load(tmp_path, YAML_DB, env=env).db.sqlite.path == "/short.db"


def test_secret_key_never_reaches_the_settings(tmp_path: Path) -> None:
    secret = "ab" * 32
    settings = load(tmp_path, {}, env={"STOWAGE_SECRET_KEY": secret})
    assert "secret_key" not in settings.raw
    assert secret not in repr(settings.raw)
    assert secret not in repr(settings)


def test_process_environment_is_not_consulted_when_environ_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOWAGE_LISTEN", "127.0.0.1:1111")
    monkeypatch.setenv("STOWAGE_SERVER__SHUTDOWN_TIMEOUT", "99s")
    settings = load(tmp_path, {}, env={})
    assert settings.server.listen == ":8080"
    assert settings.server.shutdown_timeout == 10.0
    assert os.environ["STOWAGE_LISTEN"] == "127.0.0.1:1111"  # restored after the load


def test_pprof_listen_is_not_a_setting(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # STOWAGE_PPROF_LISTEN is read directly; it is neither a setting nor "unknown".
    with caplog.at_level(logging.WARNING, logger="stowage.config"):
        settings = load(tmp_path, {}, env={"STOWAGE_PPROF_LISTEN": ":6060"})
    assert "pprof_listen" not in settings.raw
    assert not [r for r in caplog.records if "pprof" in str(getattr(r, "key", ""))]


# --- validation messages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message", "key"),
    [
        ({"server__listen": ""}, "server.listen is required", "server.listen"),
        ({"server__listen": "nonsense"}, "server.listen: invalid value 'nonsense'", "server.listen"),
        ({"log__format": "xml"}, 'log.format must be "json" or "text"', "log.format"),
        ({"log__level": "verbose"}, "log.level must be debug|info|warn|error", "log.level"),
        ({"db__driver": "postgres"}, 'db.driver "postgres" not yet implemented', "db.driver"),
        ({"db__sqlite__path": ""}, "db.sqlite.path is required when driver is sqlite", "db.sqlite.path"),
        ({"auth__modes": []}, "auth.modes must list at least one of: local, oidc, static", "auth.modes"),
        ({"auth__modes": ["local", "ldap"]}, 'auth.modes contains unknown mode "ldap"', "auth.modes"),
        ({"backends": [{"type": "s3v4"}]}, "backends[0].id is required", "backends[0].id"),
        ({"backends": [{"id": "a"}]}, "backends[0].type is required", "backends[0].type"),
        (
            {"s3_proxy__enabled": True, "s3_proxy__listen": ""},
            "s3_proxy.listen is required when s3_proxy.enabled is true",
            "s3_proxy.listen",
        ),
        (
            {"s3_proxy__enabled": True, "s3_proxy__listen": ":8080"},
            's3_proxy.listen must differ from server.listen (both set to ":8080")',
            "s3_proxy.listen",
        ),
        (
            {"s3_proxy__enabled": True, "s3_proxy__listen": "0.0.0.0:8080"},
            's3_proxy.listen must differ from server.listen (both set to ":8080")',
            "s3_proxy.listen",
        ),
        (
            {"auth__static__enabled": True, "auth__static__password_hash_env": "H"},
            "auth.static.username is required when static is enabled",
            "auth.static.username",
        ),
        (
            {"auth__static__enabled": True, "auth__static__username": "root"},
            "auth.static.password_hash_env is required",
            "auth.static.password_hash_env",
        ),
    ],
)
def test_validation_errors_name_the_key(overrides: dict[str, Any], message: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_settings(defaults_with(**overrides))
    assert message in str(info.value)
    assert info.value.key == key
    assert key.split("[")[0] in str(info.value)


def test_unknown_driver_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        validate_settings(defaults_with(db__driver="mysql"))
    text = str(info.value)
    assert 'db.driver "mysql" unknown' in text
    assert "sqlite" in text
    assert "postgres" in text
    assert info.value.key == "db.driver"


def test_duplicate_backend_id() -> None:
    backends = [{"id": "a", "type": "s3v4"}, {"id": "b", "type": "s3v4"}, {"id": "a", "type": "s3v4"}]
    with pytest.raises(ConfigError) as info:
        validate_settings(defaults_with(backends=backends))
    assert str(info.value) == 'duplicate backend id "a"'
    assert info.value.key == "backends[2].id"


@pytest.mark.parametrize(
    "hostname", ["https://s3.example.com", "s3.example.com/path", "s3.example.com?x=1", "s3.example.com#frag"]
)
def test_public_hostname_must_be_bare(hostname: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_settings(defaults_with(s3_proxy__public_hostname=hostname))
    assert str(info.value) == "s3_proxy.public_hostname must be a bare host (no scheme or path)"
    assert info.value.key == "s3_proxy.public_hostname"


@pytest.mark.parametrize("hostname", ["s3.example.com", "s3.example.com:9000", "127.0.0.1"])
def test_public_hostname_bare_hosts_pass(hostname: str) -> None:
    assert validate_settings(defaults_with(s3_proxy__public_hostname=hostname)).s3_proxy.public_hostname == (
        hostname
    )


def test_trusted_proxies_invalid_entry() -> None:
    with pytest.raises(ConfigError) as info:
        validate_settings(defaults_with(server__trusted_proxies=["10.0.0.0/8", "not-an-ip"]))
    assert str(info.value).startswith("server.trusted_proxies: ")
    assert "'not-an-ip'" in str(info.value)
    assert info.value.key == "server.trusted_proxies"


def test_trusted_proxies_parse_cidrs_and_bare_ips() -> None:
    settings = validate_settings(
        defaults_with(server__trusted_proxies=["10.0.0.0/8", "192.168.1.7", "fd00::1"])
    )
    assert [str(n) for n in settings.server.trusted_proxies] == [
        "10.0.0.0/8",
        "192.168.1.7/32",
        "fd00::1/128",
    ]


def test_proxy_listen_different_port_is_fine() -> None:
    settings = validate_settings(defaults_with(s3_proxy__enabled=True, s3_proxy__listen="127.0.0.1:8090"))
    assert settings.s3_proxy.enabled is True
    assert settings.s3_proxy.listen == "127.0.0.1:8090"


@pytest.mark.parametrize(
    ("level", "expected"),
    [("", "info"), ("DEBUG", "debug"), ("Warn", "warn"), ("warning", "warn"), ("error", "error")],
)
def test_log_level_is_case_insensitive_and_empty_means_info(level: str, expected: str) -> None:
    assert validate_settings(defaults_with(log__level=level)).log.level == expected


@pytest.mark.parametrize(("fmt", "expected"), [("", "json"), ("TEXT", "text"), ("json", "json")])
def test_log_format_empty_means_json(fmt: str, expected: str) -> None:
    assert validate_settings(defaults_with(log__format=fmt)).log.format == expected


@pytest.mark.parametrize(
    "key",
    [
        "server.shutdown_timeout",
        "auth.session.lifetime",
        "auth.session.idle_timeout",
        "auth.local.lockout.window",
        "quotas.scan_interval",
        "ratelimit.login_window",
    ],
)
def test_bad_duration_names_key_and_value(key: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_settings(defaults_with(**{key.replace(".", "__"): "forever"}))
    assert key in str(info.value)
    assert "'forever'" in str(info.value)
    assert info.value.key == key


def test_durations_accept_go_syntax_and_integers() -> None:
    settings = validate_settings(
        defaults_with(
            server__shutdown_timeout=30,
            auth__session__lifetime="1h30m",
            quotas__scan_interval="-1m",
        )
    )
    assert settings.server.shutdown_timeout == 30.0
    assert settings.auth.session.lifetime == 5400.0
    assert settings.quota_scan_interval == -60.0


@pytest.mark.parametrize("key", ["auth.session.lifetime", "auth.session.idle_timeout"])
def test_non_positive_session_durations_are_rejected(key: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_settings(defaults_with(**{key.replace(".", "__"): "0s"}))
    assert info.value.key == key


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ratelimit.api_per_minute", "lots"),
        ("ratelimit.api_per_minute", -1),
        ("auth.local.password.min_length", 0),
        ("auth.local.password.min_length", True),
        ("s3_proxy.global_rps", -1),
        ("s3_proxy.enabled", "maybe"),
        ("audit.queue_size", 0),
    ],
)
def test_bad_scalar_values_name_the_key(key: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        validate_settings(defaults_with(**{key.replace(".", "__"): value}))
    assert str(info.value).startswith(f"{key}: invalid value {value!r}")
    assert info.value.key == key


def test_relative_sqlite_path_is_resolved_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = validate_settings(defaults_with(db__sqlite__path="data/x.db"))
    assert Path(settings.db.sqlite.path).is_absolute()
    assert settings.db.sqlite.path == str(tmp_path.resolve() / "data" / "x.db")


@pytest.mark.parametrize(("attempts", "expected"), [(0, 5), (-3, 5), (1, 1), (9, 9)])
def test_lockout_attempts_non_positive_means_five(attempts: int, expected: int) -> None:
    settings = validate_settings(defaults_with(auth__local__lockout__max_attempts=attempts))
    assert settings.auth.local.lockout_max_attempts == expected


@pytest.mark.parametrize(("window", "expected"), [("0s", 900.0), ("-1m", 900.0), (0, 900.0), ("2m", 120.0)])
def test_lockout_window_non_positive_means_fifteen_minutes(window: Any, expected: float) -> None:
    settings = validate_settings(defaults_with(auth__local__lockout__window=window))
    assert settings.auth.local.lockout_window == expected


@pytest.mark.parametrize(("rate", "expected"), [(-0.5, 0.0), (0, 0.0), (0.25, 0.25), (1, 1.0), (3.5, 1.0)])
def test_audit_sampling_rate_is_clamped(rate: float, expected: float) -> None:
    settings = validate_settings(defaults_with(audit__sampling__proxy_success_read_rate=rate))
    assert settings.audit.proxy_success_read_rate == expected


def test_static_mode_enables_static_auth_and_vice_versa() -> None:
    settings = validate_settings(
        defaults_with(
            auth__static__enabled=True, auth__static__username="root", auth__static__password_hash_env="H"
        )
    )
    assert settings.auth.modes == ("local", "static")
    assert settings.auth.static.enabled is True


def test_host_suffixes_are_normalised() -> None:
    settings = validate_settings(defaults_with(s3_proxy__host_suffixes=["S3.Example.com.", ".s3.local"]))
    assert settings.s3_proxy.host_suffixes == ("s3.example.com", "s3.local")


def test_plugin_sections_are_kept_and_reserved_keys_are_not_sections() -> None:
    settings = validate_settings(defaults_with(plugins__greeter={"greeting": "hi"}))
    assert settings.plugins.section("greeter") == {"greeting": "hi"}
    assert settings.plugins.section("absent") == {}
    assert set(settings.plugins.sections) == {"greeter"}


# --- unknown keys ----------------------------------------------------------------------


def test_unknown_keys_are_ignored_with_a_warning_naming_the_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = {
        "server": {"listen": ":8080", "bogus": 1},
        "topbogus": {"x": 1},
        "auth": {"local": {"password": {"zxcvbn_min_score": 3}}},
        "backends": [{"id": "a", "type": "s3v4", "colour": "red"}],
    }
    with caplog.at_level(logging.WARNING, logger="stowage.config"):
        settings = load(tmp_path, data)
    assert settings.server.listen == ":8080"
    records = [r for r in caplog.records if r.name == "stowage.config"]
    keys = {getattr(r, "key", None) for r in records}
    assert {"server.bogus", "topbogus", "auth.local.password.zxcvbn_min_score", "backends[0].colour"} <= keys
    # The warning is emitted before logging is configured, so the key must be in the text itself.
    messages = " ".join(r.getMessage() for r in records)
    for key in ("server.bogus", "topbogus", "auth.local.password.zxcvbn_min_score", "backends[0].colour"):
        assert key in messages


def test_known_keys_do_not_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="stowage.config"):
        load(tmp_path, yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8")))
    assert [r.getMessage() for r in caplog.records if r.name == "stowage.config"] == []


# --- plugin validators -------------------------------------------------------------------------


class SizedPlugin:
    """A tiny plugin contributing one validator for its own section."""

    @hookimpl
    def stowage_settings_validators(self) -> list[Validator]:
        return [Validator("plugins.sized.size", must_exist=True, gte=1, lte=10)]


def _load_with_plugin(tmp_path: Path, section: dict[str, Any] | None) -> Settings:
    plugins: dict[str, Any] = {"dir": str(tmp_path / "no-plugins")}
    if section is not None:
        plugins["sized"] = section
    path = write_yaml(tmp_path, {"plugins": plugins})
    settings, _ = load_settings_and_plugins(
        str(path), environ={}, extra_plugins=[("sized", SizedPlugin())], entry_points=False
    )
    return settings


def test_plugin_validator_passes(tmp_path: Path) -> None:
    settings = _load_with_plugin(tmp_path, {"size": 3})
    assert settings.plugins.section("sized") == {"size": 3}


@pytest.mark.parametrize("section", [{"size": 0}, {"size": 11}, None])
def test_plugin_validator_failure_names_the_key(tmp_path: Path, section: dict[str, Any] | None) -> None:
    with pytest.raises(ConfigError) as info:
        _load_with_plugin(tmp_path, section)
    assert "plugins.sized.size" in str(info.value)
    assert info.value.key == "plugins.sized.size"


def test_plugin_validator_sees_nested_env_override(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, {"plugins": {"dir": "", "sized": {"size": 3}}})
    with pytest.raises(ConfigError, match="plugins.sized.size"):
        load_settings_and_plugins(
            str(path),
            environ={"STOWAGE_PLUGINS__SIZED__SIZE": "50"},
            extra_plugins=[("sized", SizedPlugin())],
            entry_points=False,
        )


def test_plugin_validator_defaults_reach_the_section(tmp_path: Path) -> None:
    class Defaulted:
        @hookimpl
        def stowage_settings_validators(self) -> list[Validator]:
            return [Validator("plugins.defaulted.greeting", default="Hello")]

    path = write_yaml(tmp_path, {"plugins": {"dir": ""}})
    settings, _ = load_settings_and_plugins(
        str(path), environ={}, extra_plugins=[("defaulted", Defaulted())], entry_points=False
    )
    assert settings.plugins.section("defaulted") == {"greeting": "Hello"}


# --- meta: the settings file and the operator docs ---------------------------------------------

_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_]+):")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


def _key_line_numbers(text: str) -> dict[str, int]:
    stack: list[tuple[int, str]] = []
    out: dict[str, int] = {}
    for number, line in enumerate(text.splitlines()):
        match = _KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        out[".".join(key for _, key in stack)] = number
    return out


def _has_trailing_comment(line: str) -> bool:
    return "#" in _QUOTED.sub("", line)


def test_every_default_key_has_a_comment() -> None:
    text = DEFAULTS_PATH.read_text(encoding="utf-8")
    lines = text.splitlines()
    numbers = _key_line_numbers(text)
    leaves = leaf_paths(yaml.safe_load(text))
    assert len(leaves) > 50
    missing = []
    for leaf in leaves:
        number = numbers[leaf]
        above = lines[number - 1].strip() if number else ""
        if not (_has_trailing_comment(lines[number]) or above.startswith("#")):
            missing.append(leaf)
    assert missing == [], f"keys without a one-line comment in {DEFAULTS_PATH.name}: {missing}"


def test_repository_settings_yaml_matches_packaged_defaults() -> None:
    assert ROOT_SETTINGS.read_text(encoding="utf-8") == DEFAULTS_PATH.read_text(encoding="utf-8")


def test_every_default_key_is_documented() -> None:
    # Lands with the operator docs; every section and every dotted leaf key must appear there.
    doc = CONFIG_DOC.read_text(encoding="utf-8")
    defaults = yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8"))
    missing_sections = [s for s in defaults if not re.search(rf"\b{re.escape(s)}\b", doc)]
    missing_keys = [k for k in leaf_paths(defaults) if k not in doc]
    assert missing_sections == []
    assert missing_keys == []
