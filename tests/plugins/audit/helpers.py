"""Helpers for the audit plugin tests: the header authenticator registered, and row access."""

from __future__ import annotations

from typing import Any

from stowage.testing.stand_ins import ROLE_HEADER, HeaderAuth

__all__ = ["ADMIN", "AUTH_PLUGIN", "ROLE_HEADER", "audit_rows"]

AUTH_PLUGIN = ("test_header_auth", HeaderAuth())
ADMIN = {ROLE_HEADER: "admin"}


async def audit_rows(runtime: Any) -> list[dict[str, Any]]:
    """Every audit_events row, oldest first, as dicts."""
    rows = await runtime.store.db.fetchall("SELECT * FROM audit_events ORDER BY id")
    return [dict(zip(row.keys(), row, strict=True)) for row in rows]
