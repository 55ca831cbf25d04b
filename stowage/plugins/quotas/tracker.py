"""``QuotaTracker``: the quota service — limits, in-memory usage, scans and soft-cap audit rows.

Usage per bucket lives in memory: filled by full recursive listings (``scanning.count_objects``)
at start-up and every ``quotas.scan_interval``, bumped by uploads and lowered by deletes through
``record``. A bucket never scanned since start-up is scanned synchronously on its first
``check`` (10 s); when that scan fails the write is allowed (fail-open) with a warning.

Scans of one bucket are serialised and coalesced: ``recompute`` always returns the result of a
scan that *started after* it was called, but callers queued behind one running scan share the
next one, so a burst of deletes costs at most two listings. A scan is authoritative as of its end.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stowage.core.contracts.audit import AuditEvent, recorder
from stowage.core.contracts.backends import BACKENDS, backend_registry
from stowage.core.contracts.quotas import QuotaExceededError, QuotaLimits, Usage
from stowage.core.kernel.services import ServiceKey
from stowage.plugins.quotas.scanning import SCAN_PAGE, count_objects

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["SCAN_PAGE", "SYNC_SCAN_TIMEOUT", "TRACKER", "QuotaTracker", "as_limits"]

log = logging.getLogger("stowage.quotas")

SYNC_SCAN_TIMEOUT = 10.0
DEFAULT_INTERVAL = 30 * 60.0
Key = tuple[str, str]


def as_limits(value: Any) -> QuotaLimits | None:
    """Normalise a hook answer (``(soft, hard)`` or ``QuotaLimits``); both caps 0 means no limit."""
    if value is None:
        return None
    limits = value if isinstance(value, QuotaLimits) else QuotaLimits(int(value[0]), int(value[1]))
    return limits if limits.soft_bytes > 0 or limits.hard_bytes > 0 else None


TRACKER: ServiceKey[QuotaTracker] = ServiceKey("quotas.tracker", provider="quotas")
"""The concrete tracker (limits reload, store-backed limits); others use ``core.quotas.QUOTAS``."""


class QuotaTracker:
    """Implements ``stowage.core.contracts.quotas.QuotaService`` for one Runtime."""

    def __init__(self, runtime: Runtime, *, sync_timeout: float = SYNC_SCAN_TIMEOUT) -> None:
        self._runtime = runtime
        self._sync_timeout = sync_timeout
        self._store_limits: dict[Key, QuotaLimits] = {}
        self._usage: dict[Key, Usage] = {}
        self._soft_flagged: set[Key] = set()
        self._locks: dict[Key, asyncio.Lock] = {}
        self._wanted: dict[Key, int] = {}
        self._done: dict[Key, int] = {}

    # --- limits -----------------------------------------------------------------------------

    async def reload_limits(self) -> None:
        """Re-read the ``bucket_quotas`` rows (after start-up and every API mutation)."""
        rows = await self._runtime.store.quotas.list()
        self._store_limits = {(r.backend_id, r.bucket): QuotaLimits(r.soft_bytes, r.hard_bytes) for r in rows}

    def store_limits(self, backend_id: str, bucket: str) -> QuotaLimits | None:
        """The store's caps for a bucket (what the trylast hook default answers)."""
        return self._store_limits.get((backend_id, bucket))

    async def limits(self, backend_id: str, bucket: str) -> QuotaLimits | None:
        found = await self._runtime.hooks.quota_limits(
            backend_id=backend_id, bucket=bucket, runtime=self._runtime
        )
        return as_limits(found)

    # --- usage ------------------------------------------------------------------------------

    def usage(self, backend_id: str, bucket: str) -> Usage | None:
        return self._usage.get((backend_id, bucket))

    async def check(self, backend_id: str, bucket: str, incoming: int) -> None:
        if incoming <= 0:
            return
        limits = await self.limits(backend_id, bucket)
        if limits is None:
            return
        usage = self._usage.get((backend_id, bucket))
        if usage is None:
            try:
                usage = await self.recompute(backend_id, bucket, timeout=self._sync_timeout)
            except Exception as exc:
                log.warning(
                    "quota scan failed; allowing the upload",
                    extra={"backend": backend_id, "bucket": bucket, "error": repr(exc)},
                )
                return
        if limits.hard_bytes > 0 and usage.bytes + incoming > limits.hard_bytes:
            raise QuotaExceededError(usage.bytes, incoming, limits.hard_bytes)

    async def record(self, backend_id: str, bucket: str, delta_bytes: int, delta_objects: int) -> None:
        key = (backend_id, bucket)
        usage = self._usage.get(key)
        if usage is None:
            return  # untracked: the first check scans it
        usage = Usage(
            max(0, usage.bytes + delta_bytes), max(0, usage.objects + delta_objects), usage.computed_at
        )
        self._usage[key] = usage
        await self._soft_check(key, usage)

    async def refresh(self, backend_id: str, bucket: str) -> None:
        """After a delete: rescan a tracked bucket before answering; forget it when that fails."""
        key = (backend_id, bucket)
        if key not in self._usage:
            return
        try:
            await self.recompute(backend_id, bucket, timeout=self._sync_timeout)
        except Exception as exc:
            self._usage.pop(key, None)  # the next check rescans (fail-open if that fails too)
            log.warning("quota rescan after delete failed", extra={"bucket": bucket, "error": repr(exc)})

    def tracked_keys(self) -> list[Key]:
        """The ``(backend_id, bucket)`` pairs whose usage is known."""
        return list(self._usage)

    def forget(self, backend_id: str, bucket: str) -> None:
        """Drop a bucket's usage (e.g. after the bucket was deleted)."""
        self._usage.pop((backend_id, bucket), None)
        self._soft_flagged.discard((backend_id, bucket))

    # --- scans ------------------------------------------------------------------------------

    async def recompute(self, backend_id: str, bucket: str, *, timeout: float | None = None) -> Usage:
        key = (backend_id, bucket)
        ticket = self._wanted[key] = self._wanted.get(key, 0) + 1
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if self._done.get(key, 0) >= ticket and key in self._usage:
                return self._usage[key]  # a scan that started after our call already finished
            started = self._wanted[key]
            usage = await asyncio.wait_for(self._scan(backend_id, bucket), timeout)
            self._usage[key] = usage
            self._done[key] = started
        await self._soft_check(key, usage)
        return usage

    async def _scan(self, backend_id: str, bucket: str) -> Usage:
        driver = backend_registry(self._runtime).driver(backend_id)
        total, count = await count_objects(driver, bucket)
        return Usage(total, count, datetime.fromtimestamp(self._runtime.clock(), UTC))

    async def scan_all(self) -> None:
        """Scan every quota-configured (or already tracked) bucket; failures are logged."""
        for backend_id, bucket in sorted(set(self._store_limits) | set(self._usage)):
            try:
                await self.recompute(backend_id, bucket)
            except Exception as exc:
                log.warning(
                    "quota scan failed", extra={"backend": backend_id, "bucket": bucket, "error": repr(exc)}
                )

    async def run(self, interval: float) -> None:
        """Scan once the backend registry is up, then every ``interval`` (negative: once only)."""
        for _ in range(100):
            if self._runtime.find(BACKENDS) is not None:
                break
            await asyncio.sleep(0.1)
        while True:
            await self.scan_all()
            if interval < 0:
                return
            await asyncio.sleep(interval or DEFAULT_INTERVAL)

    # --- soft cap ---------------------------------------------------------------------------

    async def _soft_check(self, key: Key, usage: Usage) -> None:
        limits = await self.limits(*key)
        soft = limits.soft_bytes if limits is not None else 0
        if soft <= 0 or usage.bytes <= soft:
            self._soft_flagged.discard(key)  # re-armed once usage is back under the soft cap
            return
        if key in self._soft_flagged:
            return
        self._soft_flagged.add(key)
        recorder(self._runtime).record(
            AuditEvent(
                action="quota.soft_exceeded",
                backend=key[0],
                bucket=key[1],
                detail={"soft_bytes": soft, "usage_bytes": usage.bytes},
                origin="quota",
            )
        )
