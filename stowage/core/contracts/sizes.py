"""Bucket size tracking: the per-bucket switch the store keeps, and the service that counts sizes.

Every bucket is tracked unless a ``bucket_size_tracking`` row says ``enabled = 0`` (the table holds
opt-outs, and opt-ins an admin set explicitly; no row means tracked). The built-in ``quotas``
plugin provides a :class:`SizeService` under :data:`SIZES`: it re-counts tracked buckets in the
background (at start-up and every ``quotas.scan_interval``) and answers ``prefix-size`` questions.
Features that show sizes (the bucket list, the admin overview) read it through
:func:`size_service`, which is ``None`` when the plugin is disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from stowage.core.kernel.errors import Conflict
from stowage.core.kernel.services import ServiceKey

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = [
    "SIZES",
    "BucketSize",
    "PrefixSize",
    "SizeService",
    "SizeTrackingDisabled",
    "SizeTrackingRepository",
    "SizeTrackingSetting",
    "size_service",
]


@dataclass(frozen=True, slots=True)
class SizeTrackingSetting:
    """A bucket's tracking switch; ``updated_at`` is None when no row exists (tracked by default)."""

    backend_id: str
    bucket: str
    enabled: bool = True
    updated_at: datetime | None = None
    updated_by: str = ""


@dataclass(frozen=True, slots=True)
class BucketSize:
    """What a bucket held as of ``computed_at`` (``source``: ``size_tracking`` or ``quota``)."""

    backend_id: str
    bucket: str
    bytes: int
    objects: int
    computed_at: datetime
    source: str = "size_tracking"


@dataclass(frozen=True, slots=True)
class PrefixSize:
    """The bytes and object count under ``prefix`` of one bucket, as of ``computed_at``."""

    backend_id: str
    bucket: str
    prefix: str
    bytes: int
    count: int
    computed_at: datetime


class SizeTrackingDisabled(Conflict):
    """A size was asked of a bucket whose tracking is switched off (409 ``size_tracking_disabled``)."""

    default_code = "size_tracking_disabled"


class SizeTrackingRepository(Protocol):
    """``store.size_tracking``: the ``bucket_size_tracking`` rows."""

    async def list(self) -> list[SizeTrackingSetting]:
        """Every row, ordered by backend and bucket."""
        ...

    async def get(self, backend_id: str, bucket: str) -> SizeTrackingSetting | None:
        """The row of one bucket, or None (the bucket is tracked by default)."""
        ...

    async def set(
        self, backend_id: str, bucket: str, *, enabled: bool, updated_at: datetime, updated_by: str
    ) -> SizeTrackingSetting:
        """Insert or replace the switch of one bucket and return the row."""
        ...

    async def delete(self, backend_id: str, bucket: str) -> bool:
        """Remove the row (back to the default); False when there was none."""
        ...


class SizeService(Protocol):
    """``runtime.get(SIZES)``: tracked bucket sizes and prefix sizes."""

    def tracked(self, backend_id: str, bucket: str) -> bool:
        """Whether the bucket's size is tracked (true unless switched off)."""
        ...

    def setting(self, backend_id: str, bucket: str) -> SizeTrackingSetting:
        """The bucket's switch (a default, row-less setting when none was stored)."""
        ...

    async def set_tracking(
        self, backend_id: str, bucket: str, *, enabled: bool, by: str
    ) -> SizeTrackingSetting:
        """Store the switch; turning it on schedules a count, turning it off forgets the size."""
        ...

    def size(self, backend_id: str, bucket: str) -> BucketSize | None:
        """The last known size: the quota tracker's usage when it has one, else the last count."""
        ...

    def sizes(self) -> list[BucketSize]:
        """Every known bucket size (for overviews), ordered by backend and bucket."""
        ...

    async def prefix_size(self, backend_id: str, bucket: str, prefix: str) -> PrefixSize:
        """Count ``prefix`` (cached 60 s, concurrent callers share one listing).

        Raises :class:`SizeTrackingDisabled` when the bucket is not tracked.
        """
        ...

    def forget(self, backend_id: str, bucket: str) -> None:
        """Drop what is known of a bucket (after it was deleted)."""
        ...


SIZES: ServiceKey[SizeService] = ServiceKey("sizes", provider="quotas")
"""Bucket size tracking, provided by the built-in ``quotas`` plugin."""


def size_service(runtime: Runtime) -> SizeService | None:
    """The installed size service, or ``None`` when the quotas plugin is disabled."""
    return runtime.find(SIZES)
