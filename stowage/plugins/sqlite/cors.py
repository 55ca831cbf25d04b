"""The ``s3_bucket_cors`` table (migration 11): per-bucket CORS rules as JSON text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stowage.core.contracts.credentials import StoredCors
from stowage.core.formats.timefmt import format_ts

if TYPE_CHECKING:
    from stowage.plugins.sqlite.store import SqliteStore

__all__ = ["SqliteCors", "StoredCors"]


def _rules(text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [rule for rule in value if isinstance(rule, dict)] if isinstance(value, list) else []


class SqliteCors:
    """Bucket CORS rows over the store's open database."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def all(self) -> list[StoredCors]:
        """Every row (malformed JSON reads as no rules)."""
        rows = await self._store.db.fetchall("SELECT backend_id, bucket, rules FROM s3_bucket_cors")
        return [StoredCors(row["backend_id"], row["bucket"], _rules(row["rules"])) for row in rows]

    async def get(self, backend_id: str, bucket: str) -> list[dict[str, Any]]:
        """The bucket's rules; empty when there is no row."""
        row = await self._store.db.fetchone(
            "SELECT rules FROM s3_bucket_cors WHERE backend_id = ? AND bucket = ?", (backend_id, bucket)
        )
        return _rules(row["rules"]) if row else []

    async def put(self, backend_id: str, bucket: str, rules: list[dict[str, Any]], now: datetime) -> None:
        """Store ``rules``; an empty list deletes the row."""
        if not rules:
            await self._store.db.execute(
                "DELETE FROM s3_bucket_cors WHERE backend_id = ? AND bucket = ?", (backend_id, bucket)
            )
            return
        stamp = format_ts(now)
        await self._store.db.execute(
            "INSERT INTO s3_bucket_cors (backend_id, bucket, rules, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (backend_id, bucket)"
            " DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at",
            (backend_id, bucket, json.dumps(rules, separators=(",", ":")), stamp, stamp),
        )
