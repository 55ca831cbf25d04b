"""JSON shapes of the audit admin routes, as published in the API document."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

__all__ = ["AuditEventView", "AuditPage", "AuditQuery", "ExportQuery"]


# Filters; ``from`` and ``to`` are RFC 3339 timestamps. The functional form, because ``from`` is
# a Python keyword and the field must be named as clients send it.
ExportQuery = TypedDict(
    "ExportQuery",
    {"action": str, "user": str, "backend": str, "bucket": str, "status": str, "from": str, "to": str},
    total=False,
)


class AuditQuery(ExportQuery, total=False):
    limit: int
    offset: int


class AuditEventView(TypedDict):
    """One event; empty fields are left out."""

    id: int
    timestamp: str
    action: str
    user_id: NotRequired[str]
    backend: NotRequired[str]
    bucket: NotRequired[str]
    key: NotRequired[str]
    request_id: NotRequired[str]
    ip: NotRequired[str]
    user_agent: NotRequired[str]
    status: str
    detail: NotRequired[str]  # the event's detail object, JSON-encoded as stored


class AuditPage(TypedDict):
    """Matching events newest first, with the total count."""

    events: list[AuditEventView]
    total: int
