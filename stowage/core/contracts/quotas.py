"""Bucket quotas: the service contract every enforcement point calls, and the error it raises.

The built-in ``quotas`` plugin provides a :class:`QuotaService` under :data:`QUOTAS` (QUOTA-1…9);
the store keeps the configured caps in its ``quotas`` area (:class:`QuotaRepository`).
Enforcement points call ``check`` before a write and ``record`` after it; the dashboard maps
:class:`QuotaExceededError` to 507 ``quota_exceeded`` (it is an ``ApiError``), the S3 proxy to 507
``EntityTooLarge`` XML. Limits come from the ``stowage_quota_limits`` hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from stowage.core.kernel.errors import ApiError
from stowage.core.kernel.services import ServiceKey

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = [
    "QUOTAS",
    "QuotaExceededError",
    "QuotaLimits",
    "QuotaRepository",
    "QuotaService",
    "StoredQuota",
    "Usage",
    "quota_service",
]


@dataclass(frozen=True, slots=True)
class QuotaLimits:
    """Soft and hard byte caps of one bucket; 0 means that cap is unset."""

    soft_bytes: int = 0
    hard_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Usage:
    """What a bucket holds as far as Stowage knows: scanned, then bumped by writes and deletes."""

    bytes: int
    objects: int
    computed_at: datetime


class QuotaExceededError(ApiError):
    """A write would take a bucket over its hard cap (507 ``quota_exceeded`` on the dashboard)."""

    status = 507
    default_code = "quota_exceeded"

    def __init__(self, used: int, incoming: int, hard: int) -> None:
        super().__init__(f"bucket hard quota exceeded: {used} + {incoming} > {hard}")
        self.used, self.incoming, self.hard = used, incoming, hard


@dataclass(frozen=True)
class StoredQuota:
    """The configured caps of one bucket (a ``bucket_quotas`` row)."""

    backend_id: str
    bucket: str
    soft_bytes: int
    hard_bytes: int
    updated_at: datetime
    updated_by: str


class QuotaRepository(Protocol):
    """``store.quotas``: the configured caps per bucket."""

    async def list(self) -> list[StoredQuota]:
        """Every row, ordered by backend and bucket."""
        ...

    async def get(self, backend_id: str, bucket: str) -> StoredQuota | None: ...

    async def upsert(
        self,
        backend_id: str,
        bucket: str,
        *,
        soft_bytes: int,
        hard_bytes: int,
        updated_at: datetime,
        updated_by: str,
    ) -> StoredQuota:
        """Insert or replace the caps of one bucket and return the row."""
        ...

    async def delete(self, backend_id: str, bucket: str) -> bool:
        """Remove the caps; False when there were none."""
        ...


class QuotaService(Protocol):
    """``runtime.get(QUOTAS)``: what uploads, copies and deletes tell the quota tracker."""

    async def check(self, backend_id: str, bucket: str, incoming: int) -> None:
        """Raise :class:`QuotaExceededError` when ``incoming`` more bytes would pass the hard cap."""
        ...

    async def record(self, backend_id: str, bucket: str, delta_bytes: int, delta_objects: int) -> None:
        """Adjust a tracked bucket's usage after a successful write (positive) or delete (negative)."""
        ...

    async def refresh(self, backend_id: str, bucket: str) -> None:
        """After a delete: rescan a tracked bucket now so the next check sees the lowered usage."""
        ...

    async def limits(self, backend_id: str, bucket: str) -> QuotaLimits | None:
        """The bucket's caps from the ``stowage_quota_limits`` hook, or ``None`` when it has none."""
        ...

    def usage(self, backend_id: str, bucket: str) -> Usage | None:
        """The cached usage, or ``None`` when the bucket was never scanned."""
        ...

    async def recompute(self, backend_id: str, bucket: str) -> Usage:
        """Scan the bucket now (the scan starts after this call); raises on scan failure."""
        ...


QUOTAS: ServiceKey[QuotaService] = ServiceKey("quotas", provider="quotas")
"""The quota tracker, provided by the built-in ``quotas`` plugin."""


def quota_service(runtime: Runtime) -> QuotaService | None:
    """The installed quota service, or ``None`` when the quotas plugin is disabled."""
    return runtime.find(QUOTAS)
