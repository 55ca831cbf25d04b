"""Audit events, the recorder every feature writes into, and the audit store contract.

Features build an ``AuditEvent`` and hand it to ``recorder(runtime).record(event)``; recording
never blocks or fails a request. The built-in ``audit`` plugin provides the recorder (sampling
hook, bounded queue, batched writes, export hook); without it events go nowhere
(``NullRecorder``). Dashboard handlers use ``audit_request(...)``, which fills actor, request id,
address and agent.

Reading back: ``AuditFilter`` holds the audit API's filters (``AuditFilter.from_args`` parses query
parameters) and ``audit_repository(runtime)`` returns the store's ``AuditRepository``.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from stowage.core.formats.timefmt import parse_rfc3339, to_rfc3339, utcnow
from stowage.core.kernel.services import ServiceKey

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = [
    "AUDIT",
    "AuditEvent",
    "AuditFilter",
    "AuditRecorder",
    "AuditRepository",
    "NullRecorder",
    "audit_repository",
    "audit_request",
    "parse_bound",
    "recorder",
]

_DATE_ONLY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class AuditEvent:
    """One audit row. ``origin`` ("dashboard"/"proxy") and ``method`` feed sampling only."""

    action: str
    #: How the action ended: ``ok``, ``denied`` or ``error`` (not an HTTP status). Stored in the
    #: ``status`` column and sent as ``status`` by the audit API and CSV, the names the schema fixes.
    outcome: str = "ok"
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
        """The API/export shape: empty fields omitted, timestamp RFC 3339."""
        out: dict[str, Any] = {"id": self.id, "timestamp": to_rfc3339(self.ts), "action": self.action}
        for name in ("user_id", "backend", "bucket", "key", "request_id", "ip", "user_agent"):
            value = getattr(self, name)
            if value:
                out[name] = value
        out["status"] = self.outcome
        if self.detail:
            out["detail"] = self.detail_json()
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AuditRecorder(Protocol):
    """Accepts events without blocking; the implementation decides, queues and writes."""

    def record(self, event: AuditEvent) -> None: ...

    async def flush(self) -> None: ...


def drops_without_looking(recorder: AuditRecorder, *, origin: str, method: str, outcome: str) -> bool:
    """True when ``recorder`` would discard such an event whatever else it holds.

    Lets a hot path (the proxy) skip building events that sampling throws away; recorders that
    cannot tell answer False (``skips`` is optional).
    """
    skips = getattr(recorder, "skips", None)
    return bool(skips(origin=origin, method=method, outcome=outcome)) if skips is not None else False


class NullRecorder:
    """Used when the audit plugin is disabled: events are discarded."""

    def record(self, event: AuditEvent) -> None:
        return None

    async def flush(self) -> None:
        return None


def parse_bound(text: str, *, end: bool) -> datetime | None:
    """Parse a ``from``/``to`` filter value; ``None`` when empty or unparsable.

    RFC 3339 is taken as is. A date-only ``YYYY-MM-DD`` (UTC) means the start of that day, or for
    ``end=True`` its last microsecond, so ``to=2026-04-01`` includes the whole day.
    """
    # A literal "+" in a query string decodes to a space; RFC 3339 has no spaces, so put it back.
    text = text.strip().replace(" ", "+")
    if not text:
        return None
    try:
        return parse_rfc3339(text)
    except ValueError:
        pass
    m = _DATE_ONLY.fullmatch(text)
    if m is None:
        return None
    try:
        start = datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
    except ValueError:
        return None
    return start + timedelta(days=1, microseconds=-1) if end else start


@dataclass(frozen=True)
class AuditFilter:
    """The audit API's filters; an empty string or ``None`` matches anything.

    ``user``, ``backend``, ``bucket`` and ``outcome`` (query parameter ``status``) match exactly;
    ``action`` is a prefix (``share.`` matches every share action); ``since``/``until`` are inclusive bounds.
    """

    user: str = ""
    action: str = ""
    backend: str = ""
    bucket: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AuditFilter:
        """Build from query parameters (``user, action, backend, bucket, status, from, to``)."""
        return cls(
            user=args.get("user", ""),
            action=args.get("action", ""),
            backend=args.get("backend", ""),
            bucket=args.get("bucket", ""),
            outcome=args.get("status", ""),
            since=parse_bound(args.get("from", ""), end=False),
            until=parse_bound(args.get("to", ""), end=True),
        )


class AuditRepository(Protocol):
    """The store's audit area (``runtime.store.audit``); newest first means (ts desc, id desc)."""

    async def insert_batch(self, events: Sequence[AuditEvent], *, want_ids: bool = True) -> list[int]:
        """Insert ``events`` in one transaction; return their new ids in order (``[]`` if not wanted)."""
        ...

    async def query(self, filters: AuditFilter, limit: int, offset: int) -> tuple[list[AuditEvent], int]:
        """One page of matching events, newest first, and the total count matching ``filters``."""
        ...

    def iter_rows(self, filters: AuditFilter, *, limit: int | None = None) -> AsyncIterator[AuditEvent]:
        """Every matching event (at most ``limit``), newest first, in constant memory."""
        ...


def audit_repository(runtime: Runtime) -> AuditRepository:
    """The audit area of the Runtime's store."""
    return runtime.store.audit


AUDIT: ServiceKey[AuditRecorder] = ServiceKey("audit", provider="audit")
"""The audit recorder, provided by the built-in ``audit`` plugin (``recorder()`` falls back to a no-op)."""


def recorder(runtime: Runtime) -> AuditRecorder:
    """The Runtime's recorder (a ``NullRecorder`` when none is installed)."""
    found = runtime.find(AUDIT)
    return found if found is not None else NullRecorder()


def audit_request(
    action: str,
    *,
    outcome: str = "ok",
    backend: str = "",
    bucket: str = "",
    key: str = "",
    detail: dict[str, Any] | None = None,
    user_id: str | None = None,
) -> None:
    """Record a dashboard event for the current request, filling actor, ids, address and agent."""
    from quart import request

    from stowage.core.web.authz import optional_identity
    from stowage.core.web.request_context import client_ip, current_runtime, request_id

    identity = optional_identity()
    event = AuditEvent(
        action=action,
        outcome=outcome,
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
