"""The Runtime's Prometheus registry and the dashboard metrics.

One registry per Runtime (never the global default), shared by the dashboard and the proxy.
Labels never carry bucket or key names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["DashboardMetrics", "ScrapeGauge", "new_registry"]

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BYTES_BUCKETS = (1024, 65536, 1 << 20, 16 << 20, 256 << 20, 1 << 30, 16 << 30)


def new_registry() -> CollectorRegistry:
    """A fresh registry with process, GC and platform collectors."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


class ScrapeGauge(Collector):
    """A gauge whose value is read by a callable at scrape time."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self._name, self._doc, self._read = name, documentation, read

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self._name, self._doc, value=self._read())

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self._name, self._doc)


class DashboardMetrics:
    """Request metrics for ``/api/*`` on the dashboard listener."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "stowage_requests_total",
            "Dashboard /api requests.",
            ["method", "status_class", "backend"],
            registry=registry,
        )
        self.duration = Histogram(
            "stowage_request_duration_seconds",
            "Dashboard /api handler time.",
            ["method", "backend"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.response_bytes = Histogram(
            "stowage_response_bytes",
            "Dashboard /api response body bytes.",
            ["method", "backend"],
            buckets=BYTES_BUCKETS,
            registry=registry,
        )

    def observe(self, method: str, status: int, backend: str, seconds: float, nbytes: int) -> None:
        status_class = f"{status // 100}xx" if 100 <= status < 600 else "unknown"
        self.requests.labels(method, status_class, backend).inc()
        self.duration.labels(method, backend).observe(seconds)
        if nbytes > 0:
            self.response_bytes.labels(method, backend).observe(nbytes)
