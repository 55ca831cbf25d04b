"""``MetricSample``: one reading of the Runtime's Prometheus registry, reduced to what the overview
charts, and the arithmetic between two readings (deltas and latency percentiles).

Counters are cumulative since start-up (one registry per Runtime, never reset), so what happened
between two readings is their difference. Histograms are kept as cumulative bucket counts summed
over every label set; percentiles are interpolated inside the bucket that holds the rank, the
way Prometheus's ``histogram_quantile`` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from stowage.core.contracts.overview import Latency, ListenerTraffic

__all__ = ["Histogram", "MetricSample", "between", "delta", "quantile", "read_sample"]

Histogram = tuple[tuple[float, float], ...]
"""``(upper bound, cumulative count)`` pairs in increasing bound order, ``inf`` last."""


@dataclass(frozen=True, slots=True)
class MetricSample:
    """Cumulative figures at ``at`` (unix seconds); gauges are their value at that moment."""

    at: float
    api_requests: float = 0
    api_errors: float = 0
    api_rejected: float = 0
    api_bytes_in: float = 0
    api_bytes_out: float = 0
    api_latency: Histogram = ()
    s3_requests: float = 0
    s3_errors: float = 0
    s3_rejected: float = 0
    s3_bytes_in: float = 0
    s3_bytes_out: float = 0
    s3_latency: Histogram = ()
    audit_queue_depth: float = 0
    audit_dropped: float = 0
    db_bytes: float = 0


class _Reading:
    """Accumulates one pass over the registry's samples."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.buckets: dict[str, dict[float, float]] = {"api": {}, "s3": {}}

    def add(self, name: str, value: float) -> None:
        self.sums[name] = self.sums.get(name, 0.0) + value

    def bucket(self, which: str, le: str, value: float) -> None:
        bound = math.inf if le == "+Inf" else float(le)
        counts = self.buckets[which]
        counts[bound] = counts.get(bound, 0.0) + value

    def histogram(self, which: str) -> Histogram:
        return tuple(sorted(self.buckets[which].items()))


def _status(labels: Mapping[str, str]) -> int:
    text = labels.get("status", "")
    return int(text) if text.isdigit() else 0


def read_sample(registry: CollectorRegistry, at: float, api_bytes_in: float = 0) -> MetricSample:
    """Read ``registry`` now. ``api_bytes_in``: dashboard request bytes, which no metric counts."""
    reading = _Reading()
    for family in registry.collect():
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, float(sample.value)
            if name == "stowage_requests_total":
                reading.add("api_requests", value)
                status_class = labels.get("status_class", "")
                if status_class == "5xx":
                    reading.add("api_errors", value)
                elif status_class == "4xx":
                    reading.add("api_rejected", value)
            elif name == "stowage_s3_request_total":
                reading.add("s3_requests", value)
                status = _status(labels)
                if status >= 500:
                    reading.add("s3_errors", value)
                elif status >= 400:
                    reading.add("s3_rejected", value)
            elif name == "stowage_request_duration_seconds_bucket":
                reading.bucket("api", labels.get("le", "+Inf"), value)
            elif name == "stowage_s3_request_duration_seconds_bucket":
                reading.bucket("s3", labels.get("le", "+Inf"), value)
            elif name in _PLAIN:
                reading.add(_PLAIN[name], value)
    sums = reading.sums
    return MetricSample(
        at=at,
        api_requests=sums.get("api_requests", 0),
        api_errors=sums.get("api_errors", 0),
        api_rejected=sums.get("api_rejected", 0),
        api_bytes_in=api_bytes_in,
        api_bytes_out=sums.get("api_bytes_out", 0),
        api_latency=reading.histogram("api"),
        s3_requests=sums.get("s3_requests", 0),
        s3_errors=sums.get("s3_errors", 0),
        s3_rejected=sums.get("s3_rejected", 0),
        s3_bytes_in=sums.get("s3_bytes_in", 0),
        s3_bytes_out=sums.get("s3_bytes_out", 0),
        s3_latency=reading.histogram("s3"),
        audit_queue_depth=sums.get("audit_queue_depth", 0),
        audit_dropped=sums.get("audit_dropped", 0),
        db_bytes=sums.get("db_bytes", 0),
    )


# Sample name → field, for metrics that are simply summed over their labels.
_PLAIN = {
    "stowage_response_bytes_sum": "api_bytes_out",
    "stowage_s3_bytes_in_total": "s3_bytes_in",
    "stowage_s3_bytes_out_total": "s3_bytes_out",
    "stowage_audit_queue_depth": "audit_queue_depth",
    "stowage_audit_dropped_total": "audit_dropped",
    "stowage_sqlite_db_bytes": "db_bytes",
}


def delta(new: float, old: float) -> int:
    """How much a cumulative figure grew (never negative)."""
    return max(0, round(new - old))


def _histogram_delta(new: Histogram, old: Histogram) -> Histogram:
    before = dict(old)
    return tuple((bound, max(0.0, count - before.get(bound, 0.0))) for bound, count in new)


def quantile(q: float, histogram: Histogram) -> float | None:
    """The ``q`` quantile (seconds) of a cumulative histogram; None when it counted nothing.

    Linear interpolation inside the bucket holding the rank (the first bucket starts at 0); a rank
    in the ``+Inf`` bucket answers the highest finite bound, as nothing more is known.
    """
    if not histogram or histogram[-1][1] <= 0:
        return None
    rank = q * histogram[-1][1]
    lower, below = 0.0, 0.0
    for bound, cumulative in histogram:
        if cumulative >= rank:
            if math.isinf(bound):
                return lower
            inside = cumulative - below
            return bound if inside <= 0 else lower + (bound - lower) * (rank - below) / inside
        lower, below = bound, cumulative
    return lower


def _latency(histogram: Histogram) -> Latency:
    def ms(q: float) -> float | None:
        value = quantile(q, histogram)
        return None if value is None else round(value * 1000, 3)

    return Latency(ms(0.5), ms(0.9), ms(0.99))


def between(old: MetricSample, new: MetricSample) -> tuple[ListenerTraffic, ListenerTraffic]:
    """What each listener (dashboard API, S3 proxy) did from ``old`` to ``new``."""
    api = ListenerTraffic(
        requests=delta(new.api_requests, old.api_requests),
        errors=delta(new.api_errors, old.api_errors),
        rejected=delta(new.api_rejected, old.api_rejected),
        bytes_in=delta(new.api_bytes_in, old.api_bytes_in),
        bytes_out=delta(new.api_bytes_out, old.api_bytes_out),
        latency=_latency(_histogram_delta(new.api_latency, old.api_latency)),
    )
    s3 = ListenerTraffic(
        requests=delta(new.s3_requests, old.s3_requests),
        errors=delta(new.s3_errors, old.s3_errors),
        rejected=delta(new.s3_rejected, old.s3_rejected),
        bytes_in=delta(new.s3_bytes_in, old.s3_bytes_in),
        bytes_out=delta(new.s3_bytes_out, old.s3_bytes_out),
        latency=_latency(_histogram_delta(new.s3_latency, old.s3_latency)),
    )
    return api, s3
