"""The proxy's own upstream connections obey ``backend_network.denied_networks`` at connect time
(issue 11 item 14): a backend whose host name resolves into a denied network (a rebound name) is
never reached through the proxy, while the same backend under the default list works."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import botocore.exceptions
import pytest

from tests.plugins.s3proxy.proxyenv import proxy_env


def _by_name(upstream) -> list[dict]:
    port = urlsplit(upstream.endpoint_url).port
    return [
        {
            "id": "up",
            "type": "s3v4",
            "endpoint": f"http://localhost:{port}",
            "access_key_env": "PROXY_UP_AK",
            "secret_key_env": "PROXY_UP_SK",
            "path_style": True,
        }
    ]


async def test_proxy_refuses_a_backend_name_resolving_into_a_denied_network(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    denied = {
        "backends": _by_name(rclone_upstream),
        "backend_network": {"denied_networks": ["127.0.0.0/8", "::1/128"]},
    }
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch, settings=denied) as env:
        client = env.client()
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            await asyncio.to_thread(client.put_object, Bucket=env.bucket, Key="k", Body=b"x")
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
        with pytest.raises(botocore.exceptions.ClientError):
            await asyncio.to_thread(client.list_objects_v2, Bucket=env.bucket)
    async with proxy_env(
        stowage_factory, rclone_upstream, monkeypatch, settings={"backends": _by_name(rclone_upstream)}
    ) as env:  # the control: the default list lets the same name through
        client = env.client()
        await asyncio.to_thread(client.put_object, Bucket=env.bucket, Key="k", Body=b"x")
        body = await asyncio.to_thread(lambda: client.get_object(Bucket=env.bucket, Key="k")["Body"].read())
        assert body == b"x"
