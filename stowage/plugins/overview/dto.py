"""The JSON shape of ``GET /api/admin/dashboard`` and the function that renders an ``Overview``.

``requests`` and ``storage`` keep the original's field names (a client written for it reads them
unchanged); the other sections are ours.
"""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict

from stowage.core.contracts.overview import ListenerTraffic, Overview
from stowage.core.formats.timefmt import to_rfc3339

__all__ = ["CACHE_NOTE", "DashboardView", "overview_json"]

CACHE_NOTE = (
    "sizes come from size tracking and quota usage, counted by listing buckets at start-up and every"
    " quotas.scan_interval; a bucket not counted yet is missing"
)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 3) if seconds > 0 else 0.0


def _traffic(traffic: ListenerTraffic, seconds: float) -> dict[str, Any]:
    return {
        "requests": traffic.requests,
        "errors": traffic.errors,
        "rejected": traffic.rejected,
        "requests_per_second": _rate(traffic.requests, seconds),
        "error_rate": round(traffic.errors / traffic.requests, 4) if traffic.requests else 0.0,
        "bytes_in": traffic.bytes_in,
        "bytes_out": traffic.bytes_out,
        "latency_ms": {
            "p50": traffic.latency.p50_ms,
            "p90": traffic.latency.p90_ms,
            "p99": traffic.latency.p99_ms,
        },
    }


def _storage(overview: Overview) -> dict[str, Any]:
    by_backend: dict[str, dict[str, Any]] = {}
    for size in overview.storage:
        entry = by_backend.setdefault(
            size.backend_id, {"backend_id": size.backend_id, "bytes": 0, "objects": 0, "buckets": 0}
        )
        entry["bytes"] += size.bytes
        entry["objects"] += size.objects
        entry["buckets"] += 1
    top = sorted(overview.storage, key=lambda s: (-s.bytes, s.backend_id, s.bucket))[:10]
    return {
        "by_backend": [by_backend[key] for key in sorted(by_backend)],
        "top_buckets": [
            {
                "backend_id": s.backend_id,
                "bucket": s.bucket,
                "bytes": s.bytes,
                "objects": s.objects,
                "computed_at": to_rfc3339(s.computed_at),
            }
            for s in top
        ],
        "cache_note": CACHE_NOTE,
    }


def overview_json(overview: Overview) -> dict[str, Any]:
    """The route's body (the shape of :class:`DashboardView`)."""
    seconds = overview.window_seconds
    requests_24h = sum(hour.requests for hour in overview.hourly)
    return {
        "generated_at": to_rfc3339(overview.generated_at),
        "started_at": to_rfc3339(overview.started_at),
        "window_seconds": seconds,
        "sample_interval_seconds": overview.sample_interval,
        "traffic": {"api": _traffic(overview.api, seconds), "s3": _traffic(overview.s3, seconds)},
        "series": [
            {
                "at": to_rfc3339(point.at),
                "seconds": point.seconds,
                "api_requests": point.api_requests,
                "api_errors": point.api_errors,
                "s3_requests": point.s3_requests,
                "s3_errors": point.s3_errors,
                "bytes_in": point.bytes_in,
                "bytes_out": point.bytes_out,
                "audit_queue_depth": point.audit_queue_depth,
            }
            for point in overview.series
        ],
        "top_buckets": [
            {
                "backend_id": b.backend_id,
                "bucket": b.bucket,
                "requests": b.requests,
                "errors": b.errors,
                "bytes_in": b.bytes_in,
                "bytes_out": b.bytes_out,
            }
            for b in overview.top_buckets
        ],
        "backends": [
            {
                "id": b.id,
                "name": b.name,
                "healthy": b.healthy,
                "latency_ms": b.latency_ms,
                **({"last_probe_at": to_rfc3339(b.last_probe_at)} if b.last_probe_at else {}),
                **({"last_error": b.last_error} if b.last_error else {}),
            }
            for b in overview.backends
        ],
        "audit": {
            "queue_depth": overview.audit.queue_depth,
            "dropped_total": overview.audit.dropped_total,
            "dropped_in_window": overview.audit.dropped_window,
        },
        "database": {"bytes": overview.database_bytes},
        "requests": {
            "total_24h": requests_24h,
            "errors_24h": sum(hour.errors for hour in overview.hourly),
            "hourly": [
                {"unix_hour": h.unix_hour, "requests": h.requests, "errors": h.errors}
                for h in overview.hourly
            ],
            "by_backend": dict(overview.by_backend_24h),
            "recent_errors": [
                {
                    "when": to_rfc3339(e.when),
                    "listener": e.listener,
                    "path": e.path,
                    "method": e.method,
                    "status": e.status,
                    **({"user_id": e.user_id} if e.user_id else {}),
                    **({"backend": e.backend} if e.backend else {}),
                }
                for e in overview.recent_errors
            ],
        },
        "storage": _storage(overview),
    }


# --- the same shape as types, for the published API document -------------------------------------


class LatencyView(TypedDict):
    """Percentiles in milliseconds, estimated from histogram buckets; null without requests."""

    p50: float | None
    p90: float | None
    p99: float | None


class TrafficView(TypedDict):
    """One listener over the window: 5xx are ``errors``, 4xx ``rejected``."""

    requests: int
    errors: int
    rejected: int
    requests_per_second: float
    error_rate: float
    bytes_in: int
    bytes_out: int
    latency_ms: LatencyView


class TrafficPair(TypedDict):
    api: TrafficView
    s3: TrafficView


class SeriesPointView(TypedDict):
    """What happened in the ``seconds`` before ``at``."""

    at: str
    seconds: float
    api_requests: int
    api_errors: int
    s3_requests: int
    s3_errors: int
    bytes_in: int
    bytes_out: int
    audit_queue_depth: int


class BucketTrafficView(TypedDict):
    backend_id: str
    bucket: str
    requests: int
    errors: int
    bytes_in: int
    bytes_out: int


class BackendStatusView(TypedDict):
    id: str
    name: str
    healthy: bool
    latency_ms: float | None
    last_probe_at: NotRequired[str]
    last_error: NotRequired[str]


class AuditView(TypedDict):
    queue_depth: int
    dropped_total: int
    dropped_in_window: int


class DatabaseView(TypedDict):
    bytes: int


class HourView(TypedDict):
    unix_hour: int
    requests: int
    errors: int


class RecentErrorView(TypedDict):
    when: str
    listener: str
    path: str
    method: str
    status: int
    user_id: NotRequired[str]
    backend: NotRequired[str]


class RequestsView(TypedDict):
    """The original's request figures: the last 24 hours, both listeners."""

    total_24h: int
    errors_24h: int
    hourly: list[HourView]
    by_backend: dict[str, int]
    recent_errors: list[RecentErrorView]


class BackendStorageView(TypedDict):
    backend_id: str
    bytes: int
    objects: int
    buckets: int


class BucketStorageView(TypedDict):
    backend_id: str
    bucket: str
    bytes: int
    objects: int
    computed_at: str


class StorageView(TypedDict):
    """The original's storage figures, from known bucket sizes."""

    by_backend: list[BackendStorageView]
    top_buckets: list[BucketStorageView]
    cache_note: str


class DashboardView(TypedDict):
    """The admin overview: traffic over the last hour (or since start-up), charts, health, storage."""

    generated_at: str
    started_at: str
    window_seconds: float
    sample_interval_seconds: float
    traffic: TrafficPair
    series: list[SeriesPointView]
    top_buckets: list[BucketTrafficView]
    backends: list[BackendStatusView]
    audit: AuditView
    database: DatabaseView
    requests: RequestsView
    storage: StorageView
