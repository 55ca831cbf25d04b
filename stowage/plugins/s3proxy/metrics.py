"""The proxy's Prometheus metrics (MET-14…MET-24), registered on the Runtime's registry.

Label values are cached per combination: ``labels()`` costs a lock and a dict build per call,
which is measurable on the proxy's hot path.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["ProxyMetrics"]


class ProxyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "stowage_s3_request_total",
            "S3 proxy requests.",
            ["method", "operation", "status", "result", "auth_mode"],
            registry=registry,
        )
        self.duration = Histogram(
            "stowage_s3_request_duration_seconds", "End-to-end proxy time.", ["operation"], registry=registry
        )
        self.upstream_duration = Histogram(
            "stowage_s3_upstream_duration_seconds",
            "Time to upstream response headers.",
            ["operation"],
            registry=registry,
        )
        self.bytes_out = Counter(
            "stowage_s3_bytes_out_total", "Bytes streamed to clients.", ["operation"], registry=registry
        )
        self.bytes_in = Counter(
            "stowage_s3_bytes_in_total", "Bytes received from clients.", ["operation"], registry=registry
        )
        self.auth_failures = Counter(
            "stowage_s3_auth_failure_total", "Proxy authentication failures.", ["reason"], registry=registry
        )
        self.scope_violations = Counter(
            "stowage_s3_scope_violation_total", "Requests outside a credential's scope.", registry=registry
        )
        self.anonymous_requests = Counter(
            "stowage_s3_anonymous_request_total",
            "Forwarded anonymous requests.",
            ["operation", "status"],
            registry=registry,
        )
        self.anonymous_rejects = Counter(
            "stowage_s3_anonymous_reject_total", "Rejected anonymous requests.", ["reason"], registry=registry
        )
        self.inflight = Gauge("stowage_s3_inflight_requests", "In-flight proxy requests.", registry=registry)
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = metric.labels(*labels)
            self._children[key] = child
        return child

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
        self._child(self.requests, method, operation, str(status), result, auth_mode).inc()
        self._child(self.duration, operation).observe(seconds)
        if bytes_in:
            self._child(self.bytes_in, operation).inc(bytes_in)
        if bytes_out:
            self._child(self.bytes_out, operation).inc(bytes_out)

    def upstream(self, operation: str, seconds: float) -> None:
        self._child(self.upstream_duration, operation).observe(seconds)

    def auth_failure(self, reason: str) -> None:
        self._child(self.auth_failures, reason).inc()
