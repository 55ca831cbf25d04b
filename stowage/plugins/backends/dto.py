"""JSON shapes of the backend routes. No shape ever carries a secret."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from stowage.core.contracts.backends import BackendHealth, HealthProbe, RegisteredBackend
from stowage.core.contracts.driver import Capabilities
from stowage.core.contracts.endpoints import EndpointRecord
from stowage.core.formats.timefmt import to_rfc3339

__all__ = ["admin_item", "capabilities_json", "health_item", "probe_json", "public_item", "status_json"]


def capabilities_json(capabilities: Capabilities) -> dict[str, Any]:
    """The API shape of a backend's capabilities."""
    return asdict(capabilities)


def status_json(health: BackendHealth) -> dict[str, Any]:
    """``healthy`` plus ``last_probe_at`` / ``last_error`` when known."""
    out: dict[str, Any] = {"healthy": health.healthy}
    if health.last_probe_at is not None:
        out["last_probe_at"] = to_rfc3339(health.last_probe_at)
    if health.last_error:
        out["last_error"] = health.last_error
    return out


def public_item(entry: RegisteredBackend, capabilities: Capabilities | None = None) -> dict[str, Any]:
    """One entry of ``GET /api/backends``; ``capabilities`` as probed (default: the driver's own)."""
    return {
        "id": entry.spec.id,
        "name": entry.spec.name,
        "capabilities": capabilities_json(capabilities or entry.driver.capabilities),
        **status_json(entry.health),
    }


def probe_json(probe: HealthProbe) -> dict[str, Any]:
    out: dict[str, Any] = {
        "at": to_rfc3339(probe.at),
        "healthy": probe.healthy,
        "latency_ms": probe.latency_ms,
    }
    if probe.error:
        out["error"] = probe.error
    return out


def health_item(entry: RegisteredBackend) -> dict[str, Any]:
    """One entry of ``GET /api/admin/backends/health``: status and the ≤20-probe history."""
    return {
        "id": entry.spec.id,
        "name": entry.spec.name,
        **status_json(entry.health),
        "latency_ms": entry.health.latency_ms,
        "history": [probe_json(probe) for probe in entry.health.history],
    }


def admin_item(record: EndpointRecord | None, entry: RegisteredBackend | None) -> dict[str, Any]:
    """One entry of the admin list: the database row when there is one, else the registry's."""
    health = entry.health if entry is not None else BackendHealth()
    if record is not None:
        out: dict[str, Any] = {
            "id": record.id,
            "name": record.name,
            "type": record.type,
            "endpoint": record.endpoint,
            "region": record.region,
            "path_style": record.path_style,
            "access_key": record.access_key,
            "secret_set": record.secret_set,
            "enabled": record.enabled,
            "source": "db",
            **status_json(health),
        }
        if record.created_at is not None:
            out["created_at"] = to_rfc3339(record.created_at)
        if record.updated_at is not None:
            out["updated_at"] = to_rfc3339(record.updated_at)
        return out
    if entry is None:
        raise ValueError("admin_item needs a record or a registry entry")
    spec = entry.spec
    return {
        "id": spec.id,
        "name": spec.name,
        "type": spec.type,
        "endpoint": spec.endpoint,
        "region": spec.region,
        "path_style": spec.path_style,
        "access_key": spec.access_key,
        "secret_set": bool(spec.secret_key),
        "enabled": True,
        "source": spec.source,
        **status_json(health),
    }


# The same shapes as types, for the published API document (issue 14): routes declare them.


class CapabilitiesView(TypedDict):
    """What the backend supports (BE-3)."""

    versioning: bool
    object_lock: bool
    lifecycle: bool
    bucket_policy: bool
    cors: bool
    tagging: bool
    server_side_encrypt: bool
    admin_api: str
    max_multipart_parts: int
    max_part_size_bytes: int


class BackendView(TypedDict):
    """A backend as every signed-in user sees it."""

    id: str
    name: str
    capabilities: CapabilitiesView
    healthy: bool
    last_probe_at: NotRequired[str]
    last_error: NotRequired[str]


class BackendList(TypedDict):
    backends: list[BackendView]


class ProbeResult(TypedDict):
    """A fresh health probe."""

    healthy: bool
    last_probe_at: str
    last_error: str


class AdminBackend(TypedDict):
    """A backend as an admin manages it; ``secret_set`` says whether a secret is stored."""

    id: str
    name: str
    type: str
    endpoint: str
    region: str
    path_style: bool
    access_key: str
    secret_set: bool
    enabled: bool
    source: str
    healthy: bool
    last_probe_at: NotRequired[str]
    last_error: NotRequired[str]
    created_at: NotRequired[str]
    updated_at: NotRequired[str]


class AdminBackendList(TypedDict):
    backends: list[AdminBackend]


class ConnectionInput(TypedDict):
    endpoint: str
    access_key: str
    secret_key: str
    type: NotRequired[str]
    region: NotRequired[str]
    path_style: NotRequired[bool]


class NewBackend(ConnectionInput):
    id: str
    name: NotRequired[str]
    enabled: NotRequired[bool]


class BackendPatch(TypedDict, total=False):
    name: str
    type: str
    endpoint: str
    region: str
    path_style: bool
    access_key: str
    secret_key: str
    enabled: bool


class ConnectionResult(TypedDict):
    healthy: bool
    latency_ms: float
    error: NotRequired[str]


class Probe(TypedDict):
    at: str
    healthy: bool
    latency_ms: float
    error: NotRequired[str]


class BackendHealthView(TypedDict):
    id: str
    name: str
    healthy: bool
    last_probe_at: NotRequired[str]
    last_error: NotRequired[str]
    latency_ms: float | None
    history: list[Probe]


class BackendHealthList(TypedDict):
    backends: list[BackendHealthView]


class BucketView(TypedDict):
    """A bucket; the size fields appear once its size is known (size tracking or its quota)."""

    name: str
    created_at: NotRequired[str]
    size_tracked: bool
    size_bytes: NotRequired[int]
    object_count: NotRequired[int]
    computed_at: NotRequired[str]


class BucketList(TypedDict):
    buckets: list[BucketView]


class NewBucket(TypedDict):
    name: str
    region: NotRequired[str]


class BucketName(TypedDict):
    name: str


class ObjectView(TypedDict):
    """An object; empty optional fields are left out."""

    key: str
    size: int
    etag: NotRequired[str]
    content_type: NotRequired[str]
    storage_class: NotRequired[str]
    version_id: NotRequired[str]
    last_modified: NotRequired[str]
    metadata: NotRequired[dict[str, str]]


class ObjectListQuery(TypedDict, total=False):
    prefix: str
    delimiter: str
    token: str
    max_keys: int


class ObjectList(TypedDict):
    prefix: str
    delimiter: str
    common_prefixes: list[str]
    is_truncated: bool
    next_continuation_token: str
    objects: list[ObjectView]


class ObjectQuery(TypedDict):
    key: str
    version_id: NotRequired[str]


class DownloadQuery(ObjectQuery):
    disposition: NotRequired[Literal["inline", "attachment"]]


class KeyRef(TypedDict):
    key: str
    version_id: NotRequired[str]


class BulkDelete(TypedDict):
    keys: list[KeyRef]


class DeleteFailure(TypedDict):
    key: str
    version_id: NotRequired[str]
    code: NotRequired[str]
    message: NotRequired[str]


class BulkDeleteResult(TypedDict):
    deleted: list[KeyRef]
    errors: list[DeleteFailure]


class UploadForm(TypedDict):
    """``multipart/form-data``: the file, and optionally its key and content type."""

    file: bytes
    key: NotRequired[str]
    content_type: NotRequired[str]


class CopyRequest(TypedDict):
    src_key: str
    dst_key: str
    dst_bucket: NotRequired[str]
    dst_backend: NotRequired[str]
    version_id: NotRequired[str]
    metadata: NotRequired[dict[str, str]]


class CopyResult(TypedDict):
    backend: NotRequired[str]
    bucket: str
    object: ObjectView


class PrefixQuery(TypedDict, total=False):
    prefix: str


class MultipartUpload(TypedDict):
    key: str
    upload_id: str
    initiated: NotRequired[str]


class MultipartList(TypedDict):
    uploads: list[MultipartUpload]


class NewMultipart(TypedDict, total=False):
    content_type: str
    metadata: dict[str, str]


class MultipartStarted(TypedDict):
    bucket: str
    key: str
    upload_id: str


class UploadQuery(ObjectQuery):
    upload_id: str


class PartView(TypedDict):
    part_number: int
    etag: str
    size: int


class CompletedPart(TypedDict):
    PartNumber: int
    ETag: str


class CompleteMultipart(TypedDict):
    parts: list[CompletedPart]


# Bucket settings (versioning, policy, lifecycle) and object extras (tags, metadata, versions).


class VersioningState(TypedDict):
    """Whether the bucket keeps versions (``false`` also for suspended versioning)."""

    enabled: bool


class BucketPolicy(TypedDict):
    """The bucket policy as the upstream stores it (JSON text), ``""`` when there is none."""

    policy: str


class LifecycleRuleView(TypedDict):
    """One lifecycle rule: at least one day count; a transition names its storage class."""

    enabled: bool
    id: NotRequired[str]
    prefix: NotRequired[str]
    expiration_days: NotRequired[int]
    noncurrent_expire_days: NotRequired[int]
    abort_incomplete_days: NotRequired[int]
    transition_days: NotRequired[int]
    transition_storage_class: NotRequired[str]


class Lifecycle(TypedDict):
    rules: list[LifecycleRuleView]


class KeyQuery(TypedDict):
    key: str


class ObjectTags(TypedDict):
    """At most 10 tags; keys 1-128 characters, values at most 256."""

    tags: dict[str, str]


class ObjectMetadata(TypedDict):
    """User metadata (``x-amz-meta-*``), names lower-cased."""

    metadata: dict[str, str]


class VersionListQuery(TypedDict):
    key: str
    key_marker: NotRequired[str]
    version_id_marker: NotRequired[str]
    max_keys: NotRequired[int]


class ObjectVersionView(TypedDict):
    key: str
    version_id: str
    is_latest: bool
    is_delete_marker: NotRequired[bool]
    size: int
    etag: NotRequired[str]
    storage_class: NotRequired[str]
    last_modified: NotRequired[str]


class VersionList(TypedDict):
    """One page of the key's versions, newest first; pass the markers back for the next page."""

    versions: list[ObjectVersionView]
    is_truncated: bool
    next_key_marker: NotRequired[str]
    next_version_id_marker: NotRequired[str]
