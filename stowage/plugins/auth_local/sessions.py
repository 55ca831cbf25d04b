"""Session life cycle: issue, attach (with a 30 s identity cache), coalesced touches, expiry, purge.

Times come from ``runtime.clock`` at each call, so tests can move time. A session is refused when
``now > expires_at`` (= created_at + ``auth.session.lifetime``, a hard cap) or when it was last
seen more than ``auth.session.idle_timeout`` ago.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from stowage.core.contracts.accounts import Session, at, sessions, users
from stowage.core.contracts.identity import Identity
from stowage.core.formats.ids import new_token
from stowage.core.kernel.services import ServiceKey
from stowage.plugins.auth_local.static import STATIC_ID, StaticAdmin

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["SESSIONS", "SessionManager", "manager"]

log = logging.getLogger("stowage.auth")

CACHE_TTL = 30.0  # seconds an attached identity is reused without reading the database
FLUSH_EVERY = 2.0  # seconds between last-seen flushes (touch coalescing)
PURGE_EVERY = 300.0  # seconds between expired-session purges and cache reaps
SESSIONS: ServiceKey[SessionManager] = ServiceKey("auth_local.sessions", provider="auth_local")


@dataclass
class _Cached:
    identity: Identity
    expires_at: float
    last_seen: float
    loaded_at: float


class SessionManager:
    """Owns the identity cache and the pending last-seen writes of one Runtime."""

    def __init__(self, runtime: Runtime, static: StaticAdmin | None) -> None:
        self.runtime = runtime
        self.static = static
        self._cache: dict[str, _Cached] = {}
        self._pending: dict[str, float] = {}

    # --- issue and attach ---------------------------------------------------------------------

    async def issue(self, *, user_id: str, source: str, flags: int, ip: str, user_agent: str) -> Session:
        """Create a session row with fresh random session and CSRF tokens."""
        now = at(self.runtime.clock())
        session = Session(
            id=new_token(32),
            user_id=user_id,
            identity_source=source,
            csrf_token=new_token(32),
            ip=ip,
            user_agent=user_agent[:512],
            flags=flags,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=self.runtime.settings.auth.session.lifetime),
        )
        await sessions(self.runtime).create(session)
        return session

    async def resolve(self, session_id: str) -> Identity | None:
        """The identity behind a session cookie, or None (the dead session is deleted)."""
        now = self.runtime.clock()
        entry = self._cache.get(session_id)
        if entry is None or now - entry.loaded_at >= CACHE_TTL:
            entry = await self._load(session_id, now)
            if entry is None:
                return None
        last_seen = max(entry.last_seen, self._pending.get(session_id, 0.0))
        if now > entry.expires_at or now - last_seen > self.runtime.settings.auth.session.idle_timeout:
            await self.end(session_id)
            return None
        entry.last_seen = now
        self._pending[session_id] = now
        return entry.identity

    async def _load(self, session_id: str, now: float) -> _Cached | None:
        self._cache.pop(session_id, None)
        session = await sessions(self.runtime).get(session_id)
        if session is None:
            return None
        identity = await self._identity(session)
        if identity is None:
            await self.end(session_id)
            return None
        entry = _Cached(identity, session.expires_at.timestamp(), session.last_seen_at.timestamp(), now)
        self._cache[session_id] = entry
        return entry

    async def _identity(self, session: Session) -> Identity | None:
        if session.identity_source == STATIC_ID:
            ok = self.static is not None and session.user_id == STATIC_ID
            return self.static.identity(session) if ok and self.static else None
        user = await users(self.runtime).get(session.user_id)
        if user is None or not user.enabled:
            return None
        return Identity(
            user_id=user.id,
            username=user.username,
            role=user.role,
            source=user.identity_source,
            session_id=session.id,
            csrf_token=session.csrf_token,
            must_change_pw=session.must_change_pw,
            email=user.email or "",
        )

    # --- end and invalidate -------------------------------------------------------------------

    async def end(self, session_id: str) -> Session | None:
        """Delete one session (logout, expiry, refused user); return it when it existed."""
        self._cache.pop(session_id, None)
        self._pending.pop(session_id, None)
        return await sessions(self.runtime).delete(session_id)

    async def end_for_user(self, user_id: str, *, keep: str = "") -> None:
        """Delete every session of ``user_id`` except ``keep``."""
        for session_id in await sessions(self.runtime).delete_for_user(user_id, keep=keep):
            self._cache.pop(session_id, None)
            self._pending.pop(session_id, None)
        self.forget_user(user_id)

    def forget_user(self, user_id: str) -> None:
        """Drop cached identities of ``user_id`` so its next request re-reads the database."""
        for session_id in [sid for sid, e in self._cache.items() if e.identity.user_id == user_id]:
            del self._cache[session_id]

    async def clear_must_change(self, session_id: str) -> None:
        """Clear flag bit 0 on a session after its user changed the password."""
        await sessions(self.runtime).set_flags(session_id, 0)
        self._cache.pop(session_id, None)

    # --- background work ----------------------------------------------------------------------

    async def flush(self) -> None:
        """Write pending last-seen times in one batch."""
        pending, self._pending = self._pending, {}
        if pending:
            await sessions(self.runtime).touch({sid: at(ts) for sid, ts in pending.items()})

    async def purge(self) -> int:
        """Delete expired and idle sessions and reap stale cache entries."""
        now = self.runtime.clock()
        for sid in [sid for sid, e in self._cache.items() if now - e.loaded_at >= CACHE_TTL]:
            del self._cache[sid]
        idle = self.runtime.settings.auth.session.idle_timeout
        return await sessions(self.runtime).purge_expired(at(now), at(now - idle))

    async def run_every(self, seconds: float, name: str) -> None:
        """Loop forever running ``flush`` or ``purge``; failures are logged and retried."""
        job = self.flush if name == "flush" else self.purge
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("session %s failed", name)


def manager(runtime: Runtime) -> SessionManager:
    """The Runtime's session manager (installed by the auth_local plugin at start-up)."""
    return runtime.get(SESSIONS)
