"""Every root-key-sealed value in the SQLite file, rewritten in one transaction (``rotate-key``).

The declared sealed columns are the core schema's (``backends.secret_key_enc``,
``s3_credentials.secret_key_enc``). Every other table and column is swept for blobs that start
with the sealed layout's header (``0x01 0x00``) and are long enough to hold a nonce and a tag:
plugins that seal data in their own tables are re-sealed too, without having to register.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, LiteralString

from stowage.core.contracts.sealed import SealedValue
from stowage.core.contracts.store import Transaction

if TYPE_CHECKING:
    from stowage.plugins.sqlite.store import SqliteStore

__all__ = ["DECLARED", "SqliteSealed"]

DECLARED: tuple[tuple[str, str], ...] = (("backends", "secret_key_enc"), ("s3_credentials", "secret_key_enc"))
"""(table, column) pairs the core schema seals."""

# A swept blob must hold the 2-byte header, a 12-byte nonce and a 16-byte tag: at least 30 bytes.
_SKIP_TABLES = frozenset({"schema_migrations", "plugin_migrations"})


def _ident(name: str) -> LiteralString:
    # Identifiers come from sqlite_master / table_info of this very file, not from input; quoting
    # keeps any name (even one with a quote in it) a single identifier. (mypy reads LiteralString
    # as str, so these annotations document intent rather than prove it.)
    return '"' + name.replace('"', '""') + '"'


async def _tables(tx: Transaction) -> list[tuple[str, list[str], list[str]]]:
    """Every user table: its name, its columns, and the columns that identify a row."""
    out = []
    for row in await tx.fetchall(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ):
        name, sql = str(row["name"]), str(row["sql"] or "")
        if name in _SKIP_TABLES:
            continue
        info = await tx.fetchall(f"SELECT name, pk FROM pragma_table_info({_quote_literal(name)})")
        columns = [str(col["name"]) for col in info]
        keys = [str(col["name"]) for col in sorted(info, key=lambda c: int(c["pk"])) if int(col["pk"]) > 0]
        if "WITHOUT ROWID" not in sql.upper():
            keys = keys or ["rowid"]
        if keys:
            out.append((name, columns, keys))
    return out


def _quote_literal(text: str) -> LiteralString:
    return "'" + text.replace("'", "''") + "'"


class SqliteSealed:
    """``store.sealed`` over the store's open database."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def rewrite(
        self,
        reseal: Callable[[SealedValue], bytes | None],
        verify: Callable[[SealedValue], None],
    ) -> list[SealedValue]:
        """See ``SealedDataRepository.rewrite``: all values in one transaction, verified before commit."""
        async with self._store.db.transaction() as tx:
            found = await self._find(tx)
            written: list[SealedValue] = []
            for value in found:
                blob = reseal(value)
                if blob is None:
                    continue
                await tx.execute(
                    f"UPDATE {_ident(value.table)} SET {_ident(value.column)} = ? WHERE {_where(value)}",
                    (blob, *(v for _, v in value.row)),
                )
                written.append(value)
            checked = []
            for value in written:
                row = await tx.fetchone(
                    f"SELECT {_ident(value.column)} AS blob FROM {_ident(value.table)} WHERE {_where(value)}",
                    tuple(v for _, v in value.row),
                )
                again = SealedValue(
                    value.table,
                    value.column,
                    value.row,
                    bytes(row["blob"] or b"") if row else b"",
                    value.declared,
                )
                verify(again)
                checked.append(again)
            return checked

    async def _find(self, tx: Transaction) -> list[SealedValue]:
        found: list[SealedValue] = []
        for table, columns, keys in await _tables(tx):
            key_sql = ", ".join(_ident(k) for k in keys)
            for column in columns:
                if column in keys:
                    continue
                declared = (table, column) in DECLARED
                test: LiteralString = (
                    f"{_ident(column)} IS NOT NULL AND length({_ident(column)}) > 0"
                    if declared
                    else f"typeof({_ident(column)}) = 'blob' AND length({_ident(column)}) >= 30"
                    f" AND substr({_ident(column)}, 1, 2) = x'0100'"
                )
                rows = await tx.fetchall(
                    f"SELECT {key_sql}, {_ident(column)} AS __sealed FROM {_ident(table)} WHERE {test}"
                    f" ORDER BY {key_sql}"
                )
                for row in rows:
                    ident: tuple[tuple[str, Any], ...] = tuple((k, row[i]) for i, k in enumerate(keys))
                    blob = row["__sealed"]
                    data = (
                        bytes(blob)
                        if isinstance(blob, bytes | bytearray | memoryview)
                        else str(blob).encode()
                    )
                    found.append(SealedValue(table, column, ident, data, declared))
        return found


def _where(value: SealedValue) -> LiteralString:
    return " AND ".join(f"{_ident(name)} = ?" for name, _ in value.row)
