"""``OverviewBuilder``: the ``OverviewService`` — a ring of metric samples plus the traffic tally.

A sample of the Prometheus registry is taken at start-up and every ``SAMPLE_INTERVAL`` seconds
into a ring holding an hour; each ``overview()`` call adds a live reading, so the window's figures
run up to the moment of the call. The window is the last hour, or the time since start-up when
that is shorter.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime
from itertools import pairwise
from typing import TYPE_CHECKING

from stowage.core.contracts.backends import BACKENDS
from stowage.core.contracts.overview import AuditStatus, BackendStatus, Overview, SeriesPoint
from stowage.core.contracts.sizes import size_service
from stowage.plugins.overview.samples import MetricSample, between, delta, read_sample

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.overview.traffic import TrafficTally

__all__ = ["SAMPLE_INTERVAL", "WINDOW", "OverviewBuilder"]

SAMPLE_INTERVAL = 10.0
WINDOW = 3600.0


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


class OverviewBuilder:
    """Implements ``stowage.core.contracts.overview.OverviewService`` for one Runtime."""

    def __init__(self, runtime: Runtime, tally: TrafficTally, *, interval: float = SAMPLE_INTERVAL) -> None:
        self._runtime = runtime
        self._tally = tally
        self.interval = interval
        self._ring: deque[MetricSample] = deque(maxlen=int(WINDOW // interval) + 1)

    def sample(self) -> MetricSample:
        """Read the registry now and keep the reading in the ring."""
        reading = self._read()
        self._ring.append(reading)
        return reading

    def _read(self) -> MetricSample:
        return read_sample(self._runtime.registry, self._runtime.clock(), self._tally.api_bytes_in)

    async def run(self) -> None:
        """Sample every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            self.sample()

    def overview(self) -> Overview:
        now = self._read()
        window = [s for s in self._ring if s.at >= now.at - WINDOW] or list(self._ring)[-1:]
        base = window[0] if window else now
        api, s3 = between(base, now)
        points = [*window, now]
        return Overview(
            generated_at=_utc(now.at),
            started_at=_utc(self._runtime.started_at),
            window_seconds=round(max(0.0, now.at - base.at), 3),
            sample_interval=self.interval,
            api=api,
            s3=s3,
            series=tuple(_point(old, new) for old, new in pairwise(points)),
            top_buckets=tuple(self._tally.top_buckets(now.at)),
            backends=self._backends(),
            audit=AuditStatus(
                queue_depth=round(now.audit_queue_depth),
                dropped_total=round(now.audit_dropped),
                dropped_window=delta(now.audit_dropped, base.audit_dropped),
            ),
            database_bytes=self._runtime.store.db_bytes(),
            hourly=tuple(self._tally.hourly(now.at)),
            by_backend_24h=self._tally.by_backend(now.at),
            recent_errors=tuple(self._tally.recent_errors()),
            storage=tuple(sizes.sizes()) if (sizes := size_service(self._runtime)) is not None else (),
        )

    def _backends(self) -> tuple[BackendStatus, ...]:
        registry = self._runtime.find(BACKENDS)
        if registry is None:
            return ()
        out = []
        for entry in sorted(registry.all(), key=lambda e: e.spec.id):
            health = entry.health
            out.append(
                BackendStatus(
                    id=entry.spec.id,
                    name=entry.spec.name,
                    healthy=health.healthy,
                    last_probe_at=health.last_probe_at,
                    last_error=health.last_error,
                    latency_ms=health.latency_ms if health.last_probe_at is not None else None,
                )
            )
        return tuple(out)


def _point(old: MetricSample, new: MetricSample) -> SeriesPoint:
    return SeriesPoint(
        at=_utc(new.at),
        seconds=round(new.at - old.at, 3),
        api_requests=delta(new.api_requests, old.api_requests),
        api_errors=delta(new.api_errors, old.api_errors),
        s3_requests=delta(new.s3_requests, old.s3_requests),
        s3_errors=delta(new.s3_errors, old.s3_errors),
        bytes_in=delta(new.api_bytes_in + new.s3_bytes_in, old.api_bytes_in + old.s3_bytes_in),
        bytes_out=delta(new.api_bytes_out + new.s3_bytes_out, old.api_bytes_out + old.s3_bytes_out),
        audit_queue_depth=round(new.audit_queue_depth),
    )
