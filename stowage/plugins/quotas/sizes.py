"""``SizeTracker``: bucket sizes for the bucket list and overviews, and prefix sizes on demand.

Every bucket of every registered backend is tracked unless its ``bucket_size_tracking`` row says
otherwise. Tracked buckets are re-counted (a paged listing, ``scanning.count_objects``) once the
backend registry is up and then every ``quotas.scan_interval`` (negative: only that first time),
one bucket after the other so the upstream sees one listing at a time. A bucket the quota tracker
already counts (it has a quota) is not listed twice: its usage, which uploads keep current, is
the size. Sizes live in memory only and are re-counted after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import Counter

from stowage.core.contracts.backends import BACKENDS, backend_registry
from stowage.core.contracts.sizes import (
    BucketSize,
    PrefixSize,
    SizeTrackingDisabled,
    SizeTrackingSetting,
)
from stowage.plugins.quotas.coalesce import Coalescer
from stowage.plugins.quotas.prefix_sizes import PrefixSizes
from stowage.plugins.quotas.scanning import count_objects
from stowage.plugins.quotas.tracker import DEFAULT_INTERVAL

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.quotas.tracker import QuotaTracker

__all__ = ["SizeTracker"]

log = logging.getLogger("stowage.sizes")

Key = tuple[str, str]


class SizeTracker:
    """Implements ``stowage.core.contracts.sizes.SizeService`` for one Runtime."""

    def __init__(self, runtime: Runtime, quotas: QuotaTracker) -> None:
        self._runtime = runtime
        self._quotas = quotas
        self._rows: dict[Key, SizeTrackingSetting] = {}
        self._sizes: dict[Key, BucketSize] = {}
        self._buckets: Coalescer[Key, BucketSize] = Coalescer(runtime, "sizes.bucket", self._count_bucket)
        self._prefixes = PrefixSizes(runtime, self._count_prefix)
        self.scans = Counter(
            "stowage_size_scans_total",
            "Listings made to count bucket and prefix sizes.",
            ["kind", "outcome"],
            registry=runtime.registry,
        )

    # --- the switch ---------------------------------------------------------------------------

    async def reload(self) -> None:
        """Re-read the ``bucket_size_tracking`` rows (at start-up and after every change)."""
        self._rows = {(r.backend_id, r.bucket): r for r in await self._runtime.store.size_tracking.list()}

    def tracked(self, backend_id: str, bucket: str) -> bool:
        row = self._rows.get((backend_id, bucket))
        return row is None or row.enabled

    def setting(self, backend_id: str, bucket: str) -> SizeTrackingSetting:
        return self._rows.get((backend_id, bucket)) or SizeTrackingSetting(backend_id, bucket)

    async def set_tracking(
        self, backend_id: str, bucket: str, *, enabled: bool, by: str
    ) -> SizeTrackingSetting:
        row = await self._runtime.store.size_tracking.set(
            backend_id,
            bucket,
            enabled=enabled,
            updated_at=datetime.fromtimestamp(self._runtime.clock(), UTC),
            updated_by=by,
        )
        await self.reload()
        key = (backend_id, bucket)
        if not enabled:
            self._sizes.pop(key, None)
            self._prefixes.forget_bucket(backend_id, bucket)
        elif key not in self._sizes:
            # Count it now rather than at the next scheduled scan, so the bucket list shows it soon.
            self._runtime.spawn(self._count_quietly(key), name="sizes.enable")
        return row

    # --- sizes --------------------------------------------------------------------------------

    def size(self, backend_id: str, bucket: str) -> BucketSize | None:
        usage = self._quotas.usage(backend_id, bucket)
        if usage is not None:
            return BucketSize(
                backend_id, bucket, usage.bytes, usage.objects, usage.computed_at, source="quota"
            )
        return self._sizes.get((backend_id, bucket)) if self.tracked(backend_id, bucket) else None

    def sizes(self) -> list[BucketSize]:
        keys = set(self._sizes) | set(self._quotas.tracked_keys())
        found = (self.size(*key) for key in sorted(keys))
        return [size for size in found if size is not None]

    async def prefix_size(self, backend_id: str, bucket: str, prefix: str) -> PrefixSize:
        if not self.tracked(backend_id, bucket):
            raise SizeTrackingDisabled("size tracking is disabled for this bucket")
        return await self._prefixes.get(backend_id, bucket, prefix)

    def forget(self, backend_id: str, bucket: str) -> None:
        self._sizes.pop((backend_id, bucket), None)
        self._prefixes.forget_bucket(backend_id, bucket)
        self._quotas.forget(backend_id, bucket)

    # --- counting -----------------------------------------------------------------------------

    async def count(self, backend_id: str, bucket: str) -> BucketSize:
        """Count one bucket now (sharing a count already running) and keep the result."""
        return await self._buckets.run((backend_id, bucket))

    async def _count_bucket(self, key: Key) -> BucketSize:
        size, objects = await self._listing("bucket", key[0], key[1], "")
        found = BucketSize(key[0], key[1], size, objects, datetime.fromtimestamp(self._runtime.clock(), UTC))
        if self.tracked(*key):  # switched off while it was being counted: keep nothing
            self._sizes[key] = found
        return found

    async def _count_prefix(self, backend_id: str, bucket: str, prefix: str) -> tuple[int, int]:
        return await self._listing("prefix", backend_id, bucket, prefix)

    async def _listing(self, kind: str, backend_id: str, bucket: str, prefix: str) -> tuple[int, int]:
        try:
            counted = await count_objects(backend_registry(self._runtime).driver(backend_id), bucket, prefix)
        except Exception:
            self.scans.labels(kind, "error").inc()
            raise
        self.scans.labels(kind, "ok").inc()
        return counted

    async def _count_quietly(self, key: Key) -> None:
        try:
            await self.count(*key)
        except Exception as exc:
            log.warning("size count failed", extra={"backend": key[0], "bucket": key[1], "error": repr(exc)})

    async def scan_all(self) -> None:
        """Count every tracked bucket of every backend; forget buckets that are gone."""
        registry = self._runtime.find(BACKENDS)
        if registry is None:
            return
        live = set()
        for entry in registry.all():
            backend_id = entry.spec.id
            live.add(backend_id)
            try:
                buckets = await entry.driver.list_buckets()
            except Exception as exc:
                log.warning(
                    "size scan: listing buckets failed", extra={"backend": backend_id, "error": repr(exc)}
                )
                continue  # keep what we knew of this backend
            names = {info.name for info in buckets}
            for gone in [k for k in self._sizes if k[0] == backend_id and k[1] not in names]:
                self.forget(*gone)
            for name in sorted(names):
                if self.tracked(backend_id, name) and self._quotas.usage(backend_id, name) is None:
                    await self._count_quietly((backend_id, name))
        for gone in [k for k in self._sizes if k[0] not in live]:
            self._sizes.pop(gone, None)

    async def run(self, interval: float) -> None:
        """Count once the backend registry is up, then every ``interval`` (negative: once only)."""
        for _ in range(100):
            if self._runtime.find(BACKENDS) is not None:
                break
            await asyncio.sleep(0.1)
        while True:
            await self.scan_all()
            if interval < 0:
                return
            await asyncio.sleep(interval or DEFAULT_INTERVAL)
