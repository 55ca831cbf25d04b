"""The admin overview: what a dashboard's front page draws, and the tap that feeds it requests.

The built-in ``overview`` plugin provides an :class:`OverviewService` under :data:`OVERVIEW`
(``GET /api/admin/dashboard`` renders it; a dashboard page calls it directly) and a
:class:`TrafficTap` under :data:`TRAFFIC`. Both listeners report each finished request to the tap
(the dashboard for ``/api/*``, the S3 proxy for every request): it keeps the per-bucket traffic
that Prometheus labels must not carry (bucket names are unbounded), hourly counts for a day, and
the latest server errors. Rates, bytes and latency percentiles come from the Runtime's own
Prometheus metrics, sampled into an in-memory ring of the last hour. Nothing is persisted: a
restart starts the overview afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from stowage.core.contracts.sizes import BucketSize
from stowage.core.kernel.services import ServiceKey

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = [
    "OVERVIEW",
    "TRAFFIC",
    "AuditStatus",
    "BackendStatus",
    "BucketTraffic",
    "HourCount",
    "Latency",
    "ListenerTraffic",
    "Overview",
    "OverviewService",
    "RecentError",
    "RequestRecord",
    "SeriesPoint",
    "TrafficTap",
    "traffic_tap",
]


# --- what the listeners report -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One finished request. ``listener`` is ``api`` (dashboard ``/api/*``) or ``s3`` (the proxy);
    ``path`` carries no query string; ``backend``/``bucket`` are empty when unknown or refused."""

    listener: str
    method: str
    path: str
    status: int
    backend: str = ""
    bucket: str = ""
    bytes_in: int = 0
    bytes_out: int = 0
    user_id: str = ""


class TrafficTap(Protocol):
    """``runtime.find(TRAFFIC)``: where listeners report finished requests (cheap, never blocks)."""

    def observe(self, record: RequestRecord) -> None: ...


# --- what the overview holds ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    """Percentiles (milliseconds) estimated from a histogram's buckets; None without requests."""

    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None


@dataclass(frozen=True, slots=True)
class ListenerTraffic:
    """One listener over the window: requests, 5xx ``errors``, 4xx ``rejected``, bytes, latency."""

    requests: int = 0
    errors: int = 0
    rejected: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    latency: Latency = field(default_factory=Latency)


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """What happened in the ``seconds`` before ``at`` (one sampling interval): chart material."""

    at: datetime
    seconds: float
    api_requests: int
    api_errors: int
    s3_requests: int
    s3_errors: int
    bytes_in: int
    bytes_out: int
    audit_queue_depth: int


@dataclass(frozen=True, slots=True)
class BucketTraffic:
    """Requests that named one bucket over the window, both listeners together."""

    backend_id: str
    bucket: str
    requests: int
    errors: int
    bytes_in: int
    bytes_out: int


@dataclass(frozen=True, slots=True)
class BackendStatus:
    """A backend's health as the registry's probes last saw it."""

    id: str
    name: str
    healthy: bool
    last_probe_at: datetime | None = None
    last_error: str = ""
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class AuditStatus:
    """The audit queue now, and events lost (in total and within the window)."""

    queue_depth: int
    dropped_total: int
    dropped_window: int


@dataclass(frozen=True, slots=True)
class HourCount:
    """Requests (and 5xx errors) in the hour starting at ``unix_hour * 3600``."""

    unix_hour: int
    requests: int
    errors: int


@dataclass(frozen=True, slots=True)
class RecentError:
    """A request answered with a 5xx status."""

    when: datetime
    listener: str
    method: str
    path: str
    status: int
    user_id: str = ""
    backend: str = ""


@dataclass(frozen=True, slots=True)
class Overview:
    """The admin overview at ``generated_at``; traffic figures cover the ``window_seconds`` before it."""

    generated_at: datetime
    started_at: datetime
    window_seconds: float
    sample_interval: float
    api: ListenerTraffic
    s3: ListenerTraffic
    series: tuple[SeriesPoint, ...]
    top_buckets: tuple[BucketTraffic, ...]
    backends: tuple[BackendStatus, ...]
    audit: AuditStatus
    database_bytes: int
    hourly: tuple[HourCount, ...]
    """The last 24 hours, oldest first (the current hour last)."""
    by_backend_24h: Mapping[str, int]
    recent_errors: tuple[RecentError, ...]
    """Newest first, at most 50."""
    storage: tuple[BucketSize, ...]
    """Known bucket sizes (size tracking and quota usage)."""


class OverviewService(Protocol):
    """``runtime.get(OVERVIEW)``: the admin overview, computed on each call from memory."""

    def overview(self) -> Overview: ...


OVERVIEW: ServiceKey[OverviewService] = ServiceKey("overview", provider="overview")
"""The admin overview, provided by the built-in ``overview`` plugin."""

TRAFFIC: ServiceKey[TrafficTap] = ServiceKey("overview.traffic", provider="overview")
"""Where listeners report finished requests; absent when the ``overview`` plugin is disabled."""


def traffic_tap(runtime: Runtime) -> TrafficTap | None:
    """The installed tap, or ``None`` when the overview plugin is disabled."""
    return runtime.find(TRAFFIC)
