"""The ``stowage_share_resolve`` hook: plugins serve codes of their own; the store is the default."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from stowage.core.contracts.shares import Share
from stowage.hooks import hookimpl
from tests.plugins.shares.support import share_env


class ExternalShares:
    """Serves ``ext-…`` codes from elsewhere (tryfirst); an async resolver that passes on the rest."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.asked: list[str] = []

    @hookimpl(tryfirst=True)
    def stowage_share_resolve(self, code: str, runtime: Any) -> Share | None:
        if not code.startswith("ext-"):
            return None
        return Share(
            id="ext-1",
            code=code,
            backend_id="main",
            bucket=self.bucket,
            key="ext/file.txt",
            created_by="external",
            created_at=datetime.now(UTC),
            max_downloads=1,
            source="external",
        )


class PassingResolver:
    def __init__(self) -> None:
        self.asked: list[str] = []

    @hookimpl
    async def stowage_share_resolve(self, code: str, runtime: Any) -> Share | None:
        self.asked.append(code)
        return None


async def test_hook_stowage_share_resolve(stowage_factory, rclone_upstream, s3_bucket, monkeypatch) -> None:
    external, passing = ExternalShares(s3_bucket), PassingResolver()
    async with share_env(stowage_factory, rclone_upstream, s3_bucket, monkeypatch) as env:
        env.runtime.pm.register(external, name="test_external_shares")
        env.runtime.pm.register(passing, name="test_passing_resolver")
        env.put("ext/file.txt", b"from elsewhere", "text/plain")
        status, _, info = await env.call("GET", "/s/ext-abc/info")
        assert status == 200 and info["name"] == "file.txt" and info["code"] == "ext-abc"
        assert passing.asked == []  # the tryfirst resolver answered first
        for _ in range(2):  # not counted in the store: its resolver owns its limits
            status, _, body = await env.call("GET", "/s/ext-abc/raw")
            assert status == 200 and body == b"from elsewhere"
        stored = await env.create(key="ext/file.txt")
        status, _, info = await env.call("GET", f"/s/{stored['code']}/info")
        assert status == 200 and info["code"] == stored["code"]
        assert passing.asked == [stored["code"]]  # awaited None passed on to the store default
        status, _, _ = await env.call("GET", "/s/ext-abc/../x")
        assert status == 404
