"""The seam where quotas plug into the storage API; inert until a quota service exists.

The quotas plugin installs a ``stowage.core.contracts.quotas.QuotaService``: uploads and copies ask
``check`` first (507 ``quota_exceeded``) and ``record`` their bytes after; deletes ``refresh``
the bucket so the next check sees the lowered usage without waiting for a scheduled scan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stowage.core.contracts.quotas import quota_service

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["quota_after_delete", "quota_precheck", "quota_record"]


async def quota_precheck(runtime: Runtime, backend_id: str, bucket: str, incoming: int) -> None:
    """Refuse ``incoming`` bytes into ``bucket`` when the quota service says so (raises)."""
    quotas = quota_service(runtime)
    if quotas is not None:
        await quotas.check(backend_id, bucket, incoming)


async def quota_record(
    runtime: Runtime, backend_id: str, bucket: str, delta_bytes: int, delta_objects: int
) -> None:
    """Tell the quota service that ``bucket`` grew after a successful write."""
    quotas = quota_service(runtime)
    if quotas is not None:
        await quotas.record(backend_id, bucket, delta_bytes, delta_objects)


async def quota_after_delete(runtime: Runtime, backend_id: str, bucket: str) -> None:
    """Lower ``bucket``'s usage after a successful delete (a rescan of tracked buckets only)."""
    quotas = quota_service(runtime)
    if quotas is not None:
        await quotas.refresh(backend_id, bucket)
