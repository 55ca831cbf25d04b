"""Helpers for the share tests: a header authenticator, an audit capture, a started Stowage with
one ``s3v4`` backend on the rclone upstream, a fake clock and a small HTTP client."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from stowage.core.contracts.audit import AUDIT
from stowage.testing.fixtures_s3 import make_s3_client
from stowage.testing.stand_ins import ROLE_HEADER, USER_HEADER, AuditCapture, HeaderAuth

USER = USER_HEADER
ROLE = ROLE_HEADER
ALICE = {USER: "alice", ROLE: "user"}
BOB = {USER: "bob", ROLE: "user"}
ADMIN = {USER: "root", ROLE: "admin"}
READER = {USER: "rita", ROLE: "readonly"}


class FakeClock:
    """A settable ``runtime.clock``."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Env:
    """A running Stowage plus an S3 client on the same upstream bucket."""

    stowage: Any
    http: aiohttp.ClientSession
    s3: Any
    bucket: str
    audit: AuditCapture
    clock: FakeClock

    @property
    def base(self) -> str:
        return self.stowage.dashboard_url

    @property
    def runtime(self) -> Any:
        return self.stowage.runtime

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    async def create(self, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
        """Create a share (201 expected) for ``body`` (backend and bucket filled in)."""
        body.setdefault("backend_id", "main")
        body.setdefault("bucket", self.bucket)
        async with self.http.post(f"{self.base}/api/shares", json=body, headers=headers or ALICE) as r:
            payload = await r.json()
            assert r.status == 201, payload
            return payload  # type: ignore[no-any-return]

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
        """``(status, headers, json-or-bytes)`` for one request."""
        async with self.http.request(method, f"{self.base}{path}", allow_redirects=False, **kwargs) as r:
            raw = await r.read()
            is_json = r.headers.get("Content-Type", "").startswith("application/json")
            return r.status, r.headers, (await r.json() if is_json and raw else raw)


def settings(rclone: Any, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "backends": [
            {
                "id": "main",
                "type": "s3v4",
                "endpoint": rclone.endpoint_url,
                "access_key_env": "SH_AK",
                "secret_key_env": "SH_SK",
                "path_style": True,
            }
        ],
        "ratelimit": {"share_per_minute": 100000},
    }
    for key, value in extra.items():
        base[key] = {**base.get(key, {}), **value}
    return base


@contextlib.asynccontextmanager
async def share_env(
    stowage_factory: Any, rclone: Any, bucket: str, monkeypatch: Any, **extra: Any
) -> AsyncIterator[Env]:
    """Start Stowage with backend ``main`` on ``rclone``; yield an ``Env``."""
    monkeypatch.setenv("SH_AK", rclone.access_key)
    monkeypatch.setenv("SH_SK", rclone.secret_key)
    audit = AuditCapture()
    plugins = [
        ("test_header_auth", HeaderAuth(user_id="{user}", username="{user}", require_user=True)),
        ("test_audit_capture", audit),
    ]
    async with stowage_factory(settings=settings(rclone, **extra), plugins=plugins) as running:
        if running.runtime.find(AUDIT) is None:
            running.runtime.provide(AUDIT, audit)
        clock = FakeClock()
        running.runtime.clock = clock
        s3 = make_s3_client(rclone.endpoint_url, rclone.access_key, rclone.secret_key)
        try:
            async with aiohttp.ClientSession() as http:
                yield Env(running, http, s3, bucket, audit, clock)
        finally:
            s3.close()


def cookie_from(headers: Any, name: str) -> str:
    """The value of cookie ``name`` in a response's Set-Cookie headers ('' when absent)."""
    for header in headers.getall("Set-Cookie", []):
        first = header.split(";", 1)[0]
        cname, _, value = first.partition("=")
        if cname.strip() == name:
            return value.strip()
    return ""
