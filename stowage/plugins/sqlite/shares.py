"""The ``shares`` table behind ``stowage.core.contracts.shares.ShareStore``."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, LiteralString

from stowage.core.contracts.shares import Share, ShareCodeTaken
from stowage.core.contracts.store import Row
from stowage.core.formats.timefmt import format_ts, parse_ts

if TYPE_CHECKING:
    from stowage.plugins.sqlite.store import SqliteStore

__all__ = ["SqliteShares"]

_COLUMNS: LiteralString = (
    "id, code, backend_id, bucket, object_key, created_by, created_at, expires_at, password_hash,"
    " max_downloads, download_count, revoked, revoked_at, last_accessed_at, disposition"
)
# The whole download gate in one statement, so concurrent requests can never overshoot the cap.
_CLAIM: LiteralString = (
    "UPDATE shares SET download_count = download_count + 1, last_accessed_at = ?"
    " WHERE id = ? AND revoked = 0"
    " AND (max_downloads IS NULL OR max_downloads = 0 OR download_count < max_downloads)"
    " AND (expires_at IS NULL OR expires_at > ?)"
)


def _ts(value: Any) -> datetime | None:
    return parse_ts(value) if value else None


def _share(row: Row) -> Share:
    return Share(
        id=row["id"],
        code=row["code"],
        backend_id=row["backend_id"],
        bucket=row["bucket"],
        key=row["object_key"],
        created_by=row["created_by"],
        created_at=parse_ts(row["created_at"]),
        expires_at=_ts(row["expires_at"]),
        password_hash=row["password_hash"] or "",
        max_downloads=row["max_downloads"],
        download_count=int(row["download_count"]),
        revoked=bool(row["revoked"]),
        revoked_at=_ts(row["revoked_at"]),
        last_accessed_at=_ts(row["last_accessed_at"]),
        disposition=row["disposition"] or "attachment",
    )


def _opt_ts(value: datetime | None) -> str | None:
    return format_ts(value) if value is not None else None


class SqliteShares:
    """Share repository over the store's open database."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def create(self, share: Share) -> None:
        """Insert ``share``; ``ShareCodeTaken`` when the code collides with an existing one."""
        params = (
            share.id,
            share.code,
            share.backend_id,
            share.bucket,
            share.key,
            share.created_by,
            format_ts(share.created_at),
            _opt_ts(share.expires_at),
            share.password_hash,
            share.max_downloads,
            share.download_count,
            int(share.revoked),
            _opt_ts(share.revoked_at),
            _opt_ts(share.last_accessed_at),
            share.disposition,
        )
        try:
            await self._store.db.execute(
                f"INSERT INTO shares ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )
        except sqlite3.IntegrityError as exc:
            if "shares.code" in str(exc):
                raise ShareCodeTaken(f"share code {share.code!r} is taken") from None
            raise

    async def get(self, share_id: str) -> Share | None:
        row = await self._store.db.fetchone(f"SELECT {_COLUMNS} FROM shares WHERE id = ?", (share_id,))
        return _share(row) if row else None

    async def by_code(self, code: str) -> Share | None:
        row = await self._store.db.fetchone(f"SELECT {_COLUMNS} FROM shares WHERE code = ?", (code,))
        return _share(row) if row else None

    async def list(self, created_by: str | None = None) -> Sequence[Share]:
        """Newest first (``created_at``, then the time-ordered ULID id)."""
        if created_by is None:
            rows = await self._store.db.fetchall(
                f"SELECT {_COLUMNS} FROM shares ORDER BY created_at DESC, id DESC"
            )
        else:
            rows = await self._store.db.fetchall(
                f"SELECT {_COLUMNS} FROM shares WHERE created_by = ? ORDER BY created_at DESC, id DESC",
                (created_by,),
            )
        return [_share(row) for row in rows]

    async def revoke(self, share_id: str, at: datetime) -> bool:
        changed = await self._store.db.execute(
            "UPDATE shares SET revoked = 1, revoked_at = ? WHERE id = ? AND revoked = 0",
            (format_ts(at), share_id),
        )
        return changed > 0

    async def claim_download(self, share_id: str, now: datetime) -> bool:
        stamp = format_ts(now)
        return await self._store.db.execute(_CLAIM, (stamp, share_id, stamp)) == 1
