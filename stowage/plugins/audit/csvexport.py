"""CSV rendering of audit events for ``/api/admin/audit.csv``: quoting, formula guard, chunking."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime

from stowage.core.contracts.audit import AuditEvent
from stowage.core.formats.timefmt import to_rfc3339

__all__ = ["HEADER", "ROWS_PER_CHUNK", "csv_chunks", "export_filename", "guard", "row_cells"]

HEADER = (
    "id",
    "timestamp",
    "user_id",
    "action",
    "backend",
    "bucket",
    "key",
    "request_id",
    "ip",
    "user_agent",
    "status",
    "detail",
)
#: Rows rendered into one response chunk: few enough that a chunk is small, many enough that the
#: per-chunk overhead (one ``send`` per chunk) stays negligible.
ROWS_PER_CHUNK = 500
# Spreadsheets evaluate a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guard(cell: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would read as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def row_cells(event: AuditEvent) -> list[str]:
    """One CSV row in ``HEADER`` order; every cell passes the formula guard."""
    cells = [
        str(event.id if event.id is not None else ""),
        to_rfc3339(event.ts),
        event.user_id,
        event.action,
        event.backend,
        event.bucket,
        event.key,
        event.request_id,
        event.ip,
        event.user_agent,
        event.outcome,
        event.detail_json() or "",
    ]
    return [guard(cell) for cell in cells]


def _render(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180 line ends, minimal quoting
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def csv_chunks(
    events: AsyncIterable[AuditEvent], rows_per_chunk: int = ROWS_PER_CHUNK
) -> AsyncIterator[bytes]:
    """The header row, then the events as CSV, ``rows_per_chunk`` rows per yielded chunk."""
    yield _render([list(HEADER)])
    rows: list[list[str]] = []
    async for event in events:
        rows.append(row_cells(event))
        if len(rows) >= rows_per_chunk:
            yield _render(rows)
            rows = []
    if rows:
        yield _render(rows)


def export_filename(now: datetime) -> str:
    """``audit-YYYYMMDD-HHMMSS.csv`` for the (UTC) time of the download."""
    return f"audit-{now:%Y%m%d-%H%M%S}.csv"
