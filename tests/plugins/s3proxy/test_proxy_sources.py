"""``stowage_proxy_sources``: plugin-fed credentials and bindings appear in the admin views (API-50)."""

from __future__ import annotations

import types
from typing import Any

from stowage.hooks import hookimpl
from tests.plugins.quotas.support import policy_env


class VaultSource:
    name = "vault"

    async def list_credentials(self) -> list[dict[str, Any]]:
        return [{"access_key": "AKIAVAULT00000000000", "backend_id": "up", "secret_key": "never shown"}]

    def list_anonymous(self) -> list[dict[str, Any]]:
        return [{"backend_id": "up", "bucket": "vault-public"}]


class CredentialsOnly:
    """A source without ``list_anonymous`` contributes nothing to that view."""

    name = "partial"

    def list_credentials(self) -> list[dict[str, Any]]:
        return [{"access_key": "AKIAPARTIAL000000000", "secret": "dropped too"}]


VAULT = types.SimpleNamespace(
    stowage_proxy_sources=hookimpl(lambda runtime: [VaultSource(), CredentialsOnly()])
)


async def test_hook_stowage_proxy_sources(stowage_factory, rclone_upstream, monkeypatch) -> None:
    def factory(merged: dict[str, Any], plugins: Any = ()) -> Any:
        return stowage_factory(merged, plugins=[*plugins, ("vault", VAULT)])

    async with policy_env(factory, rclone_upstream, monkeypatch) as env:
        status, creds = await env.api.call("GET", "/api/admin/s3-proxy/credentials")
        assert status == 200
        by_source = {c["source"]: c for c in creds["credentials"]}
        assert set(by_source) == {"sqlite", "vault", "partial"}
        assert by_source["vault"] == {
            "access_key": "AKIAVAULT00000000000",
            "backend_id": "up",
            "source": "vault",
        }
        assert by_source["partial"] == {"access_key": "AKIAPARTIAL000000000", "source": "partial"}
        status, view = await env.api.call("GET", "/api/admin/s3-proxy/anonymous")
        assert status == 200
        assert view["bindings"] == [{"backend_id": "up", "bucket": "vault-public", "source": "vault"}]
