"""``QueueRecorder``: the non-blocking audit recorder — bounded queue, one writer task, batches."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import Counter

from stowage.core.contracts.audit import AuditEvent, audit_repository
from stowage.core.kernel import hookcall
from stowage.core.kernel.metrics import ScrapeGauge
from stowage.plugins.audit import sampling

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["WARN_INTERVAL", "QueueRecorder"]

log = logging.getLogger("stowage.audit")

#: Seconds between two "events dropped" warnings: a flood of drops must not flood the log too.
WARN_INTERVAL = 60.0
#: How long the writer lets a partial batch fill before committing it. Under load this turns many
#: one-row transactions into few full ones (measured: bad-signature floods in bench/proxy.py);
#: when idle it only delays a row by this much. With ``audit.durability: sync`` responses wait for
#: their row, so the writer does not linger: events that arrive during a commit form the next batch.
LINGER = 0.05


class QueueRecorder:
    """``stowage.core.contracts.audit.AuditRecorder`` backed by an ``asyncio.Queue`` and one drain task.

    ``record`` only ever does ``put_nowait``: a full queue drops the event and counts it. The drain
    task (``run``) asks ``stowage_audit_sample`` about each event (sampling may be async, so it
    cannot run in ``record``; the built-in sampler alone is the exception, see ``__init__``),
    writes up to ``batch_size`` kept events per transaction, then hands the committed batch to
    ``stowage_audit_export``.

    Shutdown does not depend on plugin order: ``close`` (from ``stowage_shutdown``) waits for
    everything queued so far; events recorded later by other plugins' shutdown hooks are written
    when the Runtime cancels the drain task, which drains the queue once more before it exits —
    and the Runtime awaits its tasks before it closes the store.
    """

    def __init__(self, runtime: Runtime, *, clock: Callable[[], float] = time.monotonic) -> None:
        settings = runtime.settings.audit
        self._runtime = runtime
        self._batch_size = settings.batch_size
        self._linger = 0.0 if settings.durability == "sync" else LINGER
        self._queue: asyncio.Queue[AuditEvent] = asyncio.Queue(maxsize=settings.queue_size)
        self._clock = clock
        self._accepted = 0  # events put on the queue
        self._settled = 0  # of those: written, sampled out, or lost to a failed write
        self._progress = asyncio.Condition()
        self._taken: list[AuditEvent] = []  # off the queue, not yet sampled
        self._writing: asyncio.Task[None] | None = None
        self._closed = False
        self._dropped_total = 0
        self._dropped_reported = 0
        self._last_warning: float | None = None
        # With only the built-in sampler (synchronous and cheap) registered, decide in record():
        # a flood of sampled-out proxy reads then never takes a queue slot from an event that
        # must be kept, and never counts as a drop.
        samplers = [i.function for i in hookcall.implementations(runtime.pm, "stowage_audit_sample")]
        self._sample_inline = samplers == [sampling.stowage_audit_sample]
        self._has_exporters = any(True for _ in hookcall.implementations(runtime.pm, "stowage_audit_export"))
        self.dropped = Counter(
            "stowage_audit_dropped_total",
            "Audit events lost: queue full, failed write, or recorded after shutdown.",
            ["reason"],
            registry=runtime.registry,
        )
        runtime.registry.register(
            ScrapeGauge("stowage_audit_queue_depth", "Audit events waiting to be written.", self.depth)
        )

    # --- producer side (any task, never blocks) ------------------------------------------------

    def record(self, event: AuditEvent) -> None:
        """Queue ``event``; when the queue is full (or closed) drop it and count the drop."""
        if self._closed:
            self._drop(1, "closed")
            return
        if self._sample_inline and not sampling.stowage_audit_sample(event, self._runtime):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._drop(1, "queue_full")
            return
        self._accepted += 1

    def skips(self, *, origin: str, method: str, outcome: str) -> bool:
        """Whether such an event is certainly sampled out (only with the built-in sampler at 0)."""
        return (
            self._sample_inline
            and self._runtime.settings.audit.proxy_success_read_rate <= 0.0
            and origin == "proxy"
            and outcome == "ok"
            and method.upper() in sampling.SAMPLED_METHODS
        )

    def depth(self) -> float:
        """Events accepted and not yet settled (queue plus the batch in hand)."""
        return float(self._accepted - self._settled)

    async def flush(self) -> None:
        """Wait until every event accepted before this call is written (or settled otherwise).

        Batches commit in queue order, so this is also how ``audit.durability: sync`` waits for
        one request's event: record it, then flush.
        """
        target = self._accepted
        async with self._progress:
            await self._progress.wait_for(lambda: self._settled >= target or self._closed)

    async def close(self) -> None:
        """Write everything queued so far; called from ``stowage_shutdown``."""
        await self.flush()
        self._report_drops(force=True)

    # --- the drain task ------------------------------------------------------------------------

    async def run(self) -> None:
        """Drain the queue until cancelled; on cancellation write what is left, then stop."""
        try:
            while True:
                self._taken.append(await self._queue.get())
                if self._linger and self._queue.qsize() + 1 < self._batch_size:
                    await asyncio.sleep(self._linger)
                await self._drain_available()
        except asyncio.CancelledError:
            await self._final_drain()
            raise

    async def report_drops_periodically(self) -> None:
        """Background task: report drops that happened since the last warning, once a minute."""
        while True:
            await asyncio.sleep(WARN_INTERVAL)
            self._report_drops()

    async def _drain_available(self) -> None:
        while self._taken or not self._queue.empty():
            self._take()
            kept = [event for event in list(self._taken) if await self._keep(event)]
            taken, self._taken = len(self._taken), []
            # The write runs as its own task, shielded, so a cancellation arriving mid-commit
            # neither loses the batch nor makes us write it twice (see _final_drain).
            self._writing = asyncio.ensure_future(self._commit(kept, taken))
            await asyncio.shield(self._writing)

    def _take(self) -> None:
        while len(self._taken) < self._batch_size and not self._queue.empty():
            self._taken.append(self._queue.get_nowait())

    async def _final_drain(self) -> None:
        if self._writing is not None and not self._writing.done():
            await self._writing
        self._closed = True  # from here on record() drops; nothing would write the events
        await self._drain_available()
        self._report_drops(force=True)

    async def _keep(self, event: AuditEvent) -> bool:
        if self._sample_inline:
            return True  # already decided in record(); asking again would square the rate
        try:
            decision = await self._runtime.hooks.audit_sample(event=event, runtime=self._runtime)
        except Exception:
            # A broken sampler must not cost audit rows: record the event.
            log.exception("audit sampling hook failed; keeping the event", extra={"action": event.action})
            return True
        return decision is not False  # None = no opinion = keep

    async def _commit(self, events: list[AuditEvent], taken: int) -> None:
        try:
            if events:
                await self._write_and_export(events)
        finally:
            self._settled += taken
            async with self._progress:
                self._progress.notify_all()

    async def _write_and_export(self, events: list[AuditEvent]) -> None:
        try:
            ids = await audit_repository(self._runtime).insert_batch(events, want_ids=self._has_exporters)
        except Exception:
            log.exception("audit batch write failed; events dropped", extra={"events": len(events)})
            self._drop(len(events), "write_failed")
            return
        if not self._has_exporters:
            return  # nobody to hand the batch to: skip building id-stamped copies
        committed = [event.with_id(i) for event, i in zip(events, ids, strict=True)]
        await self._runtime.hooks.audit_export(events=committed, runtime=self._runtime)

    # --- drop accounting -----------------------------------------------------------------------

    def _drop(self, count: int, reason: str) -> None:
        self.dropped.labels(reason).inc(count)
        self._dropped_total += count
        self._report_drops()

    def _report_drops(self, *, force: bool = False) -> None:
        """Warn at most once per ``WARN_INTERVAL`` with the new and total drop counts."""
        new = self._dropped_total - self._dropped_reported
        now = self._clock()
        due = self._last_warning is None or now - self._last_warning >= WARN_INTERVAL
        if new <= 0 or not (due or force):
            return
        self._last_warning, self._dropped_reported = now, self._dropped_total
        log.warning(
            "audit events dropped: %d since the last warning, %d in total",
            new,
            self._dropped_total,
            extra={"dropped_new": new, "dropped_total": self._dropped_total},
        )
