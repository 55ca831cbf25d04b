"""Share links: the ``Share`` record and the ``ShareStore`` contract (SHARE-1…SHARE-11).

A share is a public code (``/s/<code>``) for one object on one backend, with an optional password,
expiry and download cap. The store's ``shares`` area (``runtime.store.shares``) implements
``ShareStore``; the built-in ``shares`` plugin serves the API and the public endpoints, and resolves
codes through the ``stowage_share_resolve`` hook so plugins can serve codes of their own.

A resolver may return a ``Share`` whose ``source`` is not ``"store"``: such shares are served the
same way, but their downloads are not counted in the store (the resolver enforces its own limits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from stowage.core.kernel.errors import StowageError

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["STORE_SOURCE", "Share", "ShareCodeTaken", "ShareStore", "share_store"]

STORE_SOURCE = "store"


class ShareCodeTaken(StowageError):
    """``ShareStore.create`` hit the unique index on ``code``; the caller draws a new code."""


@dataclass(frozen=True)
class Share:
    """One row of the ``shares`` table; ``max_downloads`` ``None`` or 0 means unlimited."""

    id: str
    code: str
    backend_id: str
    bucket: str
    key: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None = None
    password_hash: str = ""
    max_downloads: int | None = None
    download_count: int = 0
    revoked: bool = False
    revoked_at: datetime | None = None
    last_accessed_at: datetime | None = None
    disposition: str = "attachment"
    source: str = STORE_SOURCE

    def __repr__(self) -> str:  # never show the password hash
        return f"Share(id={self.id!r}, code={self.code!r}, key={self.key!r})"

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    @property
    def capped(self) -> bool:
        """True when the share has a download cap."""
        return bool(self.max_downloads)

    @property
    def downloads_left(self) -> int | None:
        """Downloads remaining under the cap, ``None`` when unlimited."""
        if not self.max_downloads:
            return None
        return max(0, self.max_downloads - self.download_count)

    def unavailable_reason(self, now: datetime) -> str:
        """``revoked`` / ``expired`` / ``exhausted`` (checked in that order, SHARE-5), or ``""``."""
        if self.revoked:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        if self.downloads_left == 0:
            return "exhausted"
        return ""


class ShareStore(Protocol):
    """The store's ``shares`` area. Timestamps are aware UTC datetimes."""

    async def create(self, share: Share) -> None:
        """Insert ``share``; raise ``ShareCodeTaken`` when its code is already used."""
        ...

    async def get(self, share_id: str) -> Share | None: ...

    async def by_code(self, code: str) -> Share | None: ...

    async def list(self, created_by: str | None = None) -> Sequence[Share]:
        """Shares newest first; only ``created_by``'s when given, else every share."""
        ...

    async def revoke(self, share_id: str, at: datetime) -> bool:
        """Mark the share revoked at ``at``; False when it was already revoked or is unknown."""
        ...

    async def claim_download(self, share_id: str, now: datetime) -> bool:
        """Atomically count one download if the share is live, unrevoked and under its cap.

        One conditional UPDATE: True when this call took a download, False when none was left.
        """
        ...


def share_store(runtime: Runtime) -> ShareStore:
    """The shares area of the Runtime's store."""
    return runtime.store.shares
