"""The ``backends`` table behind ``stowage.core.contracts.endpoints.EndpointRepository`` (migration 7)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, LiteralString

from stowage.core.contracts.endpoints import UPDATABLE_FIELDS, EndpointRecord
from stowage.core.contracts.store import Row
from stowage.core.formats.timefmt import format_ts, parse_ts, utcnow

if TYPE_CHECKING:
    from stowage.plugins.sqlite.store import SqliteStore

__all__ = ["SqliteBackends"]

_COLUMNS: LiteralString = (
    "id, name, type, endpoint, region, path_style, access_key, secret_key_enc, enabled, "
    "created_at, created_by, updated_at, updated_by"
)
_INSERT: LiteralString = (
    f"INSERT INTO backends ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO NOTHING"
)
_UPDATE: LiteralString = (
    "UPDATE backends SET name = ?, type = ?, endpoint = ?, region = ?, path_style = ?, access_key = ?, "
    "secret_key_enc = ?, enabled = ?, updated_at = ?, updated_by = ? WHERE id = ?"
)


def _record(row: Row) -> EndpointRecord:
    return EndpointRecord(
        id=row["id"],
        name=row["name"],
        type=row["type"],
        endpoint=row["endpoint"],
        region=row["region"] or "",
        path_style=bool(row["path_style"]),
        access_key=row["access_key"] or "",
        secret_key_enc=bytes(row["secret_key_enc"] or b""),
        enabled=bool(row["enabled"]),
        created_at=parse_ts(row["created_at"]),
        created_by=row["created_by"] or "",
        updated_at=parse_ts(row["updated_at"]),
        updated_by=row["updated_by"] or "",
    )


def _blob(value: bytes) -> bytes | None:
    # An empty secret is stored as NULL, as the original does.
    return value or None


class SqliteBackends:
    """UI-managed backends over the store's open database."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def list(self) -> list[EndpointRecord]:
        rows = await self._store.db.fetchall(f"SELECT {_COLUMNS} FROM backends ORDER BY id")
        return [_record(row) for row in rows]

    async def get(self, backend_id: str) -> EndpointRecord | None:
        row = await self._store.db.fetchone(f"SELECT {_COLUMNS} FROM backends WHERE id = ?", (backend_id,))
        return _record(row) if row is not None else None

    async def insert(self, record: EndpointRecord) -> bool:
        now = utcnow()
        created = record.created_at or now
        updated = record.updated_at or created
        changed = await self._store.db.execute(
            _INSERT,
            (
                record.id,
                record.name,
                record.type,
                record.endpoint,
                record.region,
                int(record.path_style),
                record.access_key,
                _blob(record.secret_key_enc),
                int(record.enabled),
                format_ts(created),
                record.created_by or None,
                format_ts(updated),
                record.updated_by or record.created_by or None,
            ),
        )
        return changed == 1

    async def update(
        self, backend_id: str, changes: Mapping[str, Any], *, updated_by: str = ""
    ) -> EndpointRecord | None:
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"backends: cannot update {', '.join(sorted(unknown))}")
        async with self._store.db.transaction() as tx:
            row = await tx.fetchone(f"SELECT {_COLUMNS} FROM backends WHERE id = ?", (backend_id,))
            if row is None:
                return None
            new = replace(_record(row), **changes, updated_at=utcnow(), updated_by=updated_by)
            await tx.execute(
                _UPDATE,
                (
                    new.name,
                    new.type,
                    new.endpoint,
                    new.region,
                    int(new.path_style),
                    new.access_key,
                    _blob(new.secret_key_enc),
                    int(new.enabled),
                    format_ts(new.updated_at or utcnow()),
                    updated_by or None,
                    backend_id,
                ),
            )
        return new

    async def delete(self, backend_id: str) -> bool:
        return await self._store.db.execute("DELETE FROM backends WHERE id = ?", (backend_id,)) == 1
