"""The seam where quotas (QUOTA-3) plug into the storage API; inert until a quota service exists.

The quotas plugin installs ``runtime.services["quotas"]`` with ``check(backend_id, bucket,
incoming)`` (raises, e.g. 507 ``quota_exceeded``) and ``record(backend_id, bucket, delta_bytes,
delta_objects)``. Both may be sync or async.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stowage.core.runtime import Runtime

__all__ = ["quota_precheck", "quota_record"]


async def quota_precheck(runtime: Runtime, backend_id: str, bucket: str, incoming: int) -> None:
    """Refuse ``incoming`` bytes into ``bucket`` when a quota service says so (raises)."""
    quotas = runtime.services.get("quotas")
    if quotas is not None:
        result = quotas.check(backend_id, bucket, incoming)
        if inspect.isawaitable(result):
            await result


async def quota_record(
    runtime: Runtime, backend_id: str, bucket: str, delta_bytes: int, delta_objects: int
) -> None:
    """Tell the quota service that ``bucket`` grew after a successful write."""
    quotas = runtime.services.get("quotas")
    if quotas is not None:
        result = quotas.record(backend_id, bucket, delta_bytes, delta_objects)
        if inspect.isawaitable(result):
            await result
