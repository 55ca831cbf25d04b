"""Audit events and the recorder interface every feature writes into (AUDIT-1, AUDIT-2, AUDIT-8).

Features build an ``AuditEvent`` and hand it to ``runtime.audit.record(event)``; recording never
blocks or fails a request. The built-in ``audit`` plugin provides the recorder (sampling hook,
bounded queue, batched writes, export hook); without it events go nowhere (``NullRecorder``).
Dashboard handlers use ``audit_request(...)``, which fills actor, request id, address and agent.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from stowage.core.timefmt import to_rfc3339, utcnow

if TYPE_CHECKING:
    from stowage.core.runtime import Runtime

__all__ = ["AuditEvent", "AuditRecorder", "NullRecorder", "audit_request", "recorder"]


@dataclass(frozen=True)
class AuditEvent:
    """One audit row. ``origin`` ("dashboard"/"proxy") and ``method`` feed sampling only."""

    action: str
    status: str = "ok"  # ok | denied | error
    user_id: str = ""
    backend: str = ""
    bucket: str = ""
    key: str = ""
    request_id: str = ""
    ip: str = ""
    user_agent: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    ts: datetime = field(default_factory=utcnow)
    origin: str = "dashboard"
    method: str = ""
    id: int | None = None

    def with_id(self, event_id: int) -> AuditEvent:
        return replace(self, id=event_id)

    def detail_json(self) -> str | None:
        return json.dumps(self.detail, separators=(",", ":"), sort_keys=True) if self.detail else None

    def to_json(self) -> dict[str, Any]:
        """The API/export shape (AUDIT-6): empty fields omitted, timestamp RFC 3339."""
        out: dict[str, Any] = {"id": self.id, "timestamp": to_rfc3339(self.ts), "action": self.action}
        for name in ("user_id", "backend", "bucket", "key", "request_id", "ip", "user_agent"):
            value = getattr(self, name)
            if value:
                out[name] = value
        out["status"] = self.status
        if self.detail:
            out["detail"] = self.detail_json()
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AuditRecorder(Protocol):
    """Accepts events without blocking; the implementation decides, queues and writes."""

    def record(self, event: AuditEvent) -> None: ...

    async def flush(self) -> None: ...


class NullRecorder:
    """Used when the audit plugin is disabled: events are discarded."""

    def record(self, event: AuditEvent) -> None:
        return None

    async def flush(self) -> None:
        return None


def recorder(runtime: Runtime) -> AuditRecorder:
    """The Runtime's recorder (a ``NullRecorder`` when none is installed)."""
    found = runtime.services.get("audit")
    return found if found is not None else NullRecorder()  # type: ignore[no-any-return]


def audit_request(
    action: str,
    *,
    status: str = "ok",
    backend: str = "",
    bucket: str = "",
    key: str = "",
    detail: dict[str, Any] | None = None,
    user_id: str | None = None,
) -> None:
    """Record a dashboard event for the current request, filling actor, ids, address and agent."""
    from quart import request

    from stowage.core.authz import optional_identity
    from stowage.core.web import client_ip, current_runtime, request_id

    identity = optional_identity()
    event = AuditEvent(
        action=action,
        status=status,
        user_id=user_id if user_id is not None else (identity.user_id if identity else ""),
        backend=backend,
        bucket=bucket,
        key=key,
        request_id=request_id(),
        ip=client_ip(),
        user_agent=request.headers.get("User-Agent", ""),
        detail=dict(detail or {}),
        method=request.method,
    )
    recorder(current_runtime()).record(event)
