"""Helpers for the audit plugin tests: a header-based test authenticator and row access."""

from __future__ import annotations

from typing import Any

from stowage.core.contracts.identity import Identity
from stowage.hooks import hookimpl

ROLE_HEADER = "X-Test-Role"


class HeaderAuth:
    """Authenticates ``/api`` requests from ``X-Test-Role`` (admin/user/readonly); tests only."""

    @hookimpl
    def stowage_authenticate(self, request: Any, runtime: Any) -> Identity | None:
        role = request.headers.get(ROLE_HEADER)
        if not role:
            return None
        return Identity(user_id=f"test-{role}", username=role, role=role, source="test")


AUTH_PLUGIN = ("test_header_auth", HeaderAuth())
ADMIN = {ROLE_HEADER: "admin"}


async def audit_rows(runtime: Any) -> list[dict[str, Any]]:
    """Every audit_events row, oldest first, as dicts."""
    rows = await runtime.store.db.fetchall("SELECT * FROM audit_events ORDER BY id")
    return [dict(zip(row.keys(), row, strict=True)) for row in rows]
