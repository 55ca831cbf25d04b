"""The ``s3_credentials`` table (migration 9): virtual credentials as stored rows.

Secrets arrive and leave sealed (``secret_key_enc``); sealing is the caller's job. ``buckets``
is a JSON array of names. A row whose ``buckets`` or ``expires_at`` text cannot be read is still
returned, with ``defect`` saying why, so listing never fails and the credential cache can skip
it with a warning.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, LiteralString

from stowage.core.contracts.credentials import StoredCredential
from stowage.core.contracts.store import Row
from stowage.core.formats.timefmt import format_ts, parse_ts
from stowage.core.kernel.errors import Conflict

if TYPE_CHECKING:
    from stowage.plugins.sqlite.store import SqliteStore

__all__ = ["SqliteCredentials", "StoredCredential"]

_COLUMNS: LiteralString = (
    "access_key, secret_key_enc, backend_id, buckets, user_id, description, enabled, expires_at,"
    " created_at, created_by, updated_at, updated_by"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _buckets(text: str | None) -> tuple[str, ...] | None:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(b, str) for b in value):
        return None
    return tuple(value)


def _ts(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_ts(str(text))
    except ValueError:
        return None


def _record(row: Row) -> StoredCredential:
    defects = []
    buckets = _buckets(row["buckets"])
    if buckets is None:
        defects.append("malformed bucket JSON")
    expires_at = _ts(row["expires_at"])
    if row["expires_at"] and expires_at is None:
        defects.append("malformed expires_at")
    created_at = _ts(row["created_at"]) or _EPOCH
    updated_at = _ts(row["updated_at"]) or created_at
    blob = row["secret_key_enc"]
    return StoredCredential(
        access_key=row["access_key"],
        secret_key_enc=bytes(blob) if blob is not None else b"",
        backend_id=row["backend_id"],
        buckets=buckets or (),
        user_id=row["user_id"] or "",
        description=row["description"] or "",
        enabled=bool(row["enabled"]),
        expires_at=expires_at,
        created_at=created_at,
        created_by=row["created_by"] or "",
        updated_at=updated_at,
        updated_by=row["updated_by"] or "",
        defect="; ".join(defects),
    )


def _bucket_json(buckets: Sequence[str]) -> str:
    return json.dumps(list(buckets), separators=(",", ":"))


class SqliteCredentials:
    """Virtual-credential repository over the store's open database."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def list(self, user_id: str | None = None) -> list[StoredCredential]:
        """Every row ordered by access key; only ``user_id``'s rows when given."""
        if user_id is None:
            rows = await self._store.db.fetchall(f"SELECT {_COLUMNS} FROM s3_credentials ORDER BY access_key")
        else:
            rows = await self._store.db.fetchall(
                f"SELECT {_COLUMNS} FROM s3_credentials WHERE user_id = ? ORDER BY access_key", (user_id,)
            )
        return [_record(row) for row in rows]

    async def get(self, access_key: str) -> StoredCredential | None:
        """The row for ``access_key``, or None."""
        row = await self._store.db.fetchone(
            f"SELECT {_COLUMNS} FROM s3_credentials WHERE access_key = ?", (access_key,)
        )
        return _record(row) if row else None

    async def insert(
        self,
        *,
        access_key: str,
        secret_key_enc: bytes,
        backend_id: str,
        buckets: Sequence[str],
        created_at: datetime,
        created_by: str = "",
        user_id: str = "",
        description: str = "",
        enabled: bool = True,
        expires_at: datetime | None = None,
    ) -> StoredCredential:
        """Insert a new row (``updated_*`` = ``created_*``) and return it; a taken key raises ``Conflict``."""
        try:
            async with self._store.db.transaction() as tx:
                row = await tx.fetchone(
                    f"INSERT INTO s3_credentials ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    f" RETURNING {_COLUMNS}",
                    (
                        access_key,
                        secret_key_enc,
                        backend_id,
                        _bucket_json(buckets),
                        user_id or None,
                        description,
                        int(enabled),
                        format_ts(expires_at) if expires_at else None,
                        format_ts(created_at),
                        created_by or None,
                        format_ts(created_at),
                        created_by or None,
                    ),
                )
        except sqlite3.IntegrityError:
            raise Conflict("access key already exists") from None
        assert row is not None  # RETURNING always yields the inserted row
        return _record(row)

    async def update(
        self,
        access_key: str,
        *,
        updated_at: datetime,
        updated_by: str = "",
        buckets: Sequence[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
        expires_at: datetime | None = None,
        clear_expires_at: bool = False,
    ) -> StoredCredential | None:
        """Change the given fields (``None`` keeps a field); return the new row, None if absent."""
        async with self._store.db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT {_COLUMNS} FROM s3_credentials WHERE access_key = ?", (access_key,)
            )
            if row is None:
                return None
            expiry = (
                None if clear_expires_at else (format_ts(expires_at) if expires_at else row["expires_at"])
            )
            updated = await tx.fetchone(
                "UPDATE s3_credentials SET buckets = ?, description = ?, enabled = ?, expires_at = ?,"
                f" updated_at = ?, updated_by = ? WHERE access_key = ? RETURNING {_COLUMNS}",
                (
                    _bucket_json(buckets) if buckets is not None else row["buckets"],
                    description if description is not None else row["description"],
                    int(enabled) if enabled is not None else row["enabled"],
                    expiry,
                    format_ts(updated_at),
                    updated_by or None,
                    access_key,
                ),
            )
        return _record(updated) if updated else None

    async def delete(self, access_key: str) -> bool:
        """Delete the row; False when there was none."""
        return (
            await self._store.db.execute("DELETE FROM s3_credentials WHERE access_key = ?", (access_key,)) > 0
        )
