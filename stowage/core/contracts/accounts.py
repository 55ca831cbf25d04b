"""Accounts: the ``User`` and ``Session`` records, their repository protocols, and their errors.

A store exposes the repositories as ``store.users`` and ``store.sessions`` (the sqlite plugin
builds them in ``stowage.plugins.sqlite.users`` / ``.sessions``); reach them with :func:`users`
and :func:`sessions`. Every method that writes a time takes it as an argument, so callers decide
what "now" is (``runtime.clock``) and tests can move it.

Errors (all ``ApiError``, rendered as the JSON envelope)::

    Conflict (409)
    ├── UsernameTaken       409 username_taken
    ├── EmailTaken          409 email_taken
    └── LastAdmin           409 last_admin — the change would leave no enabled admin
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from stowage.core.kernel.errors import Conflict

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = [
    "FLAG_MUST_CHANGE_PW",
    "UNCHANGED",
    "EmailTaken",
    "LastAdmin",
    "Session",
    "SessionRepository",
    "User",
    "UserFilter",
    "UserRemoval",
    "UserRepository",
    "UsernameTaken",
    "at",
    "sessions",
    "users",
]

FLAG_MUST_CHANGE_PW = 1
"""Session flag bit 0: the session's user must change its password."""

UNCHANGED: Any = object()
"""Sentinel for "leave this field as it is" in ``UserRepository.update``."""


class UsernameTaken(Conflict):
    default_code = "username_taken"
    default_message = "username already taken"


class EmailTaken(Conflict):
    default_code = "email_taken"
    default_message = "email already taken"


class LastAdmin(Conflict):
    default_code = "last_admin"
    default_message = "cannot remove the last enabled admin"


def at(epoch_seconds: float) -> datetime:
    """An aware UTC datetime for a ``runtime.clock()`` reading."""
    return datetime.fromtimestamp(epoch_seconds, UTC)


@dataclass(frozen=True)
class User:
    """One ``users`` row. ``email`` is None when unset; the hash never leaves the server."""

    id: str
    username: str
    email: str | None
    password_hash: str
    role: str
    identity_source: str
    enabled: bool
    must_change_pw: bool
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    created_by: str | None
    last_login_at: datetime | None
    pw_changed_at: datetime


@dataclass(frozen=True)
class Session:
    """One ``sessions`` row; ``id`` is the opaque cookie value."""

    id: str
    user_id: str
    identity_source: str
    csrf_token: str
    ip: str
    user_agent: str
    flags: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime

    @property
    def must_change_pw(self) -> bool:
        return bool(self.flags & FLAG_MUST_CHANGE_PW)


@dataclass(frozen=True)
class UserRemoval:
    """What deleting a user took with it: its S3 credentials are deleted, not disabled (a
    deleted account has nothing to re-enable), and its live share links are revoked."""

    credentials_deleted: tuple[str, ...] = ()
    shares_revoked: int = 0


@dataclass(frozen=True)
class UserFilter:
    """Filters of the users list; ``None`` means "any"."""

    query: str = ""
    role: str | None = None
    source: str | None = None
    enabled: bool | None = None
    limit: int = 100
    offset: int = 0


class UserRepository(Protocol):
    """Local accounts. Usernames and emails compare case-insensitively."""

    async def get(self, user_id: str) -> User | None: ...

    async def get_by_username(self, username: str) -> User | None: ...

    async def list(self, flt: UserFilter) -> list[User]:
        """Users matching ``flt``, ordered by username."""
        ...

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
        """Insert a user with a new ULID; ``UsernameTaken``/``EmailTaken`` on a clash."""
        ...

    async def update(
        self, user_id: str, *, role: str = UNCHANGED, enabled: bool = UNCHANGED, email: str | None = UNCHANGED
    ) -> User | None:
        """Change role/enabled/email; ``LastAdmin`` when no enabled admin would remain; None if unknown."""
        ...

    async def set_password(
        self, user_id: str, password_hash: str, *, must_change_pw: bool, now: datetime
    ) -> bool:
        """Store a new hash and reset the lockout counters."""
        ...

    async def record_login(self, user_id: str, now: datetime) -> None:
        """A successful login: ``last_login_at`` set, counters reset."""
        ...

    async def record_failure(self, user_id: str, *, max_attempts: int, lock_until: datetime) -> int:
        """Count a wrong password; lock until ``lock_until`` when the count reaches ``max_attempts``."""
        ...

    async def unlock(self, user_id: str) -> bool: ...

    async def delete(self, user_id: str, *, now: datetime | None = None) -> UserRemoval | None:
        """Delete a user, its S3 credentials, and revoke its live shares at ``now``; None if unknown;
        ``LastAdmin`` (nothing changed) when it is the last enabled admin."""
        ...


class SessionRepository(Protocol):
    """Dashboard sessions (no foreign key to users: callers delete a user's sessions explicitly)."""

    async def create(self, session: Session) -> None: ...

    async def get(self, session_id: str) -> Session | None: ...

    async def touch(self, last_seen: dict[str, datetime]) -> None:
        """Write coalesced ``last_seen_at`` values, one per session id."""
        ...

    async def set_flags(self, session_id: str, flags: int) -> None: ...

    async def delete(self, session_id: str) -> Session | None:
        """Delete one session; return it when it existed."""
        ...

    async def delete_for_user(self, user_id: str, *, keep: str = "") -> list[str]:
        """Delete a user's sessions except ``keep``; return the deleted ids."""
        ...

    async def purge_expired(self, now: datetime, idle_cutoff: datetime) -> int:
        """Delete sessions past ``expires_at`` or last seen before ``idle_cutoff``."""
        ...


def users(runtime: Runtime) -> UserRepository:
    """The store's user repository."""
    return runtime.store.users


def sessions(runtime: Runtime) -> SessionRepository:
    """The store's session repository."""
    return runtime.store.sessions
