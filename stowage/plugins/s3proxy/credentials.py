"""The store-backed credential cache and the default ``stowage_credential_lookup``.

``StoreCredentialCache`` keeps every enabled, unexpired row of ``s3_credentials`` unsealed in
memory. It is rebuilt after every credential mutation through the API (``reload()``, awaited
before the response is sent, so revocation is immediate) and every 30 s (``run_periodic()``);
after each rebuild ``on_reload`` runs (the proxy passes its ``SigningKeyCache.clear``). Expiry is
re-checked on each ``get()`` against ``runtime.clock``.

A credential acts with its owner's rights, never more: each rebuild reads the owners' accounts too, so a
credential of a disabled owner is left out (``InvalidAccessKeyId``) and one of a ``readonly``
owner is cached ``read_only``. User changes rebuild the cache before their response
(``stowage.core.contracts.credentials.owner_rights_changed``), so no request pays a database query for it.
An owner id with no local account (an identity from another source) leaves the credential as is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from stowage.core.contracts.accounts import User, UserFilter, users
from stowage.core.contracts.credentials import CREDENTIALS, CredentialRepository, VirtualCredential
from stowage.core.kernel.errors import SecretKeyError
from stowage.hooks import hookimpl

if TYPE_CHECKING:
    from stowage.core.contracts.credentials import StoredCredential
    from stowage.core.kernel.runtime import Runtime

__all__ = [
    "RELOAD_INTERVAL",
    "CredentialRepository",
    "StoreCredentialCache",
    "credential_repository",
    "stowage_credential_lookup",
]

log = logging.getLogger("stowage.s3proxy.credentials")

RELOAD_INTERVAL = 30.0
"""Seconds between periodic rebuilds (the cache is at most this stale without API mutations)."""


def credential_repository(runtime: Runtime) -> CredentialRepository:
    """The store's credential repository."""
    return runtime.store.credentials


def _nothing() -> None:
    return None


class StoreCredentialCache:
    """In-memory credentials by access key, loaded from ``runtime.store.credentials``."""

    def __init__(
        self,
        runtime: Runtime,
        on_reload: Callable[[], None] = _nothing,
        *,
        interval: float = RELOAD_INTERVAL,
    ) -> None:
        self._runtime = runtime
        self._on_reload = on_reload
        self._interval = interval
        self._entries: dict[str, VirtualCredential] = {}
        # Serialises rebuilds: a slow rebuild that started before a mutation must not finish
        # after (and overwrite) the rebuild that the mutation triggered.
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def now(self) -> datetime:
        """The Runtime's clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self._runtime.clock(), UTC)

    def get(self, access_key: str) -> VirtualCredential | None:
        """The credential for ``access_key`` when it is cached and still usable, else None."""
        cred = self._entries.get(access_key)
        if cred is None or not cred.usable(self.now()):
            return None
        return cred

    async def reload(self) -> None:
        """Rebuild from the store, then call ``on_reload`` (flushes derived signing keys)."""
        async with self._lock:
            rows = await credential_repository(self._runtime).list()
            owners = await self._owners(rows)
            now = self.now()
            entries: dict[str, VirtualCredential] = {}
            for row in rows:
                owner = owners.get(row.user_id) if row.user_id else None
                if owner is not None and not owner.enabled:
                    continue  # suspended with its owner; re-enabling the owner restores it
                cred = self._unseal(row, now, read_only=owner is not None and owner.role == "readonly")
                if cred is not None:
                    entries[cred.access_key] = cred
            self._entries = entries
        self._on_reload()

    async def _owners(self, rows: Sequence[StoredCredential]) -> dict[str, User]:
        """The local accounts that own any of ``rows``, by id."""
        if not any(row.user_id for row in rows) or getattr(self._runtime.store, "users", None) is None:
            return {}
        everyone = await users(self._runtime).list(UserFilter(limit=2**31))
        return {user.id: user for user in everyone}

    def _unseal(
        self, row: StoredCredential, now: datetime, *, read_only: bool = False
    ) -> VirtualCredential | None:
        if not row.enabled or (row.expires_at is not None and row.expires_at <= now):
            return None
        if row.defect:
            log.warning("credential skipped", extra={"access_key": row.access_key, "reason": row.defect})
            return None
        box = self._runtime.secret_box
        try:
            if box is None:
                raise SecretKeyError("no root key configured")
            secret = box.unseal_text(row.secret_key_enc)
            if not secret:
                raise SecretKeyError("empty secret")
        except (SecretKeyError, UnicodeDecodeError) as exc:
            log.warning("credential skipped", extra={"access_key": row.access_key, "reason": str(exc)})
            return None
        return VirtualCredential(
            access_key=row.access_key,
            secret_key=secret,
            backend_id=row.backend_id,
            buckets=row.buckets,
            user_id=row.user_id,
            description=row.description,
            enabled=row.enabled,
            expires_at=row.expires_at,
            read_only=read_only,
        )

    async def run_periodic(self) -> None:
        """Rebuild every ``interval`` seconds until cancelled; a failed rebuild is logged."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.reload()
            except Exception:
                log.exception("credential cache reload failed")


@hookimpl(trylast=True)
def stowage_credential_lookup(access_key_id: str, runtime: Runtime) -> VirtualCredential | None:
    """Default source: answer from the store-backed cache (``runtime.get(CREDENTIALS)``)."""
    cache = runtime.find(CREDENTIALS)
    return cache.get(access_key_id) if cache is not None else None
