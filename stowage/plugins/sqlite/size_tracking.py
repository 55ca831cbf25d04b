"""The ``bucket_size_tracking`` table (migration 8): per-bucket size-tracking switches."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, LiteralString

from stowage.core.contracts.sizes import SizeTrackingSetting
from stowage.core.contracts.store import Row
from stowage.core.formats.timefmt import format_ts, parse_ts

if TYPE_CHECKING:
    from stowage.plugins.sqlite.store import SqliteStore

__all__ = ["SqliteSizeTracking"]

_COLUMNS: LiteralString = "backend_id, bucket, enabled, updated_at, updated_by"


def _record(row: Row) -> SizeTrackingSetting:
    return SizeTrackingSetting(
        backend_id=row["backend_id"],
        bucket=row["bucket"],
        enabled=bool(row["enabled"]),
        updated_at=parse_ts(row["updated_at"]),
        updated_by=row["updated_by"] or "",
    )


class SqliteSizeTracking:
    """Size-tracking rows over the store's open database."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def list(self) -> list[SizeTrackingSetting]:
        """Every row, ordered by backend and bucket."""
        rows = await self._store.db.fetchall(
            f"SELECT {_COLUMNS} FROM bucket_size_tracking ORDER BY backend_id, bucket"
        )
        return [_record(row) for row in rows]

    async def get(self, backend_id: str, bucket: str) -> SizeTrackingSetting | None:
        row = await self._store.db.fetchone(
            f"SELECT {_COLUMNS} FROM bucket_size_tracking WHERE backend_id = ? AND bucket = ?",
            (backend_id, bucket),
        )
        return _record(row) if row else None

    async def set(
        self, backend_id: str, bucket: str, *, enabled: bool, updated_at: datetime, updated_by: str
    ) -> SizeTrackingSetting:
        """Insert or replace the switch of one bucket and return the row."""
        async with self._store.db.transaction() as tx:
            row = await tx.fetchone(
                f"INSERT INTO bucket_size_tracking ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (backend_id, bucket) DO UPDATE SET enabled = excluded.enabled,"
                f" updated_at = excluded.updated_at, updated_by = excluded.updated_by RETURNING {_COLUMNS}",
                (backend_id, bucket, int(enabled), format_ts(updated_at), updated_by),
            )
        assert row is not None  # RETURNING always yields the row
        return _record(row)

    async def delete(self, backend_id: str, bucket: str) -> bool:
        """Remove the row; False when there was none."""
        changed = await self._store.db.execute(
            "DELETE FROM bucket_size_tracking WHERE backend_id = ? AND bucket = ?", (backend_id, bucket)
        )
        return changed > 0
