"""Test plumbing for the storage API: the kit's header authenticator and audit capture in one
plugin, and a small client that talks to a running Stowage with a role."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import aiohttp

from stowage.core.contracts.audit import AUDIT, AuditEvent
from stowage.testing.stand_ins import AuditCapture, HeaderAuth


class TestSupport(HeaderAuth, AuditCapture):
    """Plugin: ``X-Test-Role: admin|user|readonly`` authenticates as ``user-<role>``; audit events
    are collected in ``events``."""

    __test__ = False

    def __init__(self) -> None:
        HeaderAuth.__init__(self, user_id="user-{role}", username="{role}", source="local")
        AuditCapture.__init__(self)


def backend_entry(backend_id: str, endpoint: str) -> dict[str, Any]:
    return {
        "id": backend_id,
        "type": "s3v4",
        "endpoint": endpoint,
        "access_key_env": "T_AK",
        "secret_key_env": "T_SK",
        "path_style": True,
    }


class Api:
    """Calls the dashboard of one running Stowage as a given role."""

    def __init__(self, stowage: Any, http: aiohttp.ClientSession, support: TestSupport) -> None:
        self.stowage, self.http, self.support = stowage, http, support
        self.base = stowage.dashboard_url

    def url(self, path: str) -> str:
        return self.base + path

    @contextlib.asynccontextmanager
    async def request(self, method: str, path: str, role: str = "admin", **kwargs: Any) -> Any:
        headers = {"X-Test-Role": role, **kwargs.pop("headers", {})}
        async with self.http.request(method, self.url(path), headers=headers, **kwargs) as response:
            yield response

    async def call(self, method: str, path: str, role: str = "admin", **kwargs: Any) -> tuple[int, Any]:
        async with self.request(method, path, role, **kwargs) as response:
            raw = await response.read()
            if response.content_type == "application/json" and raw:
                return response.status, await response.json()
            return response.status, raw

    async def upload(
        self, backend_id: str, bucket: str, key: str, data: bytes, **kwargs: Any
    ) -> tuple[int, Any]:
        form = aiohttp.FormData()
        form.add_field("key", key)
        form.add_field("file", io.BytesIO(data), filename="upload.bin", content_type="application/x-test")
        return await self.call(
            "POST", f"/api/backends/{backend_id}/buckets/{bucket}/object", data=form, **kwargs
        )

    async def audit(self, action: str | None = None) -> list[AuditEvent]:
        recorder = self.stowage.runtime.find(AUDIT)
        if recorder is not None:
            await recorder.flush()
        return [e for e in self.support.events if action is None or e.action == action]
