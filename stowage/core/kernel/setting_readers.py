"""Typed readers for one setting each: they return the value or raise ``ConfigError`` naming the key."""

from __future__ import annotations

from typing import Any

from stowage.core.formats.durations import parse_duration
from stowage.core.kernel.errors import ConfigError
from stowage.core.kernel.settings import ListenAddress, RawSettings

__all__ = [
    "invalid",
    "parse_listen",
    "read_bool",
    "read_duration",
    "read_float",
    "read_int",
    "read_str",
    "read_str_list",
]


def invalid(key: str, value: Any, allowed: str) -> ConfigError:
    """The ``ConfigError`` for ``key`` holding ``value``, saying what is allowed."""
    return ConfigError(f"{key}: invalid value {value!r}: {allowed}", key=key)


def parse_listen(value: str, key: str = "server.listen") -> ListenAddress:
    """Parse ``host:port`` / ``:port`` / ``[v6]:port``; an empty host means all interfaces."""
    text = str(value).strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise invalid(key, value, "expected host:port, e.g. :8080 or 127.0.0.1:8080")
    host = host.strip("[]") or "0.0.0.0"
    return ListenAddress(host=host, port=int(port_text))


def read_duration(raw: RawSettings, key: str) -> float:
    """A duration setting in seconds (``10s``, ``1h30m`` or a number of seconds)."""
    value = raw.get(key)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise invalid(key, value, str(exc)) from None


def read_int(raw: RawSettings, key: str, minimum: int | None = None) -> int:
    """An integer setting, at least ``minimum`` when given (booleans are refused)."""
    value = raw.get(key)
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(key, value, "expected an integer") from None
    if minimum is not None and number < minimum:
        raise invalid(key, value, f"must be >= {minimum}")
    return number


def read_float(raw: RawSettings, key: str, minimum: float = 0.0) -> float:
    """A number setting, at least ``minimum`` (booleans are refused)."""
    value = raw.get(key)
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        raise invalid(key, value, "expected a number") from None
    if number < minimum:
        raise invalid(key, value, f"must be >= {minimum:g}")
    return number


def read_bool(raw: RawSettings, key: str) -> bool:
    """A boolean setting; environment strings ``true/false/1/0/yes/no`` are accepted."""
    value = raw.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.lower() in {"true", "1", "yes"}
    raise invalid(key, value, "expected true or false")


def read_str(raw: RawSettings, key: str) -> str:
    """A string setting; unset is ``""``, a mapping or list is refused."""
    value = raw.get(key, "")
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise invalid(key, value, "expected a string")
    return str(value)


def read_str_list(raw: RawSettings, key: str) -> tuple[str, ...]:
    """A list of strings; a comma-separated string (from the environment) is split."""
    value = raw.get(key) or []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        raise invalid(key, value, "expected a list of strings")
    return tuple(str(v) for v in value)
