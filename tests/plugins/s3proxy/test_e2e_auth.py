"""Scope, tenant operation rules, SigV4 failures, credential revocation and presigned lifetimes,
with boto3 (and hand-signed requests where boto3 cannot express the request) against rclone."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import aiohttp
import botocore.exceptions
import pytest

from stowage.core.contracts.credentials import CREDENTIALS
from stowage.core.formats.timefmt import utcnow
from tests.plugins.s3proxy.e2e import metric, sign_head, upstream_keys
from tests.plugins.s3proxy.proxyenv import ProxyEnv, proxy_env, upstream_client


async def _error(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await asyncio.to_thread(call, *args, **kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


async def _raw(
    method: str, url: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as session, session.request(method, url, headers=headers) as response:
        return response.status, dict(response.headers), await response.read()


def _xml(body: bytes) -> dict[str, str]:
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ElementTree.fromstring(body)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


async def test_list_buckets_is_exactly_the_scope(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch, buckets=3) as env:
        listed = await asyncio.to_thread(env.client().list_buckets)
        assert [b["Name"] for b in listed["Buckets"]] == [env.bucket]
        two = env.extra_buckets[:1] + [env.bucket]
        key, secret = await env.mint(two)
        listed = await asyncio.to_thread(env.client(key, secret).list_buckets)
        assert [b["Name"] for b in listed["Buckets"]] == two
        # the upstream has more buckets than either credential sees
        assert len((await asyncio.to_thread(upstream_client(rclone_upstream).list_buckets))["Buckets"]) >= 3


async def test_other_bucket_and_bucket_admin_are_denied(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        s3 = env.client()
        a, b = env.bucket, env.extra_buckets[0]
        direct = upstream_client(rclone_upstream)
        await asyncio.to_thread(direct.put_object, Bucket=b, Key="secret.txt", Body=b"top secret")
        await asyncio.to_thread(s3.put_object, Bucket=a, Key="mine.txt", Body=b"mine")
        violations = metric(env.runtime, "stowage_s3_scope_violation_total")

        denied = [
            await _error(s3.get_object, Bucket=b, Key="secret.txt"),
            await _error(s3.head_object, Bucket=b, Key="secret.txt"),
            await _error(s3.put_object, Bucket=b, Key="new.txt", Body=b"x"),
            await _error(s3.delete_object, Bucket=b, Key="secret.txt"),
            await _error(s3.list_objects_v2, Bucket=b),
            await _error(s3.head_bucket, Bucket=b),
            await _error(s3.delete_objects, Bucket=b, Delete={"Objects": [{"Key": "secret.txt"}]}),
            await _error(s3.create_multipart_upload, Bucket=b, Key="mp"),
            # CopyObject from B into A: the copy source is scope-checked (PROXY-8)
            await _error(
                s3.copy_object, Bucket=a, Key="stolen.txt", CopySource={"Bucket": b, "Key": "secret.txt"}
            ),
            # bucket administration, even on the scoped bucket (PROXY-6)
            await _error(s3.delete_bucket, Bucket=a),
            # (CreateBucket of the scoped bucket itself answers as S3 does for your own bucket:
            # test_e2e_synthesized)
            await _error(s3.create_bucket, Bucket="px-brand-new-bucket"),
            await _error(s3.put_bucket_policy, Bucket=a, Policy="{}"),
        ]
        assert all(status == 403 for status, _ in denied), denied
        # HEAD answers have no body: boto3 reports the status as the code
        assert {code for _, code in denied[:1] + denied[2:5] + denied[6:]} == {"AccessDenied"}
        assert metric(env.runtime, "stowage_s3_scope_violation_total") - violations == 9
        assert await upstream_keys(direct, a) == ["mine.txt"]
        assert await upstream_keys(direct, b) == ["secret.txt"]
        assert "px-brand-new-bucket" not in [
            x["Name"] for x in (await asyncio.to_thread(direct.list_buckets))["Buckets"]
        ]

        # the error document: prolog, code, BucketName, RequestId = the x-amz-request-id header
        url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "secret.txt"})
        status, headers, body = await _raw("GET", url)
        fields = _xml(body)
        assert status == 403 and fields["Code"] == "AccessDenied"
        assert fields["BucketName"] == b
        assert fields["RequestId"] == headers["x-amz-request-id"]


async def test_unknown_operation_is_invalid_request(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        url = f"{env.endpoint}/{env.bucket}/some-key"  # POST to an object without a sub-resource
        headers = sign_head("POST", url, {}, env.access_key, env.secret_key, "UNSIGNED-PAYLOAD")
        status, response_headers, body = await _raw("POST", url, headers)
        fields = _xml(body)
        assert (status, fields["Code"]) == (400, "InvalidRequest")
        assert fields["BucketName"] == env.bucket
        assert fields["RequestId"] == response_headers["x-amz-request-id"]
        requests = metric(
            env.runtime, "stowage_s3_request_total", operation="Unknown", result="bad-request", status="400"
        )
        assert requests == 1


async def test_bad_secret_and_unknown_key(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        wrong = env.client(secret_key="0" * 40)
        assert await _error(wrong.list_objects_v2, Bucket=env.bucket) == (403, "SignatureDoesNotMatch")
        stranger = env.client(access_key="AKIAUNKNOWNUNKNOWN00")
        assert await _error(stranger.list_objects_v2, Bucket=env.bucket) == (403, "InvalidAccessKeyId")
        assert metric(env.runtime, "stowage_s3_auth_failure_total", reason="bad-sig") == 1
        assert metric(env.runtime, "stowage_s3_auth_failure_total", reason="unknown-akid") == 1
        # an auth failure's error body has no Resource and still carries the request id
        url = wrong.generate_presigned_url("get_object", Params={"Bucket": env.bucket, "Key": "k"})
        status, headers, body = await _raw("GET", url)
        fields = _xml(body)
        assert (status, fields["Code"]) == (403, "SignatureDoesNotMatch")
        assert "Resource" not in fields and fields["RequestId"] == headers["x-amz-request-id"]


async def _works(env: ProxyEnv, key: str, secret: str) -> bool:
    try:
        await asyncio.to_thread(env.client(key, secret).list_objects_v2, Bucket=env.bucket)
    except botocore.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidAccessKeyId"
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        return False
    return True


async def test_disabled_or_expired_credential_is_refused_on_the_next_request(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        store = env.runtime.store.credentials
        cache = env.runtime.get(CREDENTIALS)
        assert await _works(env, env.access_key, env.secret_key)
        await store.update(env.access_key, updated_at=utcnow(), enabled=False)
        await cache.reload()  # what the credential API does before answering
        assert not await _works(env, env.access_key, env.secret_key)
        await store.update(env.access_key, updated_at=utcnow(), enabled=True)
        await cache.reload()
        assert await _works(env, env.access_key, env.secret_key)

        # expired by an update of expires_at
        await store.update(env.access_key, updated_at=utcnow(), expires_at=utcnow() - timedelta(seconds=1))
        await cache.reload()
        assert not await _works(env, env.access_key, env.secret_key)

        # expired by the passing of time alone: the cache re-checks expiry at lookup
        key, secret = await env.mint([env.bucket], expires_at=utcnow() + timedelta(minutes=10))
        assert await _works(env, key, secret)
        real = time.time
        env.runtime.clock = lambda: real() + 11 * 60
        try:
            # boto3 signs with the real clock, which is now 11 min "behind": still within the skew
            assert not await _works(env, key, secret)
        finally:
            env.runtime.clock = real


async def test_presigned_url_lives_for_x_amz_expires(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        s3 = env.client()
        await asyncio.to_thread(s3.put_object, Bucket=env.bucket, Key="p.txt", Body=b"presigned body")
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": env.bucket, "Key": "p.txt"}, ExpiresIn=3600
        )
        assert "X-Amz-Expires=3600" in url
        real = time.time
        try:
            env.runtime.clock = lambda: real() + 20 * 60  # past the ±15 min skew window
            status, _, body = await _raw("GET", url)
            assert (status, body) == (200, b"presigned body")
            env.runtime.clock = lambda: real() + 61 * 60
            status, headers, body = await _raw("GET", url)
            fields = _xml(body)
            assert (status, fields["Code"]) == (403, "AccessDenied")
            assert fields["RequestId"] == headers["x-amz-request-id"]
        finally:
            env.runtime.clock = real
        assert metric(env.runtime, "stowage_s3_auth_failure_total", reason="expired") == 1
