"""``QuotaPolicy``: bucket quotas enforced and accounted on the proxy.

A PutObject/UploadPart (or a copy, judged by its source's size) is refused with 507
``QuotaExceeded`` when it would take the bucket past its quota. One whose upstream answered 2xx
adds the admitted length to the bucket's usage before the response is relayed. A successful
DeleteObject / DeleteObjects rescans the bucket (only when its usage is tracked) *before* the
client sees the answer, so a following upload is judged on the lowered usage; concurrent rescans
of one bucket coalesce (``QuotaTracker.recompute``). Without the quotas plugin this does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stowage.core.contracts.quotas import QUOTAS, QuotaExceededError
from stowage.plugins.s3proxy.policy import ProxyPolicy
from stowage.plugins.s3proxy.s3errors import QuotaExceeded

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.s3proxy.request import ProxyRequest

__all__ = ["QuotaPolicy"]

_OBJECTS = {"PutObject": 1, "UploadPart": 0}  # objects each operation adds
_DELETES = frozenset({"DeleteObject", "DeleteObjects"})


class QuotaPolicy(ProxyPolicy):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def guard_write(self, req: ProxyRequest, incoming: int) -> None:
        runtime = self.runtime
        quotas = runtime.find(QUOTAS)
        if quotas is None:
            return
        req.guarded_bytes = incoming
        try:
            await quotas.check(req.backend_id, req.bucket, incoming)
        except QuotaExceededError as exc:
            raise QuotaExceeded(str(exc), bucket=req.bucket) from None

    async def after_upstream(self, req: ProxyRequest, status: int) -> None:
        runtime = self.runtime
        quotas = runtime.find(QUOTAS)
        if quotas is None or not 200 <= status < 300 or not req.backend_id:
            return
        operation = req.operation
        if operation in _OBJECTS and req.guarded_bytes:
            await quotas.record(req.backend_id, req.bucket, req.guarded_bytes, _OBJECTS[operation])
        elif operation in _DELETES:
            await quotas.refresh(req.backend_id, req.bucket)
