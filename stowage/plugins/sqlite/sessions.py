"""The ``sessions`` table behind ``stowage.core.contracts.accounts.SessionRepository``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, LiteralString

from stowage.core.contracts.accounts import Session
from stowage.core.contracts.store import Row
from stowage.core.formats.timefmt import format_ts, parse_ts

if TYPE_CHECKING:
    from stowage.plugins.sqlite.store import SqliteStore

__all__ = ["SqliteSessions"]

_COLUMNS: LiteralString = (
    "id, user_id, identity_source, csrf_token, ip, user_agent, flags, created_at, last_seen_at, expires_at"
)


def _session(row: Row) -> Session:
    return Session(
        id=row["id"],
        user_id=row["user_id"],
        identity_source=row["identity_source"],
        csrf_token=row["csrf_token"],
        ip=row["ip"] or "",
        user_agent=row["user_agent"] or "",
        flags=int(row["flags"]),
        created_at=parse_ts(row["created_at"]),
        last_seen_at=parse_ts(row["last_seen_at"]),
        expires_at=parse_ts(row["expires_at"]),
    )


class SqliteSessions:
    """Session repository over the store's open database."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def create(self, session: Session) -> None:
        await self._store.db.execute(
            f"INSERT INTO sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session.id,
                session.user_id,
                session.identity_source,
                session.csrf_token,
                session.ip or None,
                session.user_agent or None,
                session.flags,
                format_ts(session.created_at),
                format_ts(session.last_seen_at),
                format_ts(session.expires_at),
            ),
        )

    async def get(self, session_id: str) -> Session | None:
        row = await self._store.db.fetchone(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
        return _session(row) if row else None

    async def touch(self, last_seen: dict[str, datetime]) -> None:
        if last_seen:
            await self._store.db.executemany(
                "UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?",
                [(format_ts(ts), sid, format_ts(ts)) for sid, ts in last_seen.items()],
            )

    async def set_flags(self, session_id: str, flags: int) -> None:
        await self._store.db.execute("UPDATE sessions SET flags = ? WHERE id = ?", (flags, session_id))

    async def delete(self, session_id: str) -> Session | None:
        async with self._store.db.transaction() as tx:
            row = await tx.fetchone(f"DELETE FROM sessions WHERE id = ? RETURNING {_COLUMNS}", (session_id,))
        return _session(row) if row else None

    async def delete_for_user(self, user_id: str, *, keep: str = "") -> list[str]:
        async with self._store.db.transaction() as tx:
            rows = await tx.fetchall(
                "DELETE FROM sessions WHERE user_id = ? AND id != ? RETURNING id", (user_id, keep)
            )
        return [row["id"] for row in rows]

    async def purge_expired(self, now: datetime, idle_cutoff: datetime) -> int:
        return await self._store.db.execute(
            "DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?",
            (format_ts(now), format_ts(idle_cutoff)),
        )
