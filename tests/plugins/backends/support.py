"""Test plumbing for the storage API: a header-driven authenticator, an audit capture, and a
small client that talks to a running Stowage with a role."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import aiohttp

from stowage.core.audit import AUDIT, AuditEvent
from stowage.core.identity import Identity
from stowage.hooks import hookimpl


class _Capture:
    """Stands in for the audit recorder when the audit plugin is not there."""

    def __init__(self, events: list[AuditEvent]) -> None:
        self.events = events

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    async def flush(self) -> None:
        return None


class TestSupport:
    """Plugin: ``X-Test-Role: admin|user|readonly`` authenticates; audit events are collected."""

    __test__ = False

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    @hookimpl(tryfirst=True)
    def stowage_authenticate(self, request: Any, runtime: Any) -> Identity | None:
        role = request.headers.get("X-Test-Role", "")
        if not role:
            return None
        return Identity(user_id=f"user-{role}", username=role, role=role)

    @hookimpl
    def stowage_audit_export(self, events: Any, runtime: Any) -> None:
        self.events.extend(events)

    @hookimpl(trylast=True)
    def stowage_startup(self, runtime: Any) -> None:
        if runtime.find(AUDIT) is None:
            runtime.provide(AUDIT, _Capture(self.events))


def backend_entry(bid: str, endpoint: str) -> dict[str, Any]:
    return {
        "id": bid,
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

    async def upload(self, bid: str, bucket: str, key: str, data: bytes, **kwargs: Any) -> tuple[int, Any]:
        form = aiohttp.FormData()
        form.add_field("key", key)
        form.add_field("file", io.BytesIO(data), filename="upload.bin", content_type="application/x-test")
        return await self.call("POST", f"/api/backends/{bid}/buckets/{bucket}/object", data=form, **kwargs)

    async def audit(self, action: str | None = None) -> list[AuditEvent]:
        recorder = self.stowage.runtime.find(AUDIT)
        if recorder is not None:
            await recorder.flush()
        return [e for e in self.support.events if action is None or e.action == action]
