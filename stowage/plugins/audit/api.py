"""Admin routes: ``GET /api/admin/audit`` (a JSON page) and ``GET /api/admin/audit.csv`` (a stream).

Also the dashboard side of ``audit.durability: sync``: every dashboard response waits until the
audit events recorded so far are committed (the proxy does the same in its own pipeline).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_querystring, document_response

from stowage.core.contracts.audit import AuditFilter, audit_repository, recorder
from stowage.core.formats.timefmt import utcnow
from stowage.core.openapi import raw_response
from stowage.core.web.authz import requires
from stowage.core.web.request_context import current_runtime
from stowage.plugins.audit import dto
from stowage.plugins.audit.csvexport import csv_chunks, export_filename

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "blueprint"]

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000

blueprint = Blueprint("audit", __name__)


@blueprint.after_app_request
async def _wait_for_audit(response: Response) -> Response:
    """With ``audit.durability: sync``, answer only once this request's audit events are committed."""
    runtime = current_runtime()
    if runtime.settings.audit.durability == "sync":
        await recorder(runtime).flush()
    return response


SQLITE_MAX_INT = 2**63 - 1


def _int_arg(name: str) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return None  # absent or unparsable: the caller's default applies


def page_limit(value: int | None) -> int:
    """The page size: default 200; anything above 1000, zero or negative falls back to 200."""
    return value if value is not None and 0 < value <= MAX_LIMIT else DEFAULT_LIMIT


@blueprint.get("/api/admin/audit")
@document_querystring(dto.AuditQuery)
@document_response(dto.AuditPage)
@requires("admin")
async def list_events() -> Any:
    """Matching events newest first (ts desc, id desc) with the total count."""
    filters = AuditFilter.from_args(request.args)
    # Past SQLite's integer range there is nothing to skip to: the page is simply empty.
    offset = min(max(_int_arg("offset") or 0, 0), SQLITE_MAX_INT)
    events, total = await audit_repository(current_runtime()).query(
        filters, page_limit(_int_arg("limit")), offset
    )
    return jsonify({"events": [event.to_json() for event in events], "total": total})


@blueprint.get("/api/admin/audit.csv")
@document_querystring(dto.ExportQuery)
@raw_response("text/csv", 200, "Matching events as CSV.")
@requires("admin")
async def export_csv() -> Response:
    """Every matching event as CSV, streamed page by page.

    Unlike the original (at most 1000 rows), there is no cap: an explicit positive ``limit``
    caps the rows, and without one every matching row is streamed.
    """
    filters = AuditFilter.from_args(request.args)
    limit = _int_arg("limit")
    cap = limit if limit is not None and limit > 0 else None
    # Bind everything now: the body is produced after the handler returns, outside the request.
    rows = audit_repository(current_runtime()).iter_rows(filters, limit=cap)
    response = Response(csv_chunks(rows), status=200, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{export_filename(utcnow())}"'
    response.headers["Cache-Control"] = "no-store"
    return response
