"""The proxy's own answers for in-scope buckets — ACLs, CORS, bucket configuration reads and
CreateBucket — with boto3 against SeaweedFS, and the real clients that need them: s3cmd (SigV2 and
SigV4) and rclone in its default configuration."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import aiohttp
import botocore.exceptions
import pytest

from stowage.core.formats.timefmt import utcnow
from stowage.plugins.s3proxy.keys import POLICIES
from tests.plugins.s3proxy.cli_clients import Rclone, S3cmd
from tests.plugins.s3proxy.e2e import file_sha256, metric, pattern, sha256, upstream_keys, upstream_sha256
from tests.plugins.s3proxy.proxyenv import proxy_env, upstream_client

OWNER = {"ID": "stowage", "DisplayName": "stowage"}
PRIVATE_GRANTS = [{"Grantee": {**OWNER, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}]


async def _error(call: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await asyncio.to_thread(call, **kwargs)
    response = caught.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


async def test_acl_cors_configuration_and_create_bucket(
    stowage_factory, seaweed_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        s3, bucket, other = env.client(), env.bucket, env.extra_buckets[0]
        await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="k.txt", Body=b"kept")

        # ACL reads: the canned private ACL, for the bucket and for an existing object only
        for acl in (
            await asyncio.to_thread(s3.get_bucket_acl, Bucket=bucket),
            await asyncio.to_thread(s3.get_object_acl, Bucket=bucket, Key="k.txt"),
        ):
            assert acl["Owner"] == OWNER and acl["Grants"] == PRIVATE_GRANTS
        assert (await _error(s3.get_object_acl, Bucket=bucket, Key="absent"))[:2] == (404, "NoSuchKey")

        # ACL writes: private is a no-op, anything else cannot be honoured
        await asyncio.to_thread(s3.put_object_acl, Bucket=bucket, Key="k.txt", ACL="private")
        await asyncio.to_thread(s3.put_bucket_acl, Bucket=bucket, ACL="private")
        policy = {"Owner": OWNER, "Grants": PRIVATE_GRANTS}
        await asyncio.to_thread(s3.put_object_acl, Bucket=bucket, Key="k.txt", AccessControlPolicy=policy)
        public = {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}}
        widened = {"Owner": OWNER, "Grants": [*PRIVATE_GRANTS, {**public, "Permission": "READ"}]}
        refused = [
            await _error(s3.put_object_acl, Bucket=bucket, Key="k.txt", ACL="public-read"),
            await _error(s3.put_bucket_acl, Bucket=bucket, ACL="public-read-write"),
            await _error(s3.put_object_acl, Bucket=bucket, Key="k.txt", AccessControlPolicy=widened),
            await _error(s3.put_object_acl, Bucket=bucket, Key="k.txt", GrantRead='uri="http://x"'),
        ]
        assert {(status, code) for status, code, _ in refused} == {(501, "NotImplemented")}
        assert "only the private ACL" in refused[0][2]
        # nothing reached the upstream: the object is still private there
        direct = upstream_client(seaweed_upstream)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{seaweed_upstream.endpoint_url}/{bucket}/k.txt") as response:
                assert response.status == 403

        # CORS: Stowage's own rules, or NoSuchCORSConfiguration
        assert (await _error(s3.get_bucket_cors, Bucket=bucket))[:2] == (404, "NoSuchCORSConfiguration")
        rules = [
            {
                "allowed_origins": ["https://app.example"],
                "allowed_methods": ["GET", "PUT"],
                "allowed_headers": ["x-amz-meta-a"],
                "expose_headers": ["ETag"],
                "max_age_seconds": 120,
            }
        ]
        await env.runtime.store.cors.put("up", bucket, rules, utcnow())
        await env.runtime.get(POLICIES).reload()
        cors = await asyncio.to_thread(s3.get_bucket_cors, Bucket=bucket)
        assert cors["CORSRules"] == [
            {
                "AllowedHeaders": ["x-amz-meta-a"],
                "AllowedMethods": ["GET", "PUT"],
                "AllowedOrigins": ["https://app.example"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 120,
            }
        ]

        # other bucket configuration: readable nowhere through the proxy (501), writable never (403)
        for call in (s3.get_bucket_versioning, s3.get_bucket_lifecycle_configuration, s3.get_bucket_policy):
            status, code, message = await _error(call, Bucket=bucket)
            assert (status, code) == (501, "NotImplemented") and "managed by the Stowage operator" in message
        assert (await _error(s3.put_bucket_policy, Bucket=bucket, Policy="{}"))[:2] == (403, "AccessDenied")
        assert (await _error(s3.delete_bucket_cors, Bucket=bucket))[:2] == (403, "AccessDenied")

        # CreateBucket of a bucket the credential has: us-east-1's 200, elsewhere BucketAlreadyOwnedByYou
        created = await asyncio.to_thread(s3.create_bucket, Bucket=bucket)
        assert created["ResponseMetadata"]["HTTPStatusCode"] == 200
        elsewhere = {"LocationConstraint": "eu-west-1"}
        assert (await _error(s3.create_bucket, Bucket=bucket, CreateBucketConfiguration=elsewhere))[:2] == (
            409,
            "BucketAlreadyOwnedByYou",
        )
        assert (await _error(s3.create_bucket, Bucket=bucket, ACL="public-read"))[:2] == (
            501,
            "NotImplemented",
        )

        # out of scope, nothing is synthesised: the tenant rules answer 403
        for call, kwargs in (
            (s3.get_bucket_acl, {"Bucket": other}),
            (s3.get_bucket_cors, {"Bucket": other}),
            (s3.get_bucket_versioning, {"Bucket": other}),
            (s3.create_bucket, {"Bucket": other}),
            (s3.create_bucket, {"Bucket": "px-never-created"}),
        ):
            assert (await _error(call, **kwargs))[:2] == (403, "AccessDenied"), call
        assert await upstream_keys(direct, bucket) == ["k.txt"]

        # in scope but missing upstream: S3's 404, and creating it stays forbidden
        key, secret = await env.mint(["px-in-scope-but-absent"])
        absent = env.client(key, secret)
        assert (await _error(absent.get_bucket_acl, Bucket="px-in-scope-but-absent"))[:2] == (
            404,
            "NoSuchBucket",
        )
        assert (await _error(absent.create_bucket, Bucket="px-in-scope-but-absent"))[:2] == (
            403,
            "AccessDenied",
        )
        names = [b["Name"] for b in (await asyncio.to_thread(direct.list_buckets))["Buckets"]]
        assert "px-in-scope-but-absent" not in names and "px-never-created" not in names


@pytest.mark.parametrize("v2", [True, False], ids=["sigv2", "sigv4"])
async def test_s3cmd(stowage_factory, seaweed_upstream, monkeypatch, tmp_path: Path, v2: bool) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        s3cmd = S3cmd(env.endpoint, env.access_key, env.secret_key, tmp_path, v2=v2)
        direct, bucket = upstream_client(seaweed_upstream), env.bucket
        src = tmp_path / "one.bin"
        src.write_bytes(pattern(70_000, seed=5))

        async def ok(*args: str) -> str:
            code, out, err = await s3cmd(*args)
            assert code == 0, (args, out, err)
            return out

        await ok("put", str(src), f"s3://{bucket}/a/one.bin")
        big = tmp_path / "big.bin"
        big.write_bytes(pattern(11 * 1024 * 1024, seed=8))
        await ok("put", "--multipart-chunk-size-mb=5", str(big), f"s3://{bucket}/big.bin")
        head = await asyncio.to_thread(direct.head_object, Bucket=bucket, Key="big.bin")
        assert head["ETag"].strip('"').endswith("-3")  # it really was multipart
        await ok("get", f"s3://{bucket}/big.bin", str(tmp_path / "big-back.bin"))
        assert file_sha256(tmp_path / "big-back.bin") == file_sha256(big)
        await ok("del", f"s3://{bucket}/big.bin")
        assert f"s3://{bucket}/a/one.bin" in await ok("ls", f"s3://{bucket}/a/")
        back = tmp_path / "back.bin"
        await ok("get", str(f"s3://{bucket}/a/one.bin"), str(back))
        assert file_sha256(back) == file_sha256(src)
        info = await ok("info", f"s3://{bucket}/a/one.bin")
        assert "ACL:       stowage: FULL_CONTROL" in info and "File size: 70000" in info
        info = await ok("info", f"s3://{bucket}")
        assert "CORS:      none" in info and "ACL:       stowage: FULL_CONTROL" in info
        await ok("cp", f"s3://{bucket}/a/one.bin", f"s3://{bucket}/b/copy.bin")
        await ok("mv", f"s3://{bucket}/b/copy.bin", f"s3://{bucket}/c/moved.bin")
        assert await upstream_keys(direct, bucket) == ["a/one.bin", "c/moved.bin"]
        assert await upstream_sha256(direct, bucket, "c/moved.bin") == file_sha256(src)
        await ok("del", f"s3://{bucket}/c/moved.bin")

        tree = tmp_path / "tree"
        for index in range(4):
            path = tree / f"d{index % 2}" / f"f{index}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pattern(900 + index * 311, seed=index))
        await ok("sync", f"{tree}/", f"s3://{bucket}/sync/")
        for path in tree.rglob("*.txt"):
            relative = path.relative_to(tree).as_posix()
            assert await upstream_sha256(direct, bucket, f"sync/{relative}") == file_sha256(path)
        assert "upload:" not in await ok("sync", f"{tree}/", f"s3://{bucket}/sync/")
        v2_requests = metric(env.runtime, "stowage_s3_request_total", auth_mode="signed-v2")
        assert (v2_requests > 20) if v2 else (v2_requests == 0)

        # s3cmd signurl: a SigV2 presigned URL (whatever signature_version says) for a plain client
        url = (await ok("signurl", f"s3://{bucket}/a/one.bin", f"{int(time.time()) + 600}")).strip()
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200 and sha256(await response.read()) == file_sha256(src)


async def test_rclone_default_configuration(
    stowage_factory, seaweed_upstream, monkeypatch, tmp_path: Path
) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        rclone = Rclone(env.endpoint, env.access_key, env.secret_key, tmp_path)
        direct, bucket = upstream_client(seaweed_upstream), env.bucket

        async def ok(*args: str) -> str:
            code, out, err = await rclone(*args)
            assert code == 0, (args, out, err)
            return out

        tree = tmp_path / "tree"
        for index in range(5):
            path = tree / f"d{index % 2}" / f"f{index}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pattern(2000 + index * 1999, seed=index))
            os.utime(path, (time.time() - 60, time.time() - 60))
        await ok("copy", str(tree), f"px:{bucket}/copy")
        listing = await ok("ls", f"px:{bucket}/copy")
        assert sorted(line.split()[-1] for line in listing.splitlines()) == sorted(
            p.relative_to(tree).as_posix() for p in tree.rglob("*.bin")
        )
        (tree / "hello.txt").write_text("hello through the proxy\n")
        # copyto and mkdir send CreateBucket first (no --s3-no-check-bucket): the proxy answers it
        await ok("copyto", str(tree / "hello.txt"), f"px:{bucket}/text/hello.txt")
        await ok("mkdir", f"px:{bucket}")
        assert metric(env.runtime, "stowage_s3_request_total", operation="CreateBucket", status="200") == 2
        assert await ok("cat", f"px:{bucket}/text/hello.txt") == "hello through the proxy\n"
        (tree / "hello.txt").unlink()
        (tree / "d1" / "f1.bin").unlink()
        (tree / "new.bin").write_bytes(b"new")
        await ok("sync", str(tree), f"px:{bucket}/copy")
        for path in tree.rglob("*.bin"):
            relative = path.relative_to(tree).as_posix()
            assert await upstream_sha256(direct, bucket, f"copy/{relative}") == file_sha256(path)
        keys = await upstream_keys(direct, bucket)
        assert "copy/d1/f1.bin" not in keys and "copy/new.bin" in keys
        mirror = tmp_path / "mirror"
        await ok("copy", f"px:{bucket}/copy", str(mirror))
        for path in tree.rglob("*.bin"):
            assert file_sha256(mirror / path.relative_to(tree)) == file_sha256(path)
