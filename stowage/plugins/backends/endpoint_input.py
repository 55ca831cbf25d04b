"""Input rules for UI-managed backends: ids, endpoints and the create/patch/test bodies.

Every failure is a 400 ``bad_request`` whose message names the field; secrets never appear in
messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from stowage.core.kernel.errors import BadRequest

__all__ = [
    "PATCH_FIELDS",
    "BackendInput",
    "normalize_id",
    "parse_create",
    "parse_patch",
    "parse_test",
    "validate_endpoint",
]

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
DEFAULT_TYPE = "s3v4"
PATCH_FIELDS = ("name", "type", "endpoint", "region", "path_style", "access_key", "secret_key", "enabled")


@dataclass(frozen=True)
class BackendInput:
    """A validated create (or test) body; ``id`` is empty for a connection test."""

    id: str
    name: str
    type: str
    endpoint: str
    region: str
    path_style: bool
    access_key: str
    secret_key: str
    enabled: bool

    def __repr__(self) -> str:  # never show the secret
        return f"BackendInput(id={self.id!r}, endpoint={self.endpoint!r})"


def normalize_id(value: Any) -> str:
    """Trim and lower-case a backend id; 400 unless it matches ``^[a-z0-9][a-z0-9_-]{0,63}$``."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("id is required")
    backend_id = value.strip().lower()
    if ID_PATTERN.fullmatch(backend_id) is None:
        raise BadRequest(
            "invalid id: use 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit"
        )
    return backend_id


def validate_endpoint(value: Any) -> str:
    """Return the trimmed endpoint URL; 400 unless it is ``http(s)://host[:port][/]`` and nothing more."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("endpoint is required")
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise BadRequest("endpoint: invalid URL or port") from None
    if parts.scheme not in {"http", "https"}:
        raise BadRequest("endpoint: scheme must be http or https")
    if not parts.hostname:
        raise BadRequest("endpoint: host is required")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise BadRequest("endpoint: credentials in the URL are not allowed")
    if parts.netloc.endswith(":") or (port is not None and not 1 <= port <= 65535):
        raise BadRequest("endpoint: port must be 1-65535")
    if parts.path not in {"", "/"}:
        raise BadRequest("endpoint: a path is not allowed")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise BadRequest("endpoint: query and fragment are not allowed")
    return text


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value.strip()


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false")
    return value


def _secret(body: dict[str, Any]) -> str:
    value = body.get("secret_key")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest("secret_key must be a string")
    return value  # kept verbatim: whitespace may be part of a key


def _keys(body: dict[str, Any]) -> tuple[str, str]:
    access_key, secret_key = _text(body, "access_key"), _secret(body)
    if not access_key:
        raise BadRequest("access_key is required")
    if not secret_key:
        raise BadRequest("secret_key is required")
    return access_key, secret_key


def parse_create(body: dict[str, Any]) -> BackendInput:
    """Validate a create body; defaults: type ``s3v4``, path_style and enabled true."""
    backend_id = normalize_id(body.get("id"))
    endpoint = validate_endpoint(body.get("endpoint"))
    access_key, secret_key = _keys(body)
    return BackendInput(
        id=backend_id,
        name=_text(body, "name") or backend_id,
        type=_text(body, "type") or DEFAULT_TYPE,
        endpoint=endpoint,
        region=_text(body, "region"),
        path_style=_flag(body, "path_style", True),
        access_key=access_key,
        secret_key=secret_key,
        enabled=_flag(body, "enabled", True),
    )


def parse_test(body: dict[str, Any]) -> BackendInput:
    """Validate a connection-test body: the create fields without id, name and enabled."""
    endpoint = validate_endpoint(body.get("endpoint"))
    access_key, secret_key = _keys(body)
    return BackendInput(
        id="",
        name="connection test",
        type=_text(body, "type") or DEFAULT_TYPE,
        endpoint=endpoint,
        region=_text(body, "region"),
        path_style=_flag(body, "path_style", True),
        access_key=access_key,
        secret_key=secret_key,
        enabled=True,
    )


def parse_patch(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a patch body: the known fields present, normalised; others are ignored.

    An empty or absent ``secret_key`` keeps the stored one (forms send "" for "unchanged").
    """
    changes: dict[str, Any] = {}
    for name in PATCH_FIELDS:
        if body.get(name) is None:
            continue
        if name in {"path_style", "enabled"}:
            changes[name] = _flag(body, name, False)
        elif name == "endpoint":
            changes[name] = validate_endpoint(body[name])
        elif name == "secret_key":
            if secret := _secret(body):
                changes[name] = secret
        else:
            changes[name] = _text(body, name)
    if "access_key" in changes and not changes["access_key"]:
        raise BadRequest("access_key must not be empty")
    if "type" in changes and not changes["type"]:
        changes["type"] = DEFAULT_TYPE
    return changes
