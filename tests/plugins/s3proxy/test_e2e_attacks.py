"""Attacks on the proxy's request path, performed end to end through a real listener and a real
upstream (rclone serve s3, SeaweedFS): each one is refused and leaves the upstream untouched."""

from __future__ import annotations

import asyncio
from typing import Any
from xml.etree import ElementTree

import aiohttp
import botocore.exceptions
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from yarl import URL

from tests.plugins.quotas.support import policy_env
from tests.plugins.s3proxy.e2e import sign_head
from tests.plugins.s3proxy.proxyenv import ProxyEnv, proxy_env, upstream_client

MiB = 1024 * 1024


async def send(
    env: ProxyEnv,
    method: str,
    target: str,
    *,
    signed_target: str | None = None,
    headers: dict[str, str] | None = None,
    unsigned: dict[str, str] | None = None,
    body: bytes = b"",
    keys: tuple[str, str] | None = None,
    host: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Sign ``signed_target`` (default ``target``) with botocore, send ``target`` byte for byte.

    ``unsigned`` headers are added after signing; ``host`` overrides the Host header (signed).
    """
    access_key, secret = keys or (env.access_key, env.secret_key)
    base = env.endpoint
    wanted = dict(headers or {})
    if host is not None:
        wanted["Host"] = host
    signed = sign_head(
        method, base + (signed_target or target), wanted, access_key, secret, "UNSIGNED-PAYLOAD"
    )
    sent = {**wanted, **signed, **(unsigned or {})}
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.request(
            method,
            URL(base + target, encoded=True),
            headers=sent,
            data=body,
            skip_auto_headers=("Content-Type", "User-Agent", "Accept", "Accept-Encoding"),
        ) as response,
    ):
        return response.status, dict(response.headers), await response.read()


def code_of(body: bytes) -> str:
    root = ElementTree.fromstring(body)
    return root.findtext("Code") or ""


async def bucket_exists(direct: Any, bucket: str) -> bool:
    try:
        await asyncio.to_thread(direct.head_bucket, Bucket=bucket)
    except botocore.exceptions.ClientError:
        return False
    return True


async def test_double_slash_and_dot_segments_cannot_address_a_bucket_or_another_bucket(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    settings = {"s3_proxy": {"host_suffixes": ["s3.test"]}}
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch, settings) as env:
        direct = upstream_client(rclone_upstream)
        theta, other = env.bucket, env.extra_buckets[0]
        await asyncio.to_thread(direct.put_object, Bucket=other, Key="secret", Body=b"no")
        # the attack: a "DeleteObject" of key "/" used to reach the upstream as DELETE /theta//
        for target in (f"/{theta}//", f"/{theta}/%2F", f"/{theta}/./", f"/{theta}/.", f"/{theta}/.."):
            status, _, body = await send(env, "DELETE", target)
            assert (status, code_of(body)) == (400, "InvalidRequest"), target
        assert await bucket_exists(direct, theta)
        status, _, body = await send(env, "DELETE", "//", host=f"{theta}.s3.test")
        assert (status, code_of(body)) == (400, "InvalidRequest")
        assert await bucket_exists(direct, theta)

        # PUT /newbucket// would create a bucket the credential is scoped to but that does not exist
        new = theta + "-new"
        key, secret = await env.mint([new])
        status, _, body = await send(env, "PUT", f"/{new}//", keys=(key, secret), body=b"x")
        assert (status, code_of(body)) == (400, "InvalidRequest")
        assert not await bucket_exists(direct, new)

        # .. segments cannot climb into a bucket outside the scope
        status, _, body = await send(env, "GET", f"/{theta}/x/../../{other}/secret")
        assert (status, code_of(body)) == (400, "InvalidRequest")
        status, _, body = await send(env, "GET", f"/{theta}%2F..%2F{other}/secret")
        assert (status, code_of(body)) == (400, "InvalidBucketName")

        # ordinary keys with dots and inner empty segments still work, byte-exact
        s3 = env.client()
        for name in ("dir/..x", ".hidden", "x./y..", "..."):
            await asyncio.to_thread(s3.put_object, Bucket=theta, Key=name, Body=name.encode())
            got = await asyncio.to_thread(s3.get_object, Bucket=theta, Key=name)
            assert await asyncio.to_thread(got["Body"].read) == name.encode()


async def test_semicolon_cannot_smuggle_a_subresource(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    """SeaweedFS splits queries on ';' too: ``?x=1;acl`` used to return the bucket ACL."""
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        bucket = env.bucket
        await asyncio.to_thread(env.client().put_object, Bucket=bucket, Key="obj", Body=b"x")
        for query in ("prefix=o;acl", "prefix=o;uploads", "prefix=o;versioning", "prefix=o;policy"):
            status, _, body = await send(
                env, "GET", f"/{bucket}?{query}", signed_target=f"/{bucket}?{query.replace(';', '%3B')}"
            )
            root = ElementTree.fromstring(body)
            # the upstream answered a plain listing for the prefix "o;acl" (sent as o%3Bacl)
            assert status == 200 and root.tag.endswith("ListBucketResult"), (query, body[:200])
        # and repeated parameters, which the sorted outbound query would reorder, are refused
        status, _, body = await send(env, "GET", f"/{bucket}?prefix=a&prefix=o")
        assert (status, code_of(body)) == (400, "InvalidRequest")


async def test_unsigned_amz_header_cannot_turn_a_put_into_a_copy(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        direct = upstream_client(rclone_upstream)
        bucket = env.bucket
        await asyncio.to_thread(direct.put_object, Bucket=bucket, Key="source", Body=b"private bytes")
        for name, value in (
            ("x-amz-copy-source", f"/{bucket}/source"),
            ("x-amz-tagging", "a=b"),
            ("x-amz-meta-injected", "1"),
        ):
            status, _, body = await send(
                env, "PUT", f"/{bucket}/target", body=b"mine", unsigned={name: value}
            )
            assert status == 403, body
            root = ElementTree.fromstring(body)
            assert root.findtext("Code") == "AccessDenied"
            assert (
                root.findtext("Message") == "There were headers present in the request which were not signed"
            )
        keys = await asyncio.to_thread(direct.list_objects_v2, Bucket=bucket)
        assert [o["Key"] for o in keys.get("Contents", [])] == ["source"]
        # the same header, signed, is an ordinary CopyObject
        status, _, _ = await send(
            env, "PUT", f"/{bucket}/target", headers={"x-amz-copy-source": f"/{bucket}/source"}
        )
        assert status == 200


async def test_acl_grant_and_redirect_headers_are_refused(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        direct = upstream_client(rclone_upstream)
        s3, bucket = env.client(), env.bucket
        await asyncio.to_thread(direct.put_object, Bucket=bucket, Key="src", Body=b"s")
        attempts: list[tuple[Any, dict[str, Any]]] = [
            (s3.put_object, {"Key": "a", "Body": b"x", "ACL": "public-read"}),
            (s3.put_object, {"Key": "b", "Body": b"x", "ACL": "public-read-write"}),
            (
                s3.put_object,
                {
                    "Key": "c",
                    "Body": b"x",
                    "GrantRead": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
                },
            ),
            (s3.put_object, {"Key": "d", "Body": b"x", "GrantFullControl": 'id="someone"'}),
            (s3.put_object, {"Key": "e", "Body": b"x", "WebsiteRedirectLocation": "https://evil.test/"}),
            (
                s3.copy_object,
                {"Key": "f", "CopySource": {"Bucket": bucket, "Key": "src"}, "ACL": "public-read"},
            ),
            (s3.create_multipart_upload, {"Key": "g", "ACL": "authenticated-read"}),
            (s3.create_multipart_upload, {"Key": "h", "GrantWriteACP": 'id="x"'}),
        ]
        for call, kwargs in attempts:
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                await asyncio.to_thread(call, Bucket=bucket, **kwargs)
            error = refused.value.response
            assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (
                403,
                "AccessDenied",
            )
        keys = await asyncio.to_thread(direct.list_objects_v2, Bucket=bucket)
        assert [o["Key"] for o in keys.get("Contents", [])] == ["src"]
        # "private" is the default: accepted (and not sent on)
        await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="p", Body=b"x", ACL="private")
        assert (await asyncio.to_thread(direct.get_object, Bucket=bucket, Key="p"))["ContentLength"] == 1


async def test_scope_is_case_sensitive(stowage_factory, rclone_upstream, monkeypatch) -> None:
    """rclone serves ``ALPHA`` and ``alpha`` as two buckets: an ``alpha`` credential stays out."""
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        lower = env.bucket
        upper = lower.upper()
        # rclone refuses to create such a bucket but serves an existing folder as one
        (rclone_upstream.data_dir / upper).mkdir()
        (rclone_upstream.data_dir / upper / "theirs").write_bytes(b"other tenant")
        s3 = env.client()
        for call, kwargs in (
            (s3.get_object, {"Key": "theirs"}),
            (s3.put_object, {"Key": "mine", "Body": b"x"}),
            (s3.delete_object, {"Key": "theirs"}),
            (s3.list_objects_v2, {}),
        ):
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                await asyncio.to_thread(call, Bucket=upper, **kwargs)
            assert refused.value.response["Error"]["Code"] == "AccessDenied"
        assert sorted(p.name for p in (rclone_upstream.data_dir / upper).iterdir()) == ["theirs"]
        assert (rclone_upstream.data_dir / upper / "theirs").read_bytes() == b"other tenant"
        await asyncio.to_thread(s3.put_object, Bucket=lower, Key="mine", Body=b"x")  # its own still works


async def test_mint_refuses_scopes_that_are_not_bucket_names(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        for bad in ("a/b", "x y", "../up", ""):
            status, body = await env.api.call(
                "POST",
                "/api/admin/s3-credentials",
                json={"backend_id": "up", "buckets": [env.proxy.bucket, bad]},
            )
            assert status == 400, (bad, body)
            assert body["error"]["code"] == "invalid_request"
        rows = await env.proxy.runtime.store.db.fetchall("SELECT access_key FROM s3_credentials")
        assert [row["access_key"] for row in rows] == [env.proxy.access_key]  # only the fixture's


async def test_copies_are_held_to_the_hard_quota(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    async with policy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        bucket = env.proxy.bucket
        status, _ = await env.api.call(
            "PUT", f"/api/backends/up/buckets/{bucket}/quota", json={"soft_bytes": 0, "hard_bytes": 3 * MiB}
        )
        assert status == 200
        s3 = env.proxy.client()
        await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="big", Body=b"b" * (2 * MiB))
        source = {"Bucket": bucket, "Key": "big"}
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            await asyncio.to_thread(s3.copy_object, Bucket=bucket, Key="copy1", CopySource=source)
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 507
        upload = await asyncio.to_thread(s3.create_multipart_upload, Bucket=bucket, Key="mp")
        upload_id = upload["UploadId"]
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            await asyncio.to_thread(
                s3.upload_part_copy,
                Bucket=bucket,
                Key="mp",
                UploadId=upload_id,
                PartNumber=1,
                CopySource=source,
            )
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 507
        # a range that fits is let through, and counted
        part = await asyncio.to_thread(
            s3.upload_part_copy,
            Bucket=bucket,
            Key="mp",
            UploadId=upload_id,
            PartNumber=1,
            CopySource=source,
            CopySourceRange="bytes=0-1023",
        )
        assert part["CopyPartResult"]["ETag"]
        await asyncio.to_thread(s3.abort_multipart_upload, Bucket=bucket, Key="mp", UploadId=upload_id)
        keys = await asyncio.to_thread(upstream_client(seaweed_upstream).list_objects_v2, Bucket=bucket)
        assert [o["Key"] for o in keys.get("Contents", [])] == ["big"]


async def test_anonymous_cannot_list_versions(stowage_factory, rclone_upstream, monkeypatch) -> None:
    settings = {"s3_proxy": {"anonymous_enabled": True}}
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch, settings) as env:
        public = env.proxy.bucket
        status, _ = await env.api.call(
            "POST", "/api/admin/s3-anonymous", json={"backend_id": "up", "bucket": public}
        )
        assert status == 200
        base = env.proxy.endpoint
        for query in ("versions", "versions&prefix=a", "prefix=x;versions", "prefix=x;uploads"):
            async with env.http.get(URL(f"{base}/{public}?{query}", encoded=True)) as response:
                body = await response.read()
                if ";" in query:  # not a sub-resource at all now: a plain listing
                    assert response.status == 200 and b"ListBucketResult" in body, body
                else:
                    assert (response.status, code_of(body)) == (403, "AccessDenied")
        async with env.http.get(f"{base}/{public}?list-type=2") as response:
            assert response.status == 200


async def test_credential_scope_for_another_service_is_refused(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        request = AWSRequest(method="GET", url=f"{env.endpoint}/{env.bucket}")
        S3SigV4Auth(Credentials(env.access_key, env.secret_key), "ec2", "us-east-1").add_auth(request)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{env.endpoint}/{env.bucket}", headers=dict(request.headers.items())) as response,
        ):
            body = await response.read()
        assert (response.status, code_of(body)) == (403, "SignatureDoesNotMatch")
        assert b"correct service" in body


async def test_relayed_error_carries_the_proxy_request_id(
    stowage_factory, seaweed_upstream, monkeypatch
) -> None:
    """SeaweedFS puts its own id in error bodies; the client sees the proxy's in body and header."""
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        status, headers, body = await send(env, "GET", f"/{env.bucket}/missing")
        assert status == 404
        root = ElementTree.fromstring(body)
        assert root.findtext("Code") == "NoSuchKey"
        assert root.findtext("RequestId") == headers["x-amz-request-id"]
        assert headers["x-amz-id-2"] and headers["x-amz-id-2"] != headers["x-amz-request-id"]
        assert int(headers["Content-Length"]) == len(body)


async def test_presigned_url_holder_cannot_add_amz_headers(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        direct = upstream_client(rclone_upstream)
        bucket = env.bucket
        await asyncio.to_thread(direct.put_object, Bucket=bucket, Key="source", Body=b"private bytes")
        url = await asyncio.to_thread(
            env.client().generate_presigned_url, "put_object", Params={"Bucket": bucket, "Key": "up"}
        )
        async with aiohttp.ClientSession() as session:
            for name, value in (("x-amz-copy-source", f"/{bucket}/source"), ("x-amz-tagging", "a=b")):
                async with session.put(url, data=b"mine", headers={name: value}) as response:
                    assert response.status == 403
                    assert b"headers present in the request which were not signed" in await response.read()
            assert await upstream_keys_of(direct, bucket) == ["source"]
            # x-amz-content-sha256 is the one AWS lets travel unsigned; a plain PUT works
            async with session.put(
                url, data=b"mine", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
            ) as r:
                assert r.status == 200, await r.read()
        got = await asyncio.to_thread(direct.get_object, Bucket=bucket, Key="up")
        assert await asyncio.to_thread(got["Body"].read) == b"mine"


async def upstream_keys_of(direct: Any, bucket: str) -> list[str]:
    listed = await asyncio.to_thread(direct.list_objects_v2, Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", ())]
