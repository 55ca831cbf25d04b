"""The ``bucket_quotas`` table (migration 3): per-bucket soft and hard caps."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, LiteralString

from stowage.core.contracts.quotas import StoredQuota
from stowage.core.contracts.store import Row
from stowage.core.formats.timefmt import format_ts, parse_ts

if TYPE_CHECKING:
    from stowage.plugins.sqlite.store import SqliteStore

__all__ = ["SqliteQuotas", "StoredQuota"]

_COLUMNS: LiteralString = "backend_id, bucket, soft_bytes, hard_bytes, updated_at, updated_by"


def _record(row: Row) -> StoredQuota:
    return StoredQuota(
        backend_id=row["backend_id"],
        bucket=row["bucket"],
        soft_bytes=int(row["soft_bytes"]),
        hard_bytes=int(row["hard_bytes"]),
        updated_at=parse_ts(row["updated_at"]),
        updated_by=row["updated_by"] or "",
    )


class SqliteQuotas:
    """Quota rows over the store's open database."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def list(self) -> list[StoredQuota]:
        """Every row, ordered by backend and bucket."""
        rows = await self._store.db.fetchall(
            f"SELECT {_COLUMNS} FROM bucket_quotas ORDER BY backend_id, bucket"
        )
        return [_record(row) for row in rows]

    async def get(self, backend_id: str, bucket: str) -> StoredQuota | None:
        row = await self._store.db.fetchone(
            f"SELECT {_COLUMNS} FROM bucket_quotas WHERE backend_id = ? AND bucket = ?", (backend_id, bucket)
        )
        return _record(row) if row else None

    async def upsert(
        self,
        backend_id: str,
        bucket: str,
        *,
        soft_bytes: int,
        hard_bytes: int,
        updated_at: datetime,
        updated_by: str,
    ) -> StoredQuota:
        """Insert or replace the caps of one bucket and return the row."""
        async with self._store.db.transaction() as tx:
            row = await tx.fetchone(
                f"INSERT INTO bucket_quotas ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (backend_id, bucket) DO UPDATE SET soft_bytes = excluded.soft_bytes,"
                " hard_bytes = excluded.hard_bytes, updated_at = excluded.updated_at,"
                f" updated_by = excluded.updated_by RETURNING {_COLUMNS}",
                (backend_id, bucket, soft_bytes, hard_bytes, format_ts(updated_at), updated_by),
            )
        assert row is not None  # RETURNING always yields the row
        return _record(row)

    async def delete(self, backend_id: str, bucket: str) -> bool:
        """Remove the caps; False when there were none."""
        return (
            await self._store.db.execute(
                "DELETE FROM bucket_quotas WHERE backend_id = ? AND bucket = ?", (backend_id, bucket)
            )
            > 0
        )
