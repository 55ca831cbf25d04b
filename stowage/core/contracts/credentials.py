"""Virtual credentials: what the S3 proxy authenticates tenants with.

A credential is an access key id + secret bound to one backend and a list of buckets (its scope).
Stored rows (``StoredCredential``, ``StoredBinding``) are what the store returns.
The built-in proxy plugin keeps every enabled, unexpired credential from the store in an in-memory
``CredentialCache`` (``runtime.get(CREDENTIALS)``), rebuilt after every mutation and every
30 s; sources that are not the store answer through the ``stowage_credential_lookup`` hook.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from stowage.core.kernel.services import ServiceKey

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = [
    "CREDENTIALS",
    "READ_METHODS",
    "AnonymousRepository",
    "CorsRepository",
    "CredentialCache",
    "CredentialRepository",
    "CredentialSource",
    "StoredBinding",
    "StoredCors",
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


@dataclass(frozen=True)
class StoredCors:
    """The CORS rules of one bucket as the S3 API's JSON (an ``s3_bucket_cors`` row)."""

    backend_id: str
    bucket: str
    rules: list[dict[str, Any]]


class CredentialRepository(Protocol):
    """``store.credentials``: the proxy's virtual credentials (secrets sealed with the root key)."""

    async def list(self, user_id: str | None = None) -> list[StoredCredential]:
        """Every row ordered by access key; only ``user_id``'s rows when given."""
        ...

    async def get(self, access_key: str) -> StoredCredential | None: ...

    async def insert(
        self,
        *,
        access_key: str,
        secret_key_enc: bytes,
        backend_id: str,
        buckets: Sequence[str],
        created_at: datetime,
        created_by: str = "",
        user_id: str = "",
        description: str = "",
        enabled: bool = True,
        expires_at: datetime | None = None,
    ) -> StoredCredential: ...

    async def update(
        self,
        access_key: str,
        *,
        updated_at: datetime,
        updated_by: str = "",
        buckets: Sequence[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
        expires_at: datetime | None = None,
        clear_expires_at: bool = False,
    ) -> StoredCredential | None: ...

    async def delete(self, access_key: str) -> bool: ...


class AnonymousRepository(Protocol):
    """``store.anonymous``: anonymous read bindings of buckets (ANON-1…5)."""

    async def list(self) -> list[StoredBinding]:
        """Every binding ordered by backend and bucket."""
        ...

    async def upsert(
        self, backend_id: str, bucket: str, *, mode: str, per_source_ip_rps: int, now: datetime, actor: str
    ) -> StoredBinding:
        """Insert or update one binding; an update keeps ``created_at``/``created_by``."""
        ...

    async def delete(self, backend_id: str, bucket: str) -> bool:
        """Remove one binding; False when there was none."""
        ...


class CorsRepository(Protocol):
    """``store.cors``: per-bucket CORS rules served by the proxy (CORS-1)."""

    async def all(self) -> list[StoredCors]:
        """Every bucket's rules (unreadable rules read as none)."""
        ...

    async def get(self, backend_id: str, bucket: str) -> list[dict[str, Any]]:
        """The bucket's rules; empty when there are none."""
        ...

    async def put(self, backend_id: str, bucket: str, rules: list[dict[str, Any]], now: datetime) -> None:
        """Store ``rules``; an empty list deletes them."""
        ...


class CredentialCache(Protocol):
    def get(self, access_key: str) -> VirtualCredential | None:
        """A usable credential for ``access_key`` from the cache (no I/O), else None."""
        ...

    async def reload(self) -> None:
        """Rebuild from the store and flush signing keys (immediate revocation)."""
        ...

    def __len__(self) -> int: ...


Entries: TypeAlias = Iterable[Mapping[str, Any]]


class CredentialSource(Protocol):
    """Credentials or anonymous bindings fed to the proxy from outside the store (API-50 views).

    Contributed by ``stowage_proxy_sources``. Each lister returns dicts in the API's shapes,
    synchronously or as an awaitable; a ``secret_key`` in them is dropped before it is shown.
    """

    name: str

    def list_credentials(self) -> Entries | Awaitable[Entries]: ...

    def list_anonymous(self) -> Entries | Awaitable[Entries]: ...


CREDENTIALS: ServiceKey[CredentialCache] = ServiceKey("credentials", provider="s3proxy")
"""The proxy's in-memory credential cache, provided by the built-in ``s3proxy`` plugin."""


async def owner_rights_changed(runtime: Runtime) -> None:
    """A user's role, enabled flag or existence changed: rebuild the proxy's credential cache now,
    before the change's response is sent, so the owner's credentials follow on the next request."""
    cache = runtime.find(CREDENTIALS)
    if cache is not None:
        await cache.reload()
