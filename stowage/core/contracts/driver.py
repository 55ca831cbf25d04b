"""The storage-driver seam: what every backend type implements.

A driver is built by the ``stowage_storage_driver(backend)`` hook for a ``BackendSpec`` whose
``type`` it owns (the built-in ``s3v4`` plugin answers ``s3v4``). Everything in the dashboard API
goes through this protocol; nothing holds a whole object in memory: object bodies are async
iterators of byte chunks in both directions.

Errors: drivers raise ``DriverError`` subclasses — ``ObjectNotFound`` / ``BucketNotFound``
(mapped to 404 ``not_found``), ``PreconditionFailed`` (412), ``InvalidRange`` (416), ``NotSupported``
(501) — and ``DriverError`` itself for anything else (mapped to 502 ``backend_error``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from stowage.core.kernel.errors import StowageError

__all__ = [
    "PROBED_FEATURES",
    "BackendSpec",
    "BucketInfo",
    "BucketNotFound",
    "Capabilities",
    "DeleteResult",
    "DriverError",
    "InvalidRange",
    "LifecycleRule",
    "ListResult",
    "MultipartUpload",
    "NotSupported",
    "ObjectBody",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectVersion",
    "PartInfo",
    "PreconditionFailed",
    "ProbeResult",
    "StorageDriver",
    "VersionPage",
]


@dataclass(frozen=True)
class BackendSpec:
    """One upstream endpoint as the registry knows it (secrets already resolved)."""

    id: str
    name: str
    type: str
    endpoint: str
    region: str = ""
    path_style: bool = True
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    source: str = "config"  # config | db | <plugin>
    denied_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    """``backend_network.denied_networks``: a driver must not connect
    there (``stowage.core.security.netpolicy``); the registry fills it in before building the driver."""

    @property
    def signing_region(self) -> str:
        return self.region or "us-east-1"


@dataclass(frozen=True)
class Capabilities:
    versioning: bool = True
    object_lock: bool = True
    lifecycle: bool = True
    bucket_policy: bool = True
    cors: bool = True
    tagging: bool = True
    server_side_encrypt: bool = True
    admin_api: str = ""
    max_multipart_parts: int = 10000
    max_part_size_bytes: int = 5 * 1024**3


PROBED_FEATURES = ("versioning", "tagging", "bucket_policy", "lifecycle")
"""The ``Capabilities`` fields a driver narrows with ``probe_capabilities``: S3-compatible stores
differ on them, and some (``rclone serve s3``) answer their requests as something else entirely."""


@dataclass(frozen=True)
class BucketInfo:
    name: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str = ""
    content_type: str = ""
    last_modified: datetime | None = None
    storage_class: str = ""
    version_id: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListResult:
    objects: Sequence[ObjectInfo]
    common_prefixes: Sequence[str]
    is_truncated: bool
    next_token: str = ""


@dataclass
class ObjectBody:
    """A streamed object: ``info`` plus the body chunks; ``close()`` releases the connection.

    ``content_range`` is ``(start, end, total)`` for a ranged read.
    """

    info: ObjectInfo
    chunks: AsyncIterator[bytes]
    content_length: int
    content_range: tuple[int, int, int] | None = None

    async def close(self) -> None:
        aclose = getattr(self.chunks, "aclose", None)
        if aclose is not None:
            await aclose()


@dataclass(frozen=True)
class DeleteResult:
    deleted: Sequence[tuple[str, str]]  # (key, version_id)
    errors: Sequence[tuple[str, str, str, str]]  # (key, version_id, code, message)


@dataclass(frozen=True)
class MultipartUpload:
    key: str
    upload_id: str
    initiated: datetime | None = None


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    etag: str
    size: int


@dataclass(frozen=True)
class ObjectVersion:
    """One entry of a version listing: a stored version or a delete marker."""

    key: str
    version_id: str
    is_latest: bool
    is_delete_marker: bool = False
    size: int = 0
    etag: str = ""
    storage_class: str = ""
    last_modified: datetime | None = None


@dataclass(frozen=True)
class VersionPage:
    """One upstream page of a version listing; pass the markers back for the next page."""

    versions: Sequence[ObjectVersion]
    is_truncated: bool
    next_key_marker: str = ""
    next_version_id_marker: str = ""


@dataclass(frozen=True)
class LifecycleRule:
    """One bucket lifecycle rule in the API's terms; a day count is ``None`` when the rule has no
    such action. ``prefix`` "" applies the rule to the whole bucket."""

    id: str = ""
    prefix: str = ""
    enabled: bool = True
    expiration_days: int | None = None
    noncurrent_expire_days: int | None = None
    abort_incomplete_days: int | None = None
    transition_days: int | None = None
    transition_storage_class: str = ""


@dataclass(frozen=True)
class ProbeResult:
    healthy: bool
    latency_ms: float
    error: str = ""


class DriverError(StowageError):
    """An upstream operation failed (502 ``backend_error`` unless a subclass says otherwise)."""

    def __init__(self, message: str, *, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code  # the upstream's error code when known (e.g. NoSuchKey)
        self.status = status  # the upstream's HTTP status when known


class ObjectNotFound(DriverError):
    pass


class BucketNotFound(DriverError):
    pass


class PreconditionFailed(DriverError):
    pass


class InvalidRange(DriverError):
    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message, code="InvalidRange", status=416)
        self.size = size


class NotSupported(DriverError):
    pass


class StorageDriver(Protocol):
    """Operations the dashboard and the proxy need from one backend."""

    spec: BackendSpec
    capabilities: Capabilities

    async def close(self) -> None: ...

    async def probe(self, timeout: float = 5.0) -> ProbeResult: ...

    # buckets
    async def list_buckets(self) -> list[BucketInfo]: ...

    async def create_bucket(self, name: str, region: str = "") -> None: ...

    async def delete_bucket(self, name: str) -> None: ...

    # objects
    async def list_objects(
        self, bucket: str, *, prefix: str = "", delimiter: str = "", token: str = "", max_keys: int = 1000
    ) -> ListResult: ...

    async def head_object(self, bucket: str, key: str, *, version_id: str = "") -> ObjectInfo: ...

    async def get_object(
        self, bucket: str, key: str, *, version_id: str = "", byte_range: tuple[int, int | None] | None = None
    ) -> ObjectBody: ...

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: AsyncIterator[bytes],
        *,
        size: int,
        content_type: str = "",
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
    ) -> ObjectInfo: ...

    async def delete_object(self, bucket: str, key: str, *, version_id: str = "") -> None: ...

    async def delete_objects(self, bucket: str, keys: Sequence[tuple[str, str]]) -> DeleteResult: ...

    async def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        version_id: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo: ...

    # multipart
    async def create_multipart(
        self, bucket: str, key: str, *, content_type: str = "", metadata: Mapping[str, str] | None = None
    ) -> str: ...

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: AsyncIterator[bytes],
        *,
        size: int,
    ) -> PartInfo: ...

    async def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> ObjectInfo: ...

    async def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None: ...

    async def list_multipart(self, bucket: str, *, prefix: str = "") -> list[MultipartUpload]: ...

    # tags, metadata, bucket settings (P2 routes; drivers implement what their capabilities say)
    async def get_tags(self, bucket: str, key: str) -> dict[str, str]: ...

    async def put_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None: ...

    async def get_versioning(self, bucket: str) -> bool: ...

    async def put_versioning(self, bucket: str, enabled: bool) -> None: ...

    # what the upstream supports, versions, metadata and the remaining bucket settings

    async def probe_capabilities(self, bucket: str = "") -> Capabilities:
        """``capabilities`` with each of ``PROBED_FEATURES`` true only when the upstream answers
        it too. Probed once per driver with read-only requests against ``bucket`` (or the first
        bucket listed) and cached; a driver is rebuilt when its backend is edited, so an edit
        probes again. With no bucket to probe, the probed features are false and nothing is cached.
        Raises ``BucketNotFound`` when ``bucket`` does not exist, ``DriverError`` when the upstream
        cannot be asked. Methods needing a probed feature raise ``NotSupported`` without it."""
        ...

    async def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionPage: ...

    async def replace_metadata(self, bucket: str, key: str, metadata: Mapping[str, str]) -> ObjectInfo:
        """Replace ``key``'s user metadata (a copy onto itself), keeping its bytes, content type and
        tags; the object as stored afterwards."""
        ...

    async def get_bucket_policy(self, bucket: str) -> str:
        """The policy document as the upstream stores it; "" when the bucket has none."""
        ...

    async def put_bucket_policy(self, bucket: str, policy: str) -> None: ...

    async def delete_bucket_policy(self, bucket: str) -> None:
        """Remove the policy; a bucket without one is not an error."""
        ...

    async def get_lifecycle(self, bucket: str) -> list[LifecycleRule]:
        """The lifecycle rules; [] when the bucket has none."""
        ...

    async def put_lifecycle(self, bucket: str, rules: Sequence[LifecycleRule]) -> None:
        """Replace the lifecycle rules; an empty list removes the configuration."""
        ...
