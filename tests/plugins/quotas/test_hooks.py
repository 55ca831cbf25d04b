"""The ``stowage_quota_limits`` hook: plugin sources win over the store default; None passes on."""

from __future__ import annotations

from stowage.core.contracts.quotas import QuotaLimits
from stowage.core.formats.timefmt import utcnow
from stowage.hooks import hookimpl
from stowage.plugins.quotas.tracker import TRACKER


class AsyncSource:
    @hookimpl
    async def stowage_quota_limits(self, backend_id, bucket, runtime):
        return (1, 2) if bucket == "mine" else None


async def test_hook_stowage_quota_limits(stowage_factory) -> None:
    async with stowage_factory(plugins=[("limits", AsyncSource())]) as stowage:
        runtime = stowage.runtime
        for bucket in ("mine", "other"):
            await runtime.store.quotas.upsert(
                "b", bucket, soft_bytes=10, hard_bytes=20, updated_at=utcnow(), updated_by="t"
            )
        tracker = runtime.get(TRACKER)
        await tracker.reload_limits()
        assert await tracker.limits("b", "mine") == QuotaLimits(1, 2)
        assert await tracker.limits("b", "other") == QuotaLimits(10, 20)
        assert await tracker.limits("b", "unset") is None
