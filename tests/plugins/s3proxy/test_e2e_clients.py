"""Real clients (aws-cli v1, boto3) through the proxy against a real SeaweedFS upstream, with a
credential scoped to one bucket: every object is read back byte-identical, through the proxy and
directly from the upstream."""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path

import aiohttp
from boto3.s3.transfer import TransferConfig

from tests.plugins.s3proxy.e2e import (
    MiB,
    aws_cli,
    file_sha256,
    pattern,
    read_body,
    sha256,
    upstream_keys,
    upstream_sha256,
)
from tests.plugins.s3proxy.proxyenv import proxy_env, upstream_client


async def test_aws_cli_cp_up_and_down_and_sync(
    stowage_factory, seaweed_upstream, monkeypatch, tmp_path: Path
) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        direct = upstream_client(seaweed_upstream)
        src = tmp_path / "small.bin"
        src.write_bytes(pattern(300 * 1024))
        cli = (env.endpoint, env.access_key, env.secret_key)
        code, _, err = await aws_cli(*cli, "s3", "cp", str(src), f"s3://{env.bucket}/cp/small.bin")
        assert code == 0, err
        back = tmp_path / "back.bin"
        code, _, err = await aws_cli(*cli, "s3", "cp", f"s3://{env.bucket}/cp/small.bin", str(back))
        assert code == 0, err
        assert file_sha256(back) == file_sha256(src)
        assert await upstream_sha256(direct, env.bucket, "cp/small.bin") == file_sha256(src)

        tree = tmp_path / "tree"
        for index in range(5):
            path = tree / f"d{index % 2}" / f"f{index}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pattern(1000 + index * 777, seed=index))
            # aws s3 sync re-uploads a file whose mtime is later than the object's LastModified,
            # which upstreams keep in whole seconds: date the files safely in the past.
            os.utime(path, (time.time() - 60, time.time() - 60))
        code, _, err = await aws_cli(*cli, "s3", "sync", str(tree), f"s3://{env.bucket}/sync")
        assert code == 0, err
        # a second sync finds nothing to do (ListObjectsV2 through the proxy agrees with the files)
        code, out, err = await aws_cli(*cli, "s3", "sync", str(tree), f"s3://{env.bucket}/sync")
        assert code == 0 and "upload:" not in out, (out, err)
        mirror = tmp_path / "mirror"
        code, _, err = await aws_cli(*cli, "s3", "sync", f"s3://{env.bucket}/sync", str(mirror))
        assert code == 0, err
        for path in tree.rglob("*.txt"):
            relative = path.relative_to(tree).as_posix()
            assert file_sha256(mirror / relative) == file_sha256(path)
            assert await upstream_sha256(direct, env.bucket, f"sync/{relative}") == file_sha256(path)


async def test_aws_cli_100_mib_multipart_upload_and_download(
    stowage_factory, seaweed_upstream, monkeypatch, tmp_path: Path
) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        src = tmp_path / "big.bin"
        with src.open("wb") as fh:
            for index in range(10):
                fh.write(pattern(10 * MiB, seed=index))
        cli = (env.endpoint, env.access_key, env.secret_key)
        code, _, err = await aws_cli(*cli, "s3", "cp", str(src), f"s3://{env.bucket}/big.bin")
        assert code == 0, err
        direct = upstream_client(seaweed_upstream)
        head = await asyncio.to_thread(direct.head_object, Bucket=env.bucket, Key="big.bin")
        assert head["ContentLength"] == 100 * MiB
        assert head["ETag"].strip('"').endswith("-13")  # 8 MiB parts: it really was multipart
        assert await upstream_sha256(direct, env.bucket, "big.bin") == file_sha256(src)
        back = tmp_path / "back.bin"
        code, _, err = await aws_cli(*cli, "s3", "cp", f"s3://{env.bucket}/big.bin", str(back))
        assert code == 0, err
        assert file_sha256(back) == file_sha256(src)
        src.unlink()
        back.unlink()


async def test_boto3_multipart_presigned_range_delete_objects_and_copy(
    stowage_factory, seaweed_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        s3 = env.client()
        direct = upstream_client(seaweed_upstream)
        bucket = env.bucket

        # boto3 upload_fileobj over the multipart threshold
        data = pattern(20 * MiB, seed=3)
        config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
        await asyncio.to_thread(s3.upload_fileobj, io.BytesIO(data), bucket, "mp.bin", Config=config)
        assert await upstream_sha256(direct, bucket, "mp.bin") == sha256(data)

        # ranged GET (and the 206 carries no whole-object checksum)
        ranged = await asyncio.to_thread(s3.get_object, Bucket=bucket, Key="mp.bin", Range="bytes=1000-1999")
        assert ranged["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert await read_body(ranged) == data[1000:2000]
        headers = ranged["ResponseMetadata"]["HTTPHeaders"]
        assert not [name for name in headers if name.startswith("x-amz-checksum-")]

        # presigned PUT then presigned GET (SigV4 query auth)
        body = pattern(123_457, seed=9)
        put_url = await asyncio.to_thread(
            s3.generate_presigned_url, "put_object", Params={"Bucket": bucket, "Key": "pre sign/ü.bin"}
        )
        assert "X-Amz-Signature=" in put_url
        async with aiohttp.ClientSession() as session:
            async with session.put(put_url, data=body) as response:
                assert response.status == 200, await response.text()
            get_url = await asyncio.to_thread(
                s3.generate_presigned_url, "get_object", Params={"Bucket": bucket, "Key": "pre sign/ü.bin"}
            )
            async with session.get(get_url) as response:
                assert response.status == 200
                assert await response.read() == body
        assert await upstream_sha256(direct, bucket, "pre sign/ü.bin") == sha256(body)

        # CopyObject within the scoped bucket
        await asyncio.to_thread(
            s3.copy_object,
            Bucket=bucket,
            Key="copy/of-mp.bin",
            CopySource={"Bucket": bucket, "Key": "mp.bin"},
        )
        assert await upstream_sha256(direct, bucket, "copy/of-mp.bin") == sha256(data)
        got = await asyncio.to_thread(s3.get_object, Bucket=bucket, Key="copy/of-mp.bin")
        assert sha256(await read_body(got)) == sha256(data)

        # DeleteObjects (boto3 sends x-amz-checksum-crc32, no Content-MD5)
        deleted = await asyncio.to_thread(
            s3.delete_objects,
            Bucket=bucket,
            Delete={"Objects": [{"Key": "mp.bin"}, {"Key": "copy/of-mp.bin"}]},
        )
        assert sorted(item["Key"] for item in deleted["Deleted"]) == ["copy/of-mp.bin", "mp.bin"]
        assert not deleted.get("Errors")
        assert await upstream_keys(direct, bucket) == ["pre sign/ü.bin"]
