"""A Stowage with one backend on each kind of test upstream: ``sw`` on SeaweedFS (versioning, tags,
policy and lifecycle) and ``rc`` on ``rclone serve s3`` (none of them), plus direct S3 clients of
both so tests can check what really reached the upstream."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from botocore.exceptions import ClientError

from stowage.testing.fixtures_s3 import make_s3_client
from tests.plugins.backends.support import Api, TestSupport


def settings_path(backend_id: str, bucket: str, rest: str) -> str:
    return f"/api/backends/{backend_id}/buckets/{bucket}/{rest}"


@dataclass
class Pair:
    api: Api
    seaweed: Any
    rclone: Any
    created: list[tuple[Any, str]] = field(default_factory=list)

    def bucket(self, backend_id: str) -> str:
        """A new bucket on the upstream behind ``sw`` or ``rc``; removed at the end."""
        client = self.seaweed if backend_id == "sw" else self.rclone
        name = f"bc-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=name)
        self.created.append((client, name))
        return name

    def client(self, backend_id: str) -> Any:
        return self.seaweed if backend_id == "sw" else self.rclone


def _entry(backend_id: str, endpoint: str, env: str) -> dict[str, Any]:
    return {
        "id": backend_id,
        "type": "s3v4",
        "endpoint": endpoint,
        "access_key_env": f"{env}_AK",
        "secret_key_env": f"{env}_SK",
        "path_style": True,
    }


def _remove(client: Any, bucket: str) -> None:
    with contextlib.suppress(ClientError):
        try:
            pages = client.get_paginator("list_object_versions").paginate(Bucket=bucket)
            for page in pages:
                for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    client.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
        except ClientError:  # rclone lists no versions
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for entry in page.get("Contents", ()):
                    client.delete_object(Bucket=bucket, Key=entry["Key"])
        client.delete_bucket(Bucket=bucket)


@contextlib.asynccontextmanager
async def upstream_pair(
    stowage_factory: Any, seaweed: Any, rclone: Any, monkeypatch: Any
) -> AsyncIterator[Pair]:
    env = {"SW_AK": seaweed.access_key, "SW_SK": seaweed.secret_key}
    env |= {"RC_AK": rclone.access_key, "RC_SK": rclone.secret_key}
    for name, value in env.items():  # the registry reads settings-file keys from os.environ
        monkeypatch.setenv(name, value)
    settings = {
        "backends": [_entry("sw", seaweed.endpoint_url, "SW"), _entry("rc", rclone.endpoint_url, "RC")]
    }
    support = TestSupport()
    clients = [make_s3_client(up.endpoint_url, up.access_key, up.secret_key) for up in (seaweed, rclone)]
    try:
        async with (
            stowage_factory(settings, env=env, plugins=[("testsupport", support)]) as stowage,
            aiohttp.ClientSession() as http,
        ):
            pair = Pair(Api(stowage, http, support), *clients)
            try:
                yield pair
            finally:
                for client, bucket in pair.created:
                    _remove(client, bucket)
    finally:
        for client in clients:
            client.close()
