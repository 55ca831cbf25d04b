"""The ``users`` table behind ``stowage.core.contracts.accounts.UserRepository``."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, LiteralString

from stowage.core.contracts.accounts import (
    UNCHANGED,
    EmailTaken,
    LastAdmin,
    User,
    UserFilter,
    UsernameTaken,
    UserRemoval,
)
from stowage.core.contracts.store import Row, Transaction
from stowage.core.formats.ids import new_ulid
from stowage.core.formats.timefmt import format_ts, parse_ts

if TYPE_CHECKING:
    from stowage.plugins.sqlite.store import SqliteStore

__all__ = ["SqliteUsers"]

_COLUMNS: LiteralString = (
    "id, username, email, password_hash, role, identity_source, enabled, must_change_pw, "
    "failed_attempts, locked_until, created_at, created_by, last_login_at, pw_changed_at"
)
_ADMINS: LiteralString = "SELECT count(*) FROM users WHERE role = 'admin' AND enabled = 1"


def _ts(value: str | None) -> datetime | None:
    return parse_ts(value) if value else None


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        email=row["email"],
        password_hash=row["password_hash"],
        role=row["role"],
        identity_source=row["identity_source"],
        enabled=bool(row["enabled"]),
        must_change_pw=bool(row["must_change_pw"]),
        failed_attempts=int(row["failed_attempts"]),
        locked_until=_ts(row["locked_until"]),
        created_at=parse_ts(row["created_at"]),
        created_by=row["created_by"],
        last_login_at=_ts(row["last_login_at"]),
        pw_changed_at=parse_ts(row["pw_changed_at"]),
    )


def _unique_error(exc: sqlite3.IntegrityError) -> Exception:
    """Translate a unique-index clash into the typed error; anything else passes through."""
    text = str(exc)
    if "users.email" in text:
        return EmailTaken()
    if "users.username" in text:
        return UsernameTaken()
    return exc


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _guard_last_admin(tx: Transaction, was_admin: bool) -> None:
    # Checked after the change, inside its transaction: raising rolls it back, and two admins
    # demoting each other concurrently cannot both succeed (the writer serialises them).
    if was_admin:
        row = await tx.fetchone(_ADMINS)
        if row is not None and int(row[0]) == 0:
            raise LastAdmin()


class SqliteUsers:
    """User repository over the store's open database."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def get(self, user_id: str) -> User | None:
        row = await self._store.db.fetchone(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return _user(row) if row else None

    async def get_by_username(self, username: str) -> User | None:
        row = await self._store.db.fetchone(f"SELECT {_COLUMNS} FROM users WHERE username = ?", (username,))
        return _user(row) if row else None

    async def list(self, flt: UserFilter) -> list[User]:
        where: list[LiteralString] = ["1 = 1"]
        params: list[Any] = []
        if flt.query:
            where.append("(username LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\')")
            params += [_like(flt.query), _like(flt.query)]
        if flt.role is not None:
            where.append("role = ?")
            params.append(flt.role)
        if flt.source is not None:
            where.append("identity_source = ?")
            params.append(flt.source)
        if flt.enabled is not None:
            where.append("enabled = ?")
            params.append(int(flt.enabled))
        sql = f"SELECT {_COLUMNS} FROM users WHERE {' AND '.join(where)} ORDER BY username LIMIT ? OFFSET ?"
        rows = await self._store.db.fetchall(sql, [*params, flt.limit, flt.offset])
        return [_user(row) for row in rows]

    async def create(
        self,
        *,
        username: str,
        password_hash: str,
        role: str,
        now: datetime,
        email: str | None = None,
        must_change_pw: bool = True,
        identity_source: str = "local",
        created_by: str | None = None,
    ) -> User:
        user_id = new_ulid(now.timestamp())
        stamp = format_ts(now)
        try:
            await self._store.db.execute(
                "INSERT INTO users (id, username, email, password_hash, role, identity_source, enabled,"
                " must_change_pw, created_at, created_by, pw_changed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (user_id, username, email or None, password_hash, role, identity_source,
                 int(must_change_pw), stamp, created_by, stamp),
            )  # fmt: skip
        except sqlite3.IntegrityError as exc:
            raise _unique_error(exc) from None
        created = await self.get(user_id)
        assert created is not None
        return created

    async def update(
        self, user_id: str, *, role: str = UNCHANGED, enabled: bool = UNCHANGED, email: str | None = UNCHANGED
    ) -> User | None:
        try:
            async with self._store.db.transaction() as tx:
                row = await tx.fetchone(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
                if row is None:
                    return None
                before = _user(row)
                await tx.execute(
                    "UPDATE users SET role = ?, enabled = ?, email = ? WHERE id = ?",
                    (
                        before.role if role is UNCHANGED else role,
                        int(before.enabled if enabled is UNCHANGED else enabled),
                        before.email if email is UNCHANGED else (email or None),
                        user_id,
                    ),
                )
                await _guard_last_admin(tx, before.role == "admin" and before.enabled)
        except sqlite3.IntegrityError as exc:
            raise _unique_error(exc) from None
        return await self.get(user_id)

    async def set_password(
        self, user_id: str, password_hash: str, *, must_change_pw: bool, now: datetime
    ) -> bool:
        changed = await self._store.db.execute(
            "UPDATE users SET password_hash = ?, must_change_pw = ?, pw_changed_at = ?,"
            " failed_attempts = 0, locked_until = NULL WHERE id = ?",
            (password_hash, int(must_change_pw), format_ts(now), user_id),
        )
        return changed > 0

    async def record_login(self, user_id: str, now: datetime) -> None:
        await self._store.db.execute(
            "UPDATE users SET last_login_at = ?, failed_attempts = 0, locked_until = NULL WHERE id = ?",
            (format_ts(now), user_id),
        )

    async def record_failure(self, user_id: str, *, max_attempts: int, lock_until: datetime) -> int:
        # One statement, so concurrent failures cannot lose a count.
        async with self._store.db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE users SET failed_attempts = failed_attempts + 1,"
                " locked_until = CASE WHEN failed_attempts + 1 >= ? THEN ? ELSE locked_until END"
                " WHERE id = ? RETURNING failed_attempts",
                (max_attempts, format_ts(lock_until), user_id),
            )
        return int(row[0]) if row else 0

    async def unlock(self, user_id: str) -> bool:
        changed = await self._store.db.execute(
            "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?", (user_id,)
        )
        return changed > 0

    async def delete(self, user_id: str, *, now: datetime | None = None) -> UserRemoval | None:
        # One transaction: the account, its credentials and its live share links go together,
        # or (last admin) not at all.
        revoked_at = format_ts(now or datetime.now(UTC))
        async with self._store.db.transaction() as tx:
            row = await tx.fetchone("SELECT role, enabled FROM users WHERE id = ?", (user_id,))
            if row is None:
                return None
            await tx.execute("DELETE FROM users WHERE id = ?", (user_id,))
            await _guard_last_admin(tx, row["role"] == "admin" and bool(row["enabled"]))
            keys = await tx.fetchall(
                "DELETE FROM s3_credentials WHERE user_id = ? RETURNING access_key", (user_id,)
            )
            shares = await tx.fetchall(
                "UPDATE shares SET revoked = 1, revoked_at = ? WHERE created_by = ? AND revoked = 0"
                " RETURNING id",
                (revoked_at, user_id),
            )
        return UserRemoval(credentials_deleted=tuple(sorted(r[0] for r in keys)), shares_revoked=len(shares))
