"""The proxy's Prometheus metrics (``stowage_s3_*``), kept as plain counters and rendered at scrape time.

The proxy records several samples per request. prometheus-client's children take a lock and
walk label dictionaries on every ``inc``/``observe`` (measured at ~20 µs per request here), so
the proxy accumulates into dicts keyed by label tuples and a ``Collector`` turns them into metric
families when ``/metrics`` is scraped. Single event loop: no locking needed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["ProxyMetrics"]

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


class _Histogram:
    """Cumulative-on-render histogram per label value."""

    __slots__ = ("bounds", "series")

    def __init__(self, bounds: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.series: dict[str, list[float]] = {}  # label -> [count per bucket..., +Inf count, sum]

    def observe(self, label: str, value: float) -> None:
        row = self.series.get(label)
        if row is None:
            row = self.series[label] = [0.0] * (len(self.bounds) + 2)
        row[bisect_left(self.bounds, value)] += 1
        row[-1] += value

    def family(self, name: str, documentation: str, label_name: str) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, documentation, labels=[label_name])
        for label, row in self.series.items():
            cumulative, buckets = 0.0, []
            for bound, count in zip((*self.bounds, float("inf")), row[:-1], strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            family.add_metric([label], buckets, row[-1])
        return family


class ProxyMetrics(Collector):
    """All proxy metrics; registered once on the Runtime's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests: dict[tuple[str, str, str, str, str], int] = {}
        self.bytes_in: dict[str, int] = {}
        self.bytes_out: dict[str, int] = {}
        self.auth_failures: dict[str, int] = {}
        self.scope_violations = 0
        self.anonymous_requests: dict[tuple[str, str], int] = {}
        self.anonymous_rejects: dict[str, int] = {}
        self.inflight = 0
        self.duration = _Histogram()
        self.upstream_duration = _Histogram()
        registry.register(self)

    # --- recording (hot path) -----------------------------------------------------------------

    def observe(
        self,
        *,
        method: str,
        operation: str,
        status: int,
        result: str,
        auth_mode: str,
        seconds: float,
        bytes_in: int,
        bytes_out: int,
    ) -> None:
        """Record one finished request."""
        key = (method, operation, str(status), result, auth_mode)
        self.requests[key] = self.requests.get(key, 0) + 1
        self.duration.observe(operation, seconds)
        if bytes_in:
            self.bytes_in[operation] = self.bytes_in.get(operation, 0) + bytes_in
        if bytes_out:
            self.bytes_out[operation] = self.bytes_out.get(operation, 0) + bytes_out

    def upstream(self, operation: str, seconds: float) -> None:
        self.upstream_duration.observe(operation, seconds)

    def auth_failure(self, reason: str) -> None:
        self.auth_failures[reason] = self.auth_failures.get(reason, 0) + 1

    def scope_violation(self) -> None:
        self.scope_violations += 1

    def anonymous_request(self, operation: str, status: int) -> None:
        key = (operation, str(status))
        self.anonymous_requests[key] = self.anonymous_requests.get(key, 0) + 1

    def anonymous_reject(self, reason: str) -> None:
        self.anonymous_rejects[reason] = self.anonymous_rejects.get(reason, 0) + 1

    # --- exposition (scrape time) -------------------------------------------------------------

    def describe(self) -> Iterator[Metric]:
        return iter(())  # families are built at scrape time only

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "stowage_s3_request",
            "S3 proxy requests.",
            labels=["method", "operation", "status", "result", "auth_mode"],
        )
        for labels, count in self.requests.items():
            requests.add_metric(list(labels), count)
        yield requests
        yield self.duration.family(
            "stowage_s3_request_duration_seconds", "End-to-end proxy time.", "operation"
        )
        yield self.upstream_duration.family(
            "stowage_s3_upstream_duration_seconds", "Time to upstream response headers.", "operation"
        )
        yield _counter("stowage_s3_bytes_out", "Bytes streamed to clients.", "operation", self.bytes_out)
        yield _counter("stowage_s3_bytes_in", "Bytes received from clients.", "operation", self.bytes_in)
        yield _counter(
            "stowage_s3_auth_failure", "Proxy authentication failures.", "reason", self.auth_failures
        )
        yield CounterMetricFamily(
            "stowage_s3_scope_violation",
            "Requests outside a credential's scope.",
            value=self.scope_violations,
        )
        anonymous = CounterMetricFamily(
            "stowage_s3_anonymous_request", "Forwarded anonymous requests.", labels=["operation", "status"]
        )
        for pair, count in self.anonymous_requests.items():
            anonymous.add_metric(list(pair), count)
        yield anonymous
        yield _counter(
            "stowage_s3_anonymous_reject", "Rejected anonymous requests.", "reason", self.anonymous_rejects
        )
        yield GaugeMetricFamily(
            "stowage_s3_inflight_requests", "In-flight proxy requests.", value=self.inflight
        )


def _counter(name: str, documentation: str, label: str, values: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in values.items():
        family.add_metric([value], count)
    return family
