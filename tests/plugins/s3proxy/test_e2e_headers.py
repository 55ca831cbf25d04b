"""Header fidelity: for every operation the proxy forwards, every x-amz-* request header the S3 API
reference defines for it reaches the upstream, signed; any other x-amz-* header is refused; and only
S3's response headers come back. Seen from a capturing upstream (a small aiohttp server on
loopback that records what arrived), then SSE-C and Object Lock round trips against SeaweedFS."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import botocore.exceptions
import pytest
from aiohttp import web

from stowage.plugins.s3proxy import checksums, sigv4
from stowage.plugins.s3proxy.amzheaders import CONSUMED, HEADERS_BY_API
from stowage.plugins.s3proxy.relay import ERROR_BODY_LIMIT
from tests.plugins.s3proxy.e2e import sign_head
from tests.plugins.s3proxy.proxyenv import ProxyEnv, proxy_env, upstream_client

UPSTREAM_AK, UPSTREAM_SK = "CAPTUREAK", "capture-secret"


@dataclass
class Captured:
    method: str
    raw_path: bytes
    headers: list[tuple[bytes, bytes]]


@dataclass
class CaptureUpstream:
    """What the proxy's tests need of an upstream: an endpoint and its key pair."""

    endpoint_url: str
    access_key: str = UPSTREAM_AK
    secret_key: str = UPSTREAM_SK
    seen: list[Captured] = field(default_factory=list)


@pytest.fixture
async def capture_upstream() -> AsyncIterator[CaptureUpstream]:
    upstream = CaptureUpstream("")

    async def record(request: web.Request) -> web.StreamResponse:
        await request.read()
        headers = [(bytes(name).lower(), bytes(value)) for name, value in request.raw_headers]
        upstream.seen.append(Captured(request.method, request.raw_path.encode("latin-1"), headers))
        answer = {
            "ETag": '"0123"',
            "Content-Length": "4" if request.method == "HEAD" else "",
            "x-amz-meta-colour": "blue",
            "x-amz-request-id": "UPSTREAM-ID",
            "x-amz-id-2": "UPSTREAM-HOST",
            "Set-Cookie": "session=stolen; Path=/",
            "Content-Security-Policy": "default-src *",
            "Location": "http://elsewhere.test/",
            "Access-Control-Allow-Origin": "*",
            "X-Powered-By": "capture",
        }
        answer = {name: value for name, value in answer.items() if value}
        if request.path.endswith("-error"):
            error = b"<Error><Code>NoSuchKey</Code><RequestId>UPSTREAM-ID</RequestId></Error>"
            if request.path.endswith("big-error"):  # past the rewrite bound: relayed as it is
                return web.Response(status=404, body=error + b" " * ERROR_BODY_LIMIT, headers=answer)
            streamed = web.StreamResponse(status=404, headers=answer)  # chunked, no Content-Length
            await streamed.prepare(request)
            await streamed.write(error[:20])
            await streamed.write(error[20:])
            await streamed.write_eof()
            return streamed
        if request.method == "HEAD":
            return web.Response(status=200, headers=answer)
        return web.Response(status=200, body=b"<ok/>", headers=answer, content_type="application/xml")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, auto_decompress=False)  # bodies arrive as sent (gzip too)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    upstream.endpoint_url = f"http://127.0.0.1:{port}"
    try:
        yield upstream
    finally:
        await runner.cleanup()


BODY = b"<Tagging><TagSet/></Tagging>"


def _digest(algorithm: str, data: bytes) -> bytes:
    state = checksums.ALGORITHMS[algorithm][0]()
    state.update(data)
    return state.digest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


CHECKSUM_VALUES = {f"x-amz-checksum-{name}": _b64(_digest(name, BODY)) for name in checksums.ALGORITHMS}
FIRST_CHECKSUM = "x-amz-checksum-crc32"
"""A request carries one checksum value (S3 refuses several): the main request sends this one and
every other algorithm is sent on its own afterwards."""


# API -> (method, target relative to /<bucket>, has body)
REQUESTS: dict[str, tuple[str, str, bool]] = {
    "GetBucketLocation": ("GET", "?location", False),
    "ListMultipartUploads": ("GET", "?uploads", False),
    "ListObjects": ("GET", "?list-type=2", False),
    "HeadBucket": ("HEAD", "", False),
    "GetObject": ("GET", "/k", False),
    "HeadObject": ("HEAD", "/k", False),
    "GetObjectAttributes": ("GET", "/k?attributes", False),
    "GetObjectTagging": ("GET", "/k?tagging", False),
    "PutObjectTagging": ("PUT", "/k?tagging", True),
    "DeleteObjectTagging": ("DELETE", "/k?tagging", False),
    "ListParts": ("GET", "/k?uploadId=u1", False),
    "PutObject": ("PUT", "/k", True),
    "CopyObject": ("PUT", "/k", False),
    "CreateMultipartUpload": ("POST", "/k?uploads", False),
    "UploadPart": ("PUT", "/k?partNumber=1&uploadId=u1", True),
    "UploadPartCopy": ("PUT", "/k?partNumber=1&uploadId=u1", False),
    "CompleteMultipartUpload": ("POST", "/k?uploadId=u1", True),
    "AbortMultipart": ("DELETE", "/k?uploadId=u1", False),
    "DeleteObject": ("DELETE", "/k", False),
    "DeleteObjects": ("POST", "?delete", True),
}


_DATE = "Wed, 01 Jan 2031 00:00:00 GMT"
_CONDITIONS = {"If-Match": '"0123"', "If-None-Match": '"4567"'}
_READ_CONDITIONS = {**_CONDITIONS, "If-Modified-Since": _DATE, "If-Unmodified-Since": _DATE}
_NEW_OBJECT = {
    "Cache-Control": "no-cache",
    "Content-Disposition": 'attachment; filename="a.txt"',
    "Content-Encoding": "gzip",
    "Content-Language": "fr",
    "Content-Type": "text/plain",
    "Expires": _DATE,
}
PLAIN_HEADERS: dict[str, dict[str, str]] = {
    "GetObject": {**_READ_CONDITIONS, "Range": "bytes=0-3"},
    "HeadObject": {**_READ_CONDITIONS, "Range": "bytes=0-3"},
    "PutObject": {
        **_NEW_OBJECT,
        **_CONDITIONS,
        "Content-MD5": base64.b64encode(hashlib.md5(BODY).digest()).decode(),
    },
    "CopyObject": {**_NEW_OBJECT, **_CONDITIONS},
    "CreateMultipartUpload": _NEW_OBJECT,
    "UploadPart": {"Content-MD5": base64.b64encode(hashlib.md5(BODY).digest()).decode()},
    "CompleteMultipartUpload": _CONDITIONS,
    "DeleteObject": {"If-Match": '"0123"'},
}
"""Request headers outside x-amz-* that the reference defines (a sample: they pass as they are)."""


def header_values(api: str, bucket: str) -> dict[str, str]:
    """A value for every x-amz-* header the reference defines for ``api``."""
    out: dict[str, str] = {}
    for raw in sorted(HEADERS_BY_API[api] - CONSUMED):
        name = raw.decode()
        if name in CHECKSUM_VALUES:
            if name == FIRST_CHECKSUM or api == "CompleteMultipartUpload":  # whole-object values
                out[name] = CHECKSUM_VALUES[name]
        elif name == "x-amz-copy-source":
            out[name] = f"/{bucket}/src"
        elif name == "x-amz-checksum-algorithm":
            out[name] = "CRC32"
        elif name == "x-amz-copy-source-range":
            out[name] = "bytes=0-3"
        elif name.endswith(("-date", "-time", "-since")):
            out[name] = "Wed, 01 Jan 2031 00:00:00 GMT"
        else:
            out[name] = f"value-of-{name}"
    if api in ("PutObject", "CopyObject", "CreateMultipartUpload"):
        out["x-amz-meta-colour"] = "blue"
    return out | PLAIN_HEADERS.get(api, {})


async def send_signed(
    env: ProxyEnv, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, Any, bytes]:
    url = env.endpoint + path
    signed = sign_head(method, url, headers, env.access_key, env.secret_key, "UNSIGNED-PAYLOAD")
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.request(
            method,
            url,
            headers={**headers, **signed},
            data=body if body else None,
            skip_auto_headers=("Content-Type", "User-Agent", "Accept", "Accept-Encoding"),
        ) as response,
    ):
        return response.status, response.headers, await response.read()


@pytest.mark.parametrize("api", sorted(REQUESTS))
async def test_every_defined_header_arrives_signed(
    stowage_factory, capture_upstream, monkeypatch, api: str
) -> None:
    assert set(REQUESTS) == set(HEADERS_BY_API)
    async with proxy_env(stowage_factory, capture_upstream, monkeypatch, buckets=1) as env:
        method, target, has_body = REQUESTS[api]
        path = f"/{env.bucket}{target}"
        headers = header_values(api, env.bucket)
        capture_upstream.seen.clear()
        status, _, body = await send_signed(env, method, path, headers, BODY if has_body else b"")
        assert status == 200, body
        arrived = [c for c in capture_upstream.seen if c.method == method]
        assert len(arrived) == 1
        request = arrived[0]
        got = dict(request.headers)
        for name, value in headers.items():
            assert got.get(name.lower().encode()) == value.encode(), name
        authorization = got[b"authorization"].decode()
        signed_names = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
        assert {name for name in headers if name.startswith("x-amz-")} <= set(signed_names)
        # the signature the upstream gets is valid for the backend's key over what arrived
        raw_path, _, raw_query = request.raw_path.partition(b"?")
        parsed = sigv4.parse_request(method, raw_path, raw_query, request.headers)
        sigv4.verify(parsed, UPSTREAM_SK)

        # every other checksum algorithm, one per request, arrives signed too
        if FIRST_CHECKSUM in headers and api != "CompleteMultipartUpload":
            for name, value in CHECKSUM_VALUES.items():
                capture_upstream.seen.clear()
                single = {k: v for k, v in headers.items() if k != FIRST_CHECKSUM} | {name: value}
                status, _, body = await send_signed(env, method, path, single, BODY if has_body else b"")
                assert status == 200, (name, body)
                (request,) = [c for c in capture_upstream.seen if c.method == method]
                assert dict(request.headers).get(name.encode()) == value.encode(), name

        # one x-amz-* header the operation does not define: refused, nothing reaches the upstream
        capture_upstream.seen.clear()
        extra = {**headers, "x-amz-stowage-undefined": "1"}
        status, _, body = await send_signed(env, method, path, extra, BODY if has_body else b"")
        assert status == 400, body
        if method != "HEAD":
            assert b"<Code>InvalidRequest</Code>" in body and b"x-amz-stowage-undefined" in body
        assert capture_upstream.seen == []


async def test_only_s3_response_headers_are_relayed(stowage_factory, capture_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, capture_upstream, monkeypatch, buckets=1) as env:
        status, headers, body = await send_signed(env, "GET", f"/{env.bucket}/k", {}, b"")
        assert status == 200 and body == b"<ok/>"
        names = {name.lower() for name in headers}
        for dropped in ("set-cookie", "content-security-policy", "location", "x-powered-by"):
            assert dropped not in names
        assert headers["ETag"] == '"0123"' and headers["x-amz-meta-colour"] == "blue"
        assert headers["x-amz-request-id"] != "UPSTREAM-ID"
        assert headers["x-amz-id-2"] == "UPSTREAM-ID"
        assert headers.get("Access-Control-Allow-Origin") is None


async def test_error_bodies_get_the_proxy_request_id_within_a_bound(
    stowage_factory, capture_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, capture_upstream, monkeypatch, buckets=1) as env:
        status, headers, body = await send_signed(env, "GET", f"/{env.bucket}/k-chunked-error", {}, b"")
        assert status == 404
        own = headers["x-amz-request-id"]
        assert body == f"<Error><Code>NoSuchKey</Code><RequestId>{own}</RequestId></Error>".encode()
        assert headers["x-amz-id-2"] == "UPSTREAM-ID"
        status, headers, body = await send_signed(env, "GET", f"/{env.bucket}/k-big-error", {}, b"")
        assert status == 404 and len(body) == int(headers["Content-Length"]) > ERROR_BODY_LIMIT
        assert b"<RequestId>UPSTREAM-ID</RequestId>" in body  # streamed untouched


# ---------------------------------------------------------------- SSE-C, Object Lock, attributes (SeaweedFS)


def _sse_c(key: bytes) -> dict[str, Any]:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


async def test_sse_c_round_trip(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        s3, bucket, direct = env.client(), env.bucket, upstream_client(seaweed_upstream)
        key = b"k" * 32
        secret = b"customer-encrypted bytes"
        await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="enc", Body=secret, **_sse_c(key))
        # without the key nobody reads it, through the proxy or directly: it is stored encrypted
        for client in (s3, direct):
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                await asyncio.to_thread(client.get_object, Bucket=bucket, Key="enc")
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        got = await asyncio.to_thread(s3.get_object, Bucket=bucket, Key="enc", **_sse_c(key))
        assert await asyncio.to_thread(got["Body"].read) == secret
        assert got["SSECustomerAlgorithm"] == "AES256"
        head = await asyncio.to_thread(s3.head_object, Bucket=bucket, Key="enc", **_sse_c(key))
        assert head["ContentLength"] == len(secret)
        with pytest.raises(botocore.exceptions.ClientError):
            await asyncio.to_thread(s3.get_object, Bucket=bucket, Key="enc", **_sse_c(b"w" * 32))
        # a copy decrypts with the source key and re-encrypts with another
        other = b"o" * 32
        await asyncio.to_thread(
            s3.copy_object,
            Bucket=bucket,
            Key="enc-copy",
            CopySource={"Bucket": bucket, "Key": "enc"},
            CopySourceSSECustomerAlgorithm="AES256",
            CopySourceSSECustomerKey=key,
            **_sse_c(other),
        )
        got = await asyncio.to_thread(s3.get_object, Bucket=bucket, Key="enc-copy", **_sse_c(other))
        assert await asyncio.to_thread(got["Body"].read) == secret


async def test_object_lock_round_trip(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        direct = upstream_client(seaweed_upstream)
        locked = env.bucket + "-lock"
        await asyncio.to_thread(direct.create_bucket, Bucket=locked, ObjectLockEnabledForBucket=True)
        key, secret = await env.mint([locked])
        s3 = env.client(key, secret)
        until = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        put = await asyncio.to_thread(
            s3.put_object,
            Bucket=locked,
            Key="held",
            Body=b"keep me",
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=until,
            ObjectLockLegalHoldStatus="ON",
        )
        head = await asyncio.to_thread(s3.head_object, Bucket=locked, Key="held")
        assert head["ObjectLockMode"] == "GOVERNANCE"
        assert head["ObjectLockRetainUntilDate"] == until
        assert head["ObjectLockLegalHoldStatus"] == "ON"
        retention = await asyncio.to_thread(direct.get_object_retention, Bucket=locked, Key="held")
        assert retention["Retention"]["Mode"] == "GOVERNANCE"
        hold = await asyncio.to_thread(direct.get_object_legal_hold, Bucket=locked, Key="held")
        assert hold["LegalHold"]["Status"] == "ON"
        # a tenant cannot override the retention with the backend's key
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            await asyncio.to_thread(
                s3.delete_object,
                Bucket=locked,
                Key="held",
                VersionId=put["VersionId"],
                BypassGovernanceRetention=True,
            )
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        await asyncio.to_thread(
            direct.put_object_legal_hold, Bucket=locked, Key="held", LegalHold={"Status": "OFF"}
        )


async def test_get_object_attributes(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        s3, bucket = env.client(), env.bucket
        await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="a", Body=b"12345")
        attributes = await asyncio.to_thread(
            s3.get_object_attributes, Bucket=bucket, Key="a", ObjectAttributes=["ETag", "ObjectSize"]
        )
        assert attributes["ObjectSize"] == 5 and attributes["ETag"]
