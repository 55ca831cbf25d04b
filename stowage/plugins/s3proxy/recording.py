"""``RequestRecorder``: what the proxy remembers of a finished request — metrics, the overview's
traffic tap, log line, audit event.

The responder calls :meth:`RequestRecorder.record` exactly once per request, before the client can
see the response end; ``audit.durability: sync`` additionally makes it wait for
:meth:`RequestRecorder.committed` before the last bytes leave.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

from stowage.core.contracts.audit import AuditEvent, drops_without_looking, recorder
from stowage.core.contracts.overview import RequestRecord, traffic_tap

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.s3proxy.metrics import ProxyMetrics
    from stowage.plugins.s3proxy.request import ProxyRequest

__all__ = ["RequestRecorder"]

log = logging.getLogger("stowage.s3proxy")

_REDACT = re.compile(
    r"((?:X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId)=)[^&]*", re.IGNORECASE
)


class RequestRecorder:
    """Metrics, the log line of failed requests, and the audit event; one per proxy app."""

    def __init__(self, runtime: Runtime, metrics: ProxyMetrics) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.audit_sync = runtime.settings.audit.durability == "sync"
        """``audit.durability: sync``: a response ends only once its audit event is committed."""

    async def committed(self) -> None:
        """Wait until the audit events recorded so far (this request's included) are committed."""
        await recorder(self.runtime).flush()

    def record(self, req: ProxyRequest) -> None:
        status = req.status or 499  # no response was sent: the client went away
        seconds = time.perf_counter() - req.started
        operation = req.operation
        self.metrics.observe(
            method=req.method,
            operation=operation,
            status=status,
            result=req.result,
            auth_mode=req.auth_mode,
            seconds=seconds,
            bytes_in=req.bytes_in,
            bytes_out=req.bytes_out,
        )
        tap = traffic_tap(self.runtime)
        if tap is not None:  # the admin overview's per-bucket, hourly and error figures
            tap.observe(
                RequestRecord(
                    listener="s3",
                    method=req.method,
                    path=req.scope.get("path", ""),
                    status=status,
                    backend=req.backend_id,
                    bucket=req.bucket if req.backend_id else "",
                    bytes_in=req.bytes_in,
                    bytes_out=req.bytes_out,
                    user_id=req.credential.user_id if req.credential is not None else "",
                )
            )
        if status >= 400 and log.isEnabledFor(logging.INFO):
            path = _REDACT.sub(
                r"\1REDACTED", req.scope.get("path", "") + "?" + req.raw_query.decode("latin-1")
            )
            log.info(
                "s3 request",
                extra={
                    "method": req.method,
                    "host": req.headers_by_name.get(b"host", b"").decode("latin-1"),
                    "path": path.rstrip("?"),
                    "status": status,
                    "operation": operation,
                    "result": req.result,
                    "auth_mode": req.auth_mode,
                    "latency_ms": round(seconds * 1000, 3),
                    "request_id": req.request_id,
                },
            )
        if req.skip_audit:
            return
        audit = recorder(self.runtime)
        outcome = "ok" if status < 400 else ("denied" if status < 500 else "error")
        if drops_without_looking(audit, origin="proxy", method=req.method, outcome=outcome):
            return  # sampled out for certain: don't build the event
        detail: dict[str, Any] = {"auth_mode": req.auth_mode, "result": req.result}
        if req.access_key:
            detail["access_key"] = req.access_key
        if req.credential is not None:
            detail["source"] = req.credential.source
        elif req.auth_mode == "anonymous":
            detail["source"] = "anonymous"
        audit.record(
            AuditEvent(
                action="s3.proxy." + operation.lower(),
                outcome=outcome,
                backend=req.backend_id,
                bucket=req.bucket,
                key=req.key,
                request_id=req.request_id,
                ip=req.client_ip,
                user_agent=req.user_agent,
                detail=detail,
                origin="proxy",
                method=req.method,
            )
        )
