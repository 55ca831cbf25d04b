"""Virtual credentials: what the S3 proxy authenticates tenants with.

A credential is an access key id + secret bound to one backend and a list of buckets (its scope).
Stored rows (``StoredCredential``, ``StoredBinding``) are what the store returns.
The built-in proxy plugin keeps every enabled, unexpired credential from the store in an in-memory
``CredentialCache`` (``runtime.services["credentials"]``), rebuilt after every mutation and every
30 s; sources that are not the store answer through the ``stowage_credential_lookup`` hook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = [
    "READ_METHODS",
    "CredentialCache",
    "StoredBinding",
    "StoredCredential",
    "VirtualCredential",
    "owner_rights_changed",
]

READ_METHODS = frozenset({"GET", "HEAD"})
"""What a credential whose owner is ``readonly`` may send (GetObject, HeadObject, listings)."""


@dataclass(frozen=True)
class VirtualCredential:
    access_key: str
    secret_key: str = field(repr=False)
    backend_id: str
    buckets: tuple[str, ...]
    user_id: str = ""
    description: str = ""
    enabled: bool = True
    expires_at: datetime | None = None
    source: str = "sqlite"
    read_only: bool = False
    """The owner's role is ``readonly``: the proxy lets only ``READ_METHODS`` through."""

    def usable(self, now: datetime) -> bool:
        """Enabled and not expired at ``now`` (expiry is re-checked on every lookup)."""
        return self.enabled and (self.expires_at is None or now < self.expires_at)

    def allows_bucket(self, bucket: str) -> bool:
        """Scope check: bucket names compare exactly. Upstreams differ on case (``rclone serve s3``
        serves ``ALPHA`` and ``alpha`` as two buckets), so a case-insensitive match would let an
        ``alpha`` credential into ``ALPHA``."""
        return bucket in self.buckets


@dataclass(frozen=True)
class StoredCredential:
    """One ``s3_credentials`` row. Empty strings stand for SQL NULL in the optional columns."""

    access_key: str
    secret_key_enc: bytes = field(repr=False)
    backend_id: str
    buckets: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    user_id: str = ""
    description: str = ""
    enabled: bool = True
    expires_at: datetime | None = None
    created_by: str = ""
    updated_by: str = ""
    defect: str = ""
    """Why the row cannot be used ("" when it can): malformed bucket JSON or expiry text."""


@dataclass(frozen=True)
class StoredBinding:
    """One anonymous read binding (``s3_anonymous_bindings`` row, or a plugin's)."""

    backend_id: str
    bucket: str
    mode: str
    per_source_ip_rps: int
    created_at: datetime
    created_by: str = ""
    source: str = "sqlite"


class CredentialCache(Protocol):
    def get(self, access_key: str) -> VirtualCredential | None:
        """A usable credential for ``access_key`` from the cache (no I/O), else None."""
        ...

    async def reload(self) -> None:
        """Rebuild from the store and flush signing keys (immediate revocation)."""
        ...

    def __len__(self) -> int: ...


async def owner_rights_changed(runtime: Runtime) -> None:
    """A user's role, enabled flag or existence changed: rebuild the proxy's credential cache now,
    before the change's response is sent, so the owner's credentials follow on the next request."""
    cache: CredentialCache | None = runtime.services.get("credentials")
    if cache is not None:
        await cache.reload()
