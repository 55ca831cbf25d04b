"""Pytest fixtures that give a test a real S3 upstream, a fresh bucket, and hermetic boto3 clients.

``rclone_upstream`` and ``seaweed_upstream`` are session-scoped (one server per run);
``s3_bucket`` is a new, uniquely named bucket on ``rclone_upstream`` for each test.
Clients never read ``~/.aws``, ``AWS_PROFILE`` or environment credentials: keys are explicit.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.configprovider import ConstantProvider
from botocore.exceptions import ClientError

from stowage.testing.upstreams import REGION, RcloneUpstream, SeaweedFSUpstream

__all__ = [
    "S3ClientFactory",
    "boto3_client_factory",
    "make_s3_client",
    "rclone_upstream",
    "s3_bucket",
    "seaweed_upstream",
]

TEST_ACCESS_KEY = "stowage-test-access"

S3ClientFactory = Callable[..., Any]


def make_s3_client(
    endpoint_url: str, access_key: str, secret_key: str, *, region: str = REGION, config: Config | None = None
) -> Any:
    """A boto3 S3 client for a test server: SigV4, path-style, no retries, no shared config files.

    ``config`` is merged over the defaults. Close the client (``client.close()``) when done.
    """
    import boto3  # type: ignore[import-untyped]  # dev extra: imported only when a client is built

    core = botocore.session.Session()
    store = core.get_component("config_store")
    # Constants beat both the environment and ~/.aws: AWS_PROFILE cannot name a missing profile.
    for name, value in (("profile", None), ("config_file", os.devnull), ("credentials_file", os.devnull)):
        store.set_config_provider(name, ConstantProvider(value))
    base = Config(
        signature_version="s3v4",  # a custom endpoint otherwise presigns with SigV2
        s3={"addressing_style": "path"},
        retries={"total_max_attempts": 1, "mode": "standard"},  # a test must see the first failure
        connect_timeout=5,
        read_timeout=30,
    )
    session = boto3.session.Session(botocore_session=core, region_name=region)
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=base.merge(config) if config is not None else base,
    )


@pytest.fixture(scope="session")
def boto3_client_factory() -> Iterator[S3ClientFactory]:
    """``factory(endpoint_url, access_key, secret_key, *, region=..., config=None)`` -> S3 client.

    Clients it built are closed at the end of the session.
    """
    clients: list[Any] = []

    def factory(*args: Any, **kwargs: Any) -> Any:
        client = make_s3_client(*args, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def rclone_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RcloneUpstream]:
    """``rclone serve s3`` on a free loopback port over a session temp dir."""
    root = tmp_path_factory.mktemp("rclone-upstream")
    with RcloneUpstream(root / "data", TEST_ACCESS_KEY, secrets.token_hex(16)) as upstream:
        yield upstream


@pytest.fixture(scope="session")
def seaweed_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFSUpstream]:
    """SeaweedFS ``weed mini`` on a free loopback port block over a session temp dir."""
    root = tmp_path_factory.mktemp("seaweed-upstream")
    with SeaweedFSUpstream(root, TEST_ACCESS_KEY, secrets.token_hex(16)) as upstream:
        yield upstream


@pytest.fixture
def s3_bucket(rclone_upstream: RcloneUpstream) -> Iterator[str]:
    """Name of a new empty bucket on ``rclone_upstream``; emptied and deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    client = make_s3_client(
        rclone_upstream.endpoint_url, rclone_upstream.access_key, rclone_upstream.secret_key
    )
    try:
        client.create_bucket(Bucket=name)
        yield name
        _delete_bucket(client, name)
    finally:
        client.close()


def _delete_bucket(client: Any, name: str) -> None:
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", ()):
                client.delete_object(Bucket=name, Key=obj["Key"])
        client.delete_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":  # the test removed it already
            raise
