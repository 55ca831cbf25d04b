"""Payload checksums end to end (issue 11 item 10): every algorithm S3 defines, as an aws-chunked
trailer (unsigned and signed) and as a request header on a plain body, through a real proxy in
front of SeaweedFS and rclone. A right checksum stores the bytes; a wrong one is 400 BadDigest and
the upstream never commits the object (HEAD straight on the upstream is 404). Malformed and
unknown checksums are refused; Content-MD5 is never dropped; boto3's own checksum uploads work."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
from typing import Any
from xml.etree import ElementTree

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from stowage.plugins.s3proxy.chunked import STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER
from tests.plugins.s3proxy.e2e import (
    CHECKSUM_ALGORITHMS,
    MiB,
    checksum_b64,
    encode_signed,
    encode_unsigned,
    pattern,
    seed_of,
    send_raw,
    sign_head,
    signing_key,
    wrong_checksum_b64,
)
from tests.plugins.s3proxy.proxyenv import ProxyEnv, proxy_env, upstream_client

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


@pytest.fixture(params=["seaweed_upstream", "rclone_upstream"])
def upstream(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


def _code(text: bytes) -> str | None:
    return ElementTree.fromstring(text).findtext("Code")


async def upstream_object(env: ProxyEnv, key: str) -> bytes | None:
    """The object's bytes read straight from the upstream; None when it does not exist (HEAD 404)."""
    direct = upstream_client(env.upstream)

    def read() -> bytes | None:
        try:
            direct.head_object(Bucket=env.bucket, Key=key)
        except ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404, error.response
            return None
        data: bytes = direct.get_object(Bucket=env.bucket, Key=key)["Body"].read()
        return data

    return await asyncio.to_thread(read)


async def put_trailer(env: ProxyEnv, key: str, payload: bytes, mode: str, trailer: str, value: str) -> Any:
    """A hand-built aws-chunked PUT whose one trailer is ``trailer: value``."""
    url = f"{env.endpoint}/{env.bucket}/{key}"
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(payload)),
        "X-Amz-Trailer": trailer,
    }
    signed = sign_head("PUT", url, headers, env.access_key, env.secret_key, mode)
    trailers = {trailer: value}
    if mode == STREAMING_UNSIGNED_TRAILER:
        body = encode_unsigned(payload, 64 * 1024, trailers)
    else:
        seed, amz_date, scope = seed_of(signed)
        key_bytes = signing_key(env.secret_key, amz_date[:8])
        body = encode_signed(
            payload, 64 * 1024, key=key_bytes, seed=seed, amz_date=amz_date, scope=scope, trailers=trailers
        )
    return await send_raw("PUT", url, signed, body, transfer_chunked=True)


async def put_plain(
    env: ProxyEnv, key: str, payload: bytes, extra: dict[str, str], *, signed_payload: bool = False
) -> Any:
    """A plain PUT with ``extra`` headers (signed), UNSIGNED-PAYLOAD or the body's SHA-256."""
    url = f"{env.endpoint}/{env.bucket}/{key}"
    mode = hashlib.sha256(payload).hexdigest() if signed_payload else UNSIGNED_PAYLOAD
    headers = sign_head("PUT", url, dict(extra), env.access_key, env.secret_key, mode)
    return await send_raw("PUT", url, headers, payload, transfer_chunked=False)


@pytest.mark.parametrize("algorithm", CHECKSUM_ALGORITHMS)
async def test_every_checksum_is_verified_in_trailers_and_headers(
    stowage_factory, upstream, monkeypatch, algorithm: str
) -> None:
    name = f"x-amz-checksum-{algorithm}"
    async with proxy_env(stowage_factory, upstream, monkeypatch) as env:
        payload = pattern(200 * 1024 + 17, seed=len(algorithm))
        right, wrong = checksum_b64(algorithm, payload), wrong_checksum_b64(algorithm, payload)
        for mode in (STREAMING_UNSIGNED_TRAILER, STREAMING_SIGNED_TRAILER):
            tag = mode.lower()
            status, _, text = await put_trailer(env, f"{tag}/good", payload, mode, name, right)
            assert status == 200, (mode, text)
            assert await upstream_object(env, f"{tag}/good") == payload
            status, _, text = await put_trailer(env, f"{tag}/bad", payload, mode, name, wrong)
            assert (status, _code(text)) == (400, "BadDigest"), (mode, text)
            assert f"The {algorithm.upper()} you specified did not match" in text.decode()
        for signed_payload in (False, True):
            tag = "sha" if signed_payload else "unsigned"
            status, _, text = await put_plain(
                env, f"plain-{tag}/good", payload, {name: right}, signed_payload=signed_payload
            )
            assert status == 200, (signed_payload, text)
            assert await upstream_object(env, f"plain-{tag}/good") == payload
            status, _, text = await put_plain(
                env, f"plain-{tag}/bad", payload, {name: wrong}, signed_payload=signed_payload
            )
            assert (status, _code(text)) == (400, "BadDigest"), (signed_payload, text)
        await asyncio.sleep(0.2)  # an aborted upstream PUT must not complete later either
        for tag in (STREAMING_UNSIGNED_TRAILER.lower(), STREAMING_SIGNED_TRAILER.lower(), "plain-unsigned"):
            assert await upstream_object(env, f"{tag}/bad") is None, tag
        assert await upstream_object(env, "plain-sha/bad") is None


async def test_empty_body_checksum_is_verified(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        status, _, text = await put_plain(
            env, "empty", b"", {"x-amz-checksum-crc32c": checksum_b64("crc32c", b"")}
        )
        assert status == 200, text
        assert await upstream_object(env, "empty") == b""
        wrong = checksum_b64("crc32c", b"x")
        status, _, text = await put_plain(env, "empty-bad", b"", {"x-amz-checksum-crc32c": wrong})
        assert (status, _code(text)) == (400, "BadDigest")
        assert await upstream_object(env, "empty-bad") is None


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"x-amz-checksum-crc32c": "not base64!"}, "bad base64"),
        ({"x-amz-checksum-crc32c": "AAAAAAAAAAA="}, "8 bytes for a 4-byte CRC"),
        ({"x-amz-checksum-sha256": "AAAA"}, "3 bytes for SHA-256"),
        ({"x-amz-checksum-crc64nvme": ""}, "empty"),
        ({"x-amz-checksum-crc16": "AAA="}, "no such algorithm"),
        ({"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-sha1": "A" * 27 + "="}, "two checksums"),
        ({"x-amz-trailer": "x-amz-checksum-crc32"}, "a trailer on a plain body"),
    ],
)
async def test_malformed_or_unknown_checksums_are_refused(
    stowage_factory, seaweed_upstream, monkeypatch, headers: dict[str, str], why: str
) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        status, _, text = await put_plain(env, "refused", pattern(5000), headers)
        assert (status, _code(text)) == (400, "InvalidRequest"), (why, text)
        assert await upstream_object(env, "refused") is None


async def test_unknown_trailer_is_refused_before_upstream(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        payload = pattern(3000)
        status, _, text = await put_trailer(
            env, "crc16", payload, STREAMING_UNSIGNED_TRAILER, "x-amz-checksum-crc16", "AAA="
        )
        assert (status, _code(text)) == (400, "InvalidRequest"), text
        right = checksum_b64("crc32", payload)
        status, _, text = await put_trailer(  # a well-formed trailer with a malformed value
            env, "short", payload, STREAMING_UNSIGNED_TRAILER, "x-amz-checksum-crc32", right[:4]
        )
        assert (status, _code(text)) == (400, "InvalidRequest"), text
        assert await upstream_object(env, "crc16") is None
        assert await upstream_object(env, "short") is None


async def test_content_md5_is_enforced(stowage_factory, upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, upstream, monkeypatch) as env:
        payload = pattern(300 * 1024, seed=3)
        right = base64.b64encode(hashlib.md5(payload).digest()).decode()
        wrong = base64.b64encode(hashlib.md5(payload + b"!").digest()).decode()
        status, _, text = await put_plain(env, "md5-good", payload, {"Content-MD5": right})
        assert status == 200, text
        assert await upstream_object(env, "md5-good") == payload
        status, _, text = await put_plain(env, "md5-bad", payload, {"Content-MD5": wrong})
        assert (status, _code(text)) == (400, "BadDigest"), text
        status, _, text = await put_plain(env, "md5-malformed", payload, {"Content-MD5": "nope"})
        assert (status, _code(text)) == (400, "InvalidDigest"), text
        await asyncio.sleep(0.2)
        assert await upstream_object(env, "md5-bad") is None
        assert await upstream_object(env, "md5-malformed") is None


def _force_trailer(params: dict[str, Any], **_: Any) -> None:
    """What boto3 does over HTTPS (STREAMING-UNSIGNED-PAYLOAD-TRAILER), here over HTTP."""
    algorithm = params["context"].get("checksum", {}).get("request_algorithm")
    if isinstance(algorithm, dict):
        algorithm["in"] = "trailer"


@pytest.mark.parametrize("algorithm", ["CRC32C", "SHA256", "CRC64NVME"])
async def test_boto3_checksum_algorithms_round_trip(
    stowage_factory, upstream, monkeypatch, algorithm: str
) -> None:
    async with proxy_env(stowage_factory, upstream, monkeypatch) as env:
        data = pattern(MiB + 5, seed=9)
        header_client = env.client()  # over HTTP: the checksum travels as a header
        trailer_client = env.client()
        trailer_client.meta.events.register("before-call.s3.PutObject", _force_trailer)
        sent: list[str] = []

        def record(request: Any, **_: Any) -> None:
            value = request.headers.get("x-amz-trailer") or b""
            sent.append(value.decode() if isinstance(value, bytes) else value)

        trailer_client.meta.events.register("before-send.s3.PutObject", record)
        for client, key in ((header_client, "header.bin"), (trailer_client, "trailer.bin")):
            await asyncio.to_thread(
                client.put_object, Bucket=env.bucket, Key=key, Body=data, ChecksumAlgorithm=algorithm
            )
            got = await asyncio.to_thread(header_client.get_object, Bucket=env.bucket, Key=key)
            assert await asyncio.to_thread(got["Body"].read) == data
            assert await upstream_object(env, key) == data
        assert sent == [f"x-amz-checksum-{algorithm.lower()}"]
        # multipart: parts carry checksum headers (verified); CompleteMultipartUpload lists them
        config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2)
        big = pattern(11 * MiB, seed=10)
        await asyncio.to_thread(
            header_client.upload_fileobj,
            io.BytesIO(big),
            env.bucket,
            "multipart.bin",
            ExtraArgs={"ChecksumAlgorithm": algorithm},
            Config=config,
        )
        assert await upstream_object(env, "multipart.bin") == big
