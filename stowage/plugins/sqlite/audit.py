"""The ``audit_events`` area: batched inserts, filtered pages, and a keyset-paginated stream."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, LiteralString

from stowage.core.contracts.audit import AuditEvent, AuditFilter
from stowage.core.contracts.store import Database, Row
from stowage.core.formats.timefmt import format_ts, parse_ts

if TYPE_CHECKING:
    from stowage.plugins.sqlite.store import SqliteStore

__all__ = ["PAGE_SIZE", "SqliteAuditRepository"]

#: Rows fetched per keyset page by ``iter_rows``: large enough to amortise a query, small
#: enough that one page is a few hundred kilobytes.
PAGE_SIZE = 500

_COLUMNS: LiteralString = (
    "id, ts, user_id, action, backend_id, bucket, object_key, request_id, ip, user_agent, status, detail"
)
_INSERT: LiteralString = (
    "INSERT INTO audit_events (ts, user_id, action, backend_id, bucket, object_key, request_id,"
    " ip, user_agent, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ORDER: LiteralString = " ORDER BY ts DESC, id DESC"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _null(value: str) -> str | None:
    return value or None  # empty strings are stored as NULL, so filters and exports see one absent value


def _params(event: AuditEvent) -> tuple[Any, ...]:
    return (
        format_ts(event.ts),
        _null(event.user_id),
        event.action,
        _null(event.backend),
        _null(event.bucket),
        _null(event.key),
        _null(event.request_id),
        _null(event.ip),
        _null(event.user_agent),
        event.outcome or "ok",
        event.detail_json(),
    )


def _detail(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    # A row written by hand or by another tool may hold anything; keep it visible, never fail.
    return value if isinstance(value, dict) else {"raw": text}


def _event(row: Row) -> AuditEvent:
    try:
        ts = parse_ts(row["ts"])
    except (ValueError, TypeError):
        ts = _EPOCH  # an unreadable timestamp must not abort a whole export
    return AuditEvent(
        id=int(row["id"]),
        ts=ts,
        user_id=row["user_id"] or "",
        action=row["action"],
        backend=row["backend_id"] or "",
        bucket=row["bucket"] or "",
        key=row["object_key"] or "",
        request_id=row["request_id"] or "",
        ip=row["ip"] or "",
        user_agent=row["user_agent"] or "",
        outcome=row["status"] or "ok",
        detail=_detail(row["detail"]),
        origin="",
    )


def _prefix_upper(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``, if representable."""
    nxt = ord(prefix[-1]) + 1
    if nxt > sys.maxunicode or 0xD800 <= nxt <= 0xDFFF:
        return None
    return prefix[:-1] + chr(nxt)


def _where(f: AuditFilter) -> tuple[list[LiteralString], list[Any]]:
    clauses: list[LiteralString] = []
    params: list[Any] = []
    for column, value in (
        ("user_id", f.user),
        ("backend_id", f.backend),
        ("bucket", f.bucket),
        ("status", f.outcome),
    ):
        if value:
            clauses.append(column + " = ?")
            params.append(value)
    if f.action:
        upper = _prefix_upper(f.action)
        # A range keeps the prefix match on the action index and needs no LIKE escaping.
        if upper is not None:
            clauses.append("action >= ? AND action < ?")
            params += [f.action, upper]
        else:
            clauses.append("substr(action, 1, ?) = ?")
            params += [len(f.action), f.action]
    if f.since is not None:
        clauses.append("ts >= ?")
        params.append(format_ts(f.since))
    if f.until is not None:
        clauses.append("ts <= ?")
        params.append(format_ts(f.until))
    return clauses, params


def _sql(head: LiteralString, clauses: Sequence[LiteralString], tail: LiteralString = "") -> LiteralString:
    where: LiteralString = " WHERE " + " AND ".join(clauses) if clauses else ""
    return head + where + tail


class SqliteAuditRepository:
    """``stowage.core.contracts.audit.AuditRepository`` over ``audit_events`` (core migration 4)."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    @property
    def _db(self) -> Database:
        return self._store.db  # looked up per call: the store may be reopened

    async def insert_batch(self, events: Sequence[AuditEvent], *, want_ids: bool = True) -> list[int]:
        """Insert ``events`` in one transaction and return their ids, in order.

        ``want_ids=False`` (no exporter needs them) saves the two id look-ups per batch.
        """
        if not events:
            return []
        params = [_params(e) for e in events]
        async with self._db.transaction() as tx:
            if not want_ids:
                await tx.executemany(_INSERT, params)
                return []
            # BEGIN IMMEDIATE makes us the only writer, and AUTOINCREMENT ids only grow, so the
            # rows above the previous maximum are exactly ours, in insertion order.
            row = await tx.fetchone("SELECT coalesce(max(id), 0) FROM audit_events")
            last = int(row[0]) if row is not None else 0
            await tx.executemany(_INSERT, params)
            rows = await tx.fetchall("SELECT id FROM audit_events WHERE id > ? ORDER BY id", (last,))
        ids = [int(r[0]) for r in rows]
        if len(ids) != len(events):  # pragma: no cover - would mean a second writer
            raise RuntimeError(f"audit insert: expected {len(events)} ids, got {len(ids)}")
        return ids

    async def query(self, filters: AuditFilter, limit: int, offset: int) -> tuple[list[AuditEvent], int]:
        """One page, newest first, plus the number of rows matching ``filters``."""
        clauses, params = _where(filters)
        count = await self._db.fetchone(_sql("SELECT count(*) FROM audit_events", clauses), params)
        rows = await self._db.fetchall(
            _sql("SELECT " + _COLUMNS + " FROM audit_events", clauses, _ORDER + " LIMIT ? OFFSET ?"),
            [*params, max(limit, 0), max(offset, 0)],
        )
        return [_event(r) for r in rows], int(count[0]) if count is not None else 0

    async def iter_rows(self, filters: AuditFilter, *, limit: int | None = None) -> AsyncIterator[AuditEvent]:
        """Stream matching events newest first, one keyset page at a time (never OFFSET).

        Each page resumes strictly after the last (ts, id) seen, so a page costs the same at row
        50,000 as at row 0 and only one page is ever held in memory. No connection is held
        between pages, so an abandoned iteration leaks nothing.
        """
        base, base_params = _where(filters)
        remaining = limit if limit is not None and limit > 0 else None
        cursor: tuple[str, int] | None = None
        while remaining is None or remaining > 0:
            clauses, params = list(base), list(base_params)
            if cursor is not None:
                clauses.append("(ts, id) < (?, ?)")
                params += list(cursor)
            size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
            sql = _sql("SELECT " + _COLUMNS + " FROM audit_events", clauses, _ORDER + " LIMIT ?")
            rows = await self._db.fetchall(sql, [*params, size])
            for row in rows:
                yield _event(row)
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < size:
                return
            cursor = (rows[-1]["ts"], int(rows[-1]["id"]))
