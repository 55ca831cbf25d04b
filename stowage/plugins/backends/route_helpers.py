"""Helpers every storage-API route shares: finding the driver, request arguments, object JSON and
the audit trail of mutations."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from quart import request

from stowage.core.contracts.audit import audit_request
from stowage.core.contracts.backends import backend_registry
from stowage.core.contracts.driver import DriverError, ObjectInfo, StorageDriver
from stowage.core.formats.s3names import check_bucket, check_key
from stowage.core.formats.timefmt import to_rfc3339
from stowage.core.kernel.errors import ApiError, BadRequest
from stowage.core.web.request_context import current_runtime
from stowage.plugins.backends.errors import api_error

__all__ = ["PREFIX", "arg", "driver_for", "mutation", "object_json", "target"]

#: Every storage route lives under this path (``backend_id`` and ``bucket`` name them).
PREFIX = "/api/backends/<backend_id>/buckets"


def driver_for(backend_id: str) -> StorageDriver:
    """The driver of backend ``backend_id``; 404 ``not_found`` "backend not found" when unknown."""
    return backend_registry(current_runtime()).driver(backend_id)


def arg(name: str, *, required: bool = True) -> str:
    """A query argument; 400 ``bad_request`` when required and missing or empty."""
    value = request.args.get(name, "")
    if required and not value:
        raise BadRequest(f"{name} is required")
    return value


_HEADER_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def check_metadata(value: Any) -> dict[str, str]:
    """User metadata for the upstream (OBJ-13's rules): an object of strings whose names can be
    ``x-amz-meta-<name>`` header names and whose values are printable ASCII (S3 carries them as
    header values); 400 ``invalid_metadata`` otherwise — the upstream request could carry nothing else."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest("metadata must be an object of strings", code="invalid_metadata")
    for name, text in value.items():
        if not _HEADER_TOKEN.match(name):
            raise BadRequest("metadata names must be non-empty header tokens", code="invalid_metadata")
        if not all(" " <= char <= "~" for char in text):
            raise BadRequest("metadata values must be printable ASCII", code="invalid_metadata")
    return dict(value)


def check_content_type(value: Any) -> str:
    """A content type for the upstream: it becomes a request header, so CR/LF or other controls
    would split or corrupt it; 400 ``bad_request`` unless at most 255 printable ASCII characters."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > 255 or not all(" " <= c <= "~" for c in value):
        raise BadRequest("content_type must be at most 255 printable ASCII characters")
    return value


def check_prefix(name: str, value: str) -> str:
    """A listing ``prefix``/``delimiter``: key rules on characters (no controls), so the upstream's
    XML answer can carry it."""
    if any((char < " " and char != "\t") or char == "\x7f" for char in value):
        raise BadRequest(f"{name} cannot contain control characters")
    return value


def target(backend_id: str, bucket: str) -> tuple[StorageDriver, str]:
    """The driver and the validated ``key`` argument of an object route."""
    check_bucket(bucket)
    driver = driver_for(backend_id)
    return driver, check_key(arg("key"))


def object_json(info: ObjectInfo) -> dict[str, Any]:
    """The API shape of an object: empty optional fields are left out."""
    out: dict[str, Any] = {"key": info.key, "size": info.size}
    optional = {
        "etag": info.etag,
        "content_type": info.content_type,
        "storage_class": info.storage_class,
        "version_id": info.version_id,
        "last_modified": to_rfc3339(info.last_modified) if info.last_modified else "",
    }
    out.update({name: value for name, value in optional.items() if value})
    if info.metadata:
        out["metadata"] = dict(info.metadata)
    return out


@contextlib.asynccontextmanager
async def mutation(
    action: str, *, backend: str, bucket: str = "", key: str = ""
) -> AsyncIterator[dict[str, Any]]:
    """Audit one mutation: yields the ``detail`` dict to fill; records ``ok`` when the block
    finishes and ``error`` (with the API error code) when it raises a driver or API error."""
    detail: dict[str, Any] = {}
    try:
        yield detail
    except (DriverError, ApiError) as exc:
        code = api_error(exc).code if isinstance(exc, DriverError) else exc.code
        failed = {**detail, "error": code}
        audit_request(action, outcome="error", backend=backend, bucket=bucket, key=key, detail=failed)
        raise
    audit_request(action, backend=backend, bucket=bucket, key=key, detail=detail)
