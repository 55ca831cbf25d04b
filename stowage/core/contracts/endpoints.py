"""UI-managed backends as stored: the ``EndpointRecord`` row and the repository contract.

The store plugin provides the repository as ``runtime.store.backends``. Rows keep the upstream
secret sealed (``secret_key_enc``, AES-256-GCM under the root key); only the backend registry
unseals it, and only to build a driver. Nothing here ever holds the plaintext secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["UPDATABLE_FIELDS", "EndpointRecord", "EndpointRepository", "endpoint_repository"]

UPDATABLE_FIELDS = frozenset(
    {"name", "type", "endpoint", "region", "path_style", "access_key", "secret_key_enc", "enabled"}
)
"""Columns ``EndpointRepository.update`` accepts."""


@dataclass(frozen=True)
class EndpointRecord:
    """One row of the ``backends`` table (timestamps aware UTC; the secret stays sealed)."""

    id: str
    name: str
    endpoint: str
    type: str = "s3v4"
    region: str = ""
    path_style: bool = True
    access_key: str = ""
    secret_key_enc: bytes = field(default=b"", repr=False)
    enabled: bool = True
    created_at: datetime | None = None
    created_by: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""

    @property
    def secret_set(self) -> bool:
        """Whether a sealed secret is stored (the value itself is never exposed)."""
        return bool(self.secret_key_enc)


class EndpointRepository(Protocol):
    """The ``backends`` table."""

    async def list(self) -> list[EndpointRecord]:
        """Every row, enabled or not, ordered by id."""
        ...

    async def get(self, backend_id: str) -> EndpointRecord | None:
        """The row with ``backend_id``, or None."""
        ...

    async def insert(self, record: EndpointRecord) -> bool:
        """Insert ``record`` (timestamps default to now); False when the id is already taken."""
        ...

    async def update(
        self, backend_id: str, changes: Mapping[str, Any], *, updated_by: str = ""
    ) -> EndpointRecord | None:
        """Apply a subset of ``UPDATABLE_FIELDS`` atomically; the updated row, or None if absent.

        Unknown field names raise ``ValueError``.
        """
        ...

    async def delete(self, backend_id: str) -> bool:
        """Delete the row; False when there was none."""
        ...


def endpoint_repository(runtime: Runtime) -> EndpointRepository:
    """The store's backends repository."""
    return runtime.store.backends
