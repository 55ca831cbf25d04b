"""Built-in ``quotas``: per-bucket soft/hard byte caps and usage tracking.

How the parts combine: ``tracker.QuotaTracker`` is the service provided as ``QUOTAS`` (the
``stowage.core.contracts.quotas.QuotaService`` contract) that the dashboard's upload/copy
seams and the S3 proxy's write guard call; its limits come from the ``stowage_quota_limits``
hook, whose store-backed default below is ``trylast``; ``api`` serves
the per-bucket quota routes. Usage is scanned at start-up and every ``quotas.scan_interval``.
``sizes.SizeTracker`` is the ``SIZES`` service (``stowage.core.contracts.sizes``): it counts
every tracked bucket on the same schedule through the same paged listing (``scanning``), reuses
the tracker's usage for buckets with a quota, and answers prefix sizes (``prefix_sizes``);
``size_api`` serves its routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stowage.core.contracts.quotas import QUOTAS
from stowage.core.contracts.sizes import SIZES
from stowage.hooks import hookimpl
from stowage.plugins.quotas import size_api
from stowage.plugins.quotas.api import blueprint
from stowage.plugins.quotas.sizes import SizeTracker
from stowage.plugins.quotas.tracker import TRACKER, QuotaTracker

if TYPE_CHECKING:
    from stowage.core.contracts.quotas import QuotaLimits
    from stowage.core.kernel.runtime import Runtime

__all__ = ["stowage_blueprints", "stowage_quota_limits", "stowage_shutdown", "stowage_startup"]


@hookimpl(trylast=True)
def stowage_quota_limits(backend_id: str, bucket: str, runtime: Runtime) -> QuotaLimits | None:
    """Default limit source: the ``bucket_quotas`` rows (cached, reloaded on every API change)."""
    tracker = runtime.find(TRACKER)
    return tracker.store_limits(backend_id, bucket) if tracker is not None else None


@hookimpl
async def stowage_startup(runtime: Runtime) -> None:
    tracker = QuotaTracker(runtime)
    await tracker.reload_limits()
    runtime.provide(TRACKER, tracker)
    runtime.provide(QUOTAS, tracker)
    runtime.spawn(tracker.run(runtime.settings.quota_scan_interval), "quotas.scan")
    sizes = SizeTracker(runtime, tracker)
    await sizes.reload()
    runtime.provide(SIZES, sizes)
    runtime.spawn(sizes.run(runtime.settings.quota_scan_interval), "sizes.scan")


@hookimpl
async def stowage_shutdown(runtime: Runtime) -> None:
    runtime.withdraw(SIZES)
    runtime.withdraw(QUOTAS)
    runtime.withdraw(TRACKER)


@hookimpl
def stowage_blueprints(runtime: Runtime) -> list[Any]:
    return [blueprint, size_api.blueprint]
