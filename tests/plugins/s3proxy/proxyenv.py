"""A running Stowage with the S3 proxy in front of a real upstream, and credentials minted in the store."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from stowage.core.contracts.credentials import CREDENTIALS
from stowage.core.formats.timefmt import utcnow


@dataclass
class ProxyEnv:
    stowage: Any
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    upstream: Any
    extra_buckets: list[str] = field(default_factory=list)

    @property
    def runtime(self) -> Any:
        return self.stowage.runtime

    def client(self, access_key: str | None = None, secret_key: str | None = None, **config: Any) -> Any:
        session = boto3.session.Session()
        return session.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name="us-east-1",
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                **config,
            ),
        )

    async def mint(self, buckets: Sequence[str], **fields: Any) -> tuple[str, str]:
        """Store a credential directly (the API has its own tests) and reload the cache."""
        access_key = "AKIA" + secrets.token_hex(8).upper()
        secret = secrets.token_hex(20)
        box = self.runtime.secret_box
        await self.runtime.store.credentials.insert(
            access_key=access_key,
            secret_key_enc=box.seal(secret),
            backend_id="up",
            buckets=list(buckets),
            created_at=utcnow(),
            **fields,
        )
        await self.runtime.get(CREDENTIALS).reload()
        return access_key, secret


def upstream_client(upstream: Any) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=upstream.endpoint_url,
        aws_access_key_id=upstream.access_key,
        aws_secret_access_key=upstream.secret_key,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@contextlib.asynccontextmanager
async def proxy_env(
    stowage_factory: Any,
    upstream: Any,
    monkeypatch: Any,
    settings: dict[str, Any] | None = None,
    buckets: int = 2,
) -> AsyncIterator[ProxyEnv]:
    monkeypatch.setenv("PROXY_UP_AK", upstream.access_key)
    monkeypatch.setenv("PROXY_UP_SK", upstream.secret_key)
    names = [f"px-{uuid.uuid4().hex[:12]}" for _ in range(buckets)]
    direct = upstream_client(upstream)
    for name in names:
        await asyncio.to_thread(direct.create_bucket, Bucket=name)
    merged: dict[str, Any] = {
        "s3_proxy": {"enabled": True},
        "backends": [
            {
                "id": "up",
                "type": "s3v4",
                "endpoint": upstream.endpoint_url,
                "access_key_env": "PROXY_UP_AK",
                "secret_key_env": "PROXY_UP_SK",
                "path_style": True,
            }
        ],
    }
    for key, value in (settings or {}).items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    async with stowage_factory(merged) as stowage:
        env = ProxyEnv(stowage, stowage.url("s3_proxy"), "", "", names[0], upstream, names[1:])
        env.access_key, env.secret_key = await env.mint([names[0]])
        yield env
