"""Every aws-chunked variant through the proxy, with and without ``Transfer-Encoding: chunked``,
against SeaweedFS (accepts everything) and rclone (411 on TE-chunked without Content-Length, so
it proves the proxy decodes and sends Content-Length); boto3's own encodings; tampering; 411."""

from __future__ import annotations

import asyncio
import base64
import io
import zlib
from typing import Any
from xml.etree import ElementTree

import pytest
from boto3.s3.transfer import TransferConfig

from stowage.plugins.s3proxy.chunked import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
)
from tests.plugins.s3proxy.e2e import (
    MiB,
    encode_signed,
    encode_unsigned,
    metric,
    pattern,
    seed_of,
    send_raw,
    sha256,
    sign_head,
    signing_key,
    upstream_keys,
    upstream_sha256,
)
from tests.plugins.s3proxy.proxyenv import ProxyEnv, proxy_env, upstream_client

VARIANTS = (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER)


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def chunked_request(
    env: ProxyEnv, key: str, payload: bytes, mode: str, *, tamper: bool = False
) -> tuple[str, dict[str, str], bytes]:
    """(url, signed headers, aws-chunked body) for PUT ``key`` in ``mode``."""
    url = f"{env.endpoint}/{env.bucket}/{key}"
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(payload)),
        "Content-Type": "application/octet-stream",
    }
    trailers = None
    if mode != STREAMING_SIGNED:
        headers["X-Amz-Trailer"] = "x-amz-checksum-crc32"
        trailers = {"x-amz-checksum-crc32": _crc32(payload)}
    signed = sign_head("PUT", url, headers, env.access_key, env.secret_key, mode)
    if mode == STREAMING_UNSIGNED_TRAILER:
        assert trailers is not None
        body = encode_unsigned(payload, 64 * 1024, trailers)
    else:
        seed, amz_date, scope = seed_of(signed)
        body = encode_signed(
            payload,
            64 * 1024,
            key=signing_key(env.secret_key, amz_date[:8]),
            seed=seed,
            amz_date=amz_date,
            scope=scope,
            trailers=trailers,
        )
    if tamper:
        # flip one data byte of the second chunk: its signature (or the CRC) no longer matches
        at = body.index(b"\r\n", 70 * 1024) - 10
        body = body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1 :]
    return url, signed, body


@pytest.fixture(params=["seaweed_upstream", "rclone_upstream"])
def upstream(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


async def test_every_aws_chunked_variant_uploads_correctly(stowage_factory, upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, upstream, monkeypatch) as env:
        direct = upstream_client(upstream)
        for index, mode in enumerate(VARIANTS):
            for te_chunked in (True, False):
                payload = pattern(300 * 1024 + index, seed=index)
                key = f"{mode.lower()}/{'te' if te_chunked else 'length'}.bin"
                url, headers, body = chunked_request(env, key, payload, mode)
                status, response_headers, text = await send_raw(
                    "PUT", url, headers, body, transfer_chunked=te_chunked
                )
                assert status == 200, (mode, te_chunked, text)
                assert response_headers["x-amz-request-id"]
                assert await upstream_sha256(direct, env.bucket, key) == sha256(payload), (mode, te_chunked)
                got = await asyncio.to_thread(direct.head_object, Bucket=env.bucket, Key=key)
                assert got["ContentLength"] == len(payload)
                # aws-chunked is transport framing: it must not be stored as the object's encoding
                assert "aws-chunked" not in got.get("ContentEncoding", "")


@pytest.mark.parametrize("mode", VARIANTS)
@pytest.mark.parametrize("te_chunked", [True, False], ids=["te", "length"])
async def test_tampered_chunk_is_refused_and_nothing_is_stored(
    stowage_factory, seaweed_upstream, monkeypatch, mode: str, te_chunked: bool
) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        payload = pattern(300 * 1024, seed=5)
        url, headers, body = chunked_request(env, "tampered.bin", payload, mode, tamper=True)
        status, _, text = await send_raw("PUT", url, headers, body, transfer_chunked=te_chunked)
        code = ElementTree.fromstring(text).findtext("Code")
        if mode == STREAMING_UNSIGNED_TRAILER:  # nothing is signed: the CRC trailer catches it
            assert (status, code) == (400, "BadDigest")
        else:
            assert (status, code) == (403, "SignatureDoesNotMatch")
        await asyncio.sleep(0.2)  # an aborted upstream PUT must not complete later either
        assert await upstream_keys(upstream_client(seaweed_upstream), env.bucket) == []


async def test_plain_upload_without_any_length_is_411(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        url = f"{env.endpoint}/{env.bucket}/no-length.bin"
        headers = sign_head("PUT", url, {}, env.access_key, env.secret_key, "UNSIGNED-PAYLOAD")
        status, response_headers, text = await send_raw(
            "PUT", url, headers, pattern(100_000), transfer_chunked=True
        )
        root = ElementTree.fromstring(text)
        assert (status, root.findtext("Code")) == (411, "MissingContentLength")
        assert root.findtext("RequestId") == response_headers["x-amz-request-id"]
        assert await upstream_keys(upstream_client(rclone_upstream), env.bucket) == []
        assert metric(env.runtime, "stowage_s3_request_total", operation="PutObject", status="411") == 1


def _force_trailer(params: dict[str, Any], **_: Any) -> None:
    """What boto3 does over HTTPS (STREAMING-UNSIGNED-PAYLOAD-TRAILER, TE-chunked), here over HTTP."""
    algorithm = params["context"].get("checksum", {}).get("request_algorithm")
    if isinstance(algorithm, dict):
        algorithm["in"] = "trailer"


@pytest.mark.parametrize("upstream_name", ["seaweed_upstream", "rclone_upstream"])
async def test_boto3_signed_payload_and_trailer_form(
    stowage_factory, monkeypatch, request: pytest.FixtureRequest, upstream_name: str
) -> None:
    upstream = request.getfixturevalue(upstream_name)
    async with proxy_env(stowage_factory, upstream, monkeypatch) as env:
        direct = upstream_client(upstream)
        plain = env.client()  # over HTTP: signed SHA-256 payload + x-amz-checksum-crc32 header
        data = pattern(2 * MiB + 3, seed=11)
        await asyncio.to_thread(plain.put_object, Bucket=env.bucket, Key="signed.bin", Body=data)
        assert await upstream_sha256(direct, env.bucket, "signed.bin") == sha256(data)

        trailer = env.client()
        seen: list[str] = []
        trailer.meta.events.register("before-call.s3.PutObject", _force_trailer)
        trailer.meta.events.register("before-call.s3.UploadPart", _force_trailer)

        def record(request: Any, **_: Any) -> None:
            value = request.headers["x-amz-content-sha256"]
            seen.append(value.decode() if isinstance(value, bytes) else value)
            if value == STREAMING_UNSIGNED_TRAILER.encode():
                assert request.headers["Transfer-Encoding"] == b"chunked"
                assert "Content-Length" not in request.headers

        trailer.meta.events.register("before-send.s3.*", record)
        await asyncio.to_thread(trailer.put_object, Bucket=env.bucket, Key="trailer.bin", Body=data)
        assert await upstream_sha256(direct, env.bucket, "trailer.bin") == sha256(data)
        config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2)
        big = pattern(12 * MiB, seed=12)
        await asyncio.to_thread(
            trailer.upload_fileobj, io.BytesIO(big), env.bucket, "trailer-mp.bin", Config=config
        )
        assert await upstream_sha256(direct, env.bucket, "trailer-mp.bin") == sha256(big)
        assert seen.count(STREAMING_UNSIGNED_TRAILER) == 4  # PutObject + 3 UploadParts
