"""The proxy end to end with boto3 against a real rclone upstream."""

from __future__ import annotations

import asyncio

import botocore.exceptions
import pytest

from tests.plugins.s3proxy.proxyenv import proxy_env, upstream_client


async def test_put_get_list_head_delete_through_the_proxy(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        s3 = env.client()
        body = b"hello stowage " * 1000
        await asyncio.to_thread(s3.put_object, Bucket=env.bucket, Key="dir/a b+c.txt", Body=body)
        got = await asyncio.to_thread(s3.get_object, Bucket=env.bucket, Key="dir/a b+c.txt")
        assert await asyncio.to_thread(got["Body"].read) == body
        assert got["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
        listed = await asyncio.to_thread(s3.list_objects_v2, Bucket=env.bucket, Prefix="dir/")
        assert [o["Key"] for o in listed["Contents"]] == ["dir/a b+c.txt"]
        head = await asyncio.to_thread(s3.head_object, Bucket=env.bucket, Key="dir/a b+c.txt")
        assert head["ContentLength"] == len(body)
        await asyncio.to_thread(s3.delete_object, Bucket=env.bucket, Key="dir/a b+c.txt")
        direct = upstream_client(rclone_upstream)
        listed = await asyncio.to_thread(direct.list_objects_v2, Bucket=env.bucket)
        assert listed.get("KeyCount", 0) == 0


async def test_list_buckets_is_the_scope_and_other_buckets_are_denied(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        s3 = env.client()
        names = [b["Name"] for b in (await asyncio.to_thread(s3.list_buckets))["Buckets"]]
        assert names == [env.bucket]
        other = env.extra_buckets[0]
        with pytest.raises(botocore.exceptions.ClientError) as denied:
            await asyncio.to_thread(s3.list_objects_v2, Bucket=other)
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        wrong = env.client(secret_key="0" * 40)
        with pytest.raises(botocore.exceptions.ClientError) as bad:
            await asyncio.to_thread(wrong.list_objects_v2, Bucket=env.bucket)
        assert bad.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
