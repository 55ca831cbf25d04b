"""Values sealed with the root key, as ``stowage rotate-key`` sees them: where each lives, and one
all-or-nothing rewrite.

A store knows its declared sealed columns (the core schema has two: ``backends.secret_key_enc``
and ``s3_credentials.secret_key_enc``); those values must open with the current key. It also
sweeps every other table for blobs that carry the sealed layout's header (version ``0x01``, key
id ``0x00``, long enough for a nonce and a tag), so a plugin's own sealed columns are found too;
such a *candidate* that does not open with the current key is left alone (it is not ours).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["SealedDataRepository", "SealedValue"]


@dataclass(frozen=True, slots=True)
class SealedValue:
    """One sealed blob: its table and column, the row's key columns and values, and its bytes."""

    table: str
    column: str
    row: tuple[tuple[str, Any], ...]
    blob: bytes
    declared: bool
    """True for a declared sealed column (must open); False for a blob the sweep found."""

    @property
    def location(self) -> tuple[str, str, tuple[tuple[str, Any], ...]]:
        """What identifies this value across a read and a re-read."""
        return (self.table, self.column, self.row)

    def describe(self) -> str:
        """``table.column (key=value, …)`` for messages; never the blob."""
        keys = ", ".join(f"{name}={value!r}" for name, value in self.row)
        return f"{self.table}.{self.column} ({keys})"


class SealedDataRepository(Protocol):
    """``store.sealed``: find every sealed value and rewrite them all in one transaction."""

    async def rewrite(
        self,
        reseal: Callable[[SealedValue], bytes | None],
        verify: Callable[[SealedValue], None],
    ) -> list[SealedValue]:
        """Rewrite every sealed value atomically; return the values as written.

        Inside one write transaction: ``reseal`` is called with each value (declared columns and
        swept candidates) and returns the new blob, or None to leave the value as it is; the new
        blobs are written; each is read back and passed to ``verify``. Only when every call
        returns does the transaction commit. Anything raised (by a callback, the database, or a
        cancellation) rolls everything back and propagates: the database is then exactly as before.
        """
        ...
