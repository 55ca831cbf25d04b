"""The ``s3_anonymous_bindings`` table (migration 10): buckets readable without a signature."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, LiteralString

from stowage.core.contracts.credentials import StoredBinding
from stowage.core.contracts.store import Row
from stowage.core.formats.timefmt import format_ts, parse_ts

if TYPE_CHECKING:
    from stowage.plugins.sqlite.store import SqliteStore

__all__ = ["SqliteAnonymous", "StoredBinding"]

_COLUMNS: LiteralString = "backend_id, bucket, mode, per_source_ip_rps, created_at, created_by"


def _record(row: Row) -> StoredBinding:
    return StoredBinding(
        backend_id=row["backend_id"],
        bucket=row["bucket"],
        mode=row["mode"],
        per_source_ip_rps=int(row["per_source_ip_rps"]),
        created_at=parse_ts(row["created_at"]),
        created_by=row["created_by"] or "",
    )


class SqliteAnonymous:
    """Anonymous bindings over the store's open database."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def list(self) -> list[StoredBinding]:
        """Every binding ordered by backend and bucket."""
        rows = await self._store.db.fetchall(
            f"SELECT {_COLUMNS} FROM s3_anonymous_bindings ORDER BY backend_id, bucket"
        )
        return [_record(row) for row in rows]

    async def upsert(
        self, backend_id: str, bucket: str, *, mode: str, per_source_ip_rps: int, now: datetime, actor: str
    ) -> StoredBinding:
        """Insert or update one binding; an update keeps ``created_at``/``created_by``."""
        async with self._store.db.transaction() as tx:
            row = await tx.fetchone(
                f"INSERT INTO s3_anonymous_bindings ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (backend_id, bucket) DO UPDATE SET mode = excluded.mode,"
                f" per_source_ip_rps = excluded.per_source_ip_rps RETURNING {_COLUMNS}",
                (backend_id, bucket, mode, per_source_ip_rps, format_ts(now), actor or None),
            )
        assert row is not None  # RETURNING always yields the row
        return _record(row)

    async def delete(self, backend_id: str, bucket: str) -> bool:
        """Remove one binding; False when there was none."""
        return (
            await self._store.db.execute(
                "DELETE FROM s3_anonymous_bindings WHERE backend_id = ? AND bucket = ?", (backend_id, bucket)
            )
            > 0
        )
