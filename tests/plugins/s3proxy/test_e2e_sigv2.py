"""SigV2 through the proxy with real clients: boto3's and aws-cli v1's default presigned URLs fetched
by plain HTTP clients, header-signed SigV2 requests, scope and expiry, the ``s3_proxy.sigv2`` switch
and the redacted log line — over SeaweedFS and over rclone (which itself refuses SigV2: the proxy
re-signs outbound with SigV4)."""

from __future__ import annotations

import asyncio
import logging
import urllib.error
import urllib.request
from typing import Any
from xml.etree import ElementTree

import aiohttp
import boto3
import pytest
from aiobotocore.session import get_session
from botocore.config import Config

from tests.plugins.s3proxy.e2e import aws_cli, metric, pattern, sha256, upstream_sha256
from tests.plugins.s3proxy.proxyenv import ProxyEnv, proxy_env, upstream_client


def default_client(env: ProxyEnv, access_key: str | None = None, secret_key: str | None = None) -> Any:
    """boto3 as users create it: no signature_version, so presigned URLs are SigV2."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=env.endpoint,
        aws_access_key_id=access_key or env.access_key,
        aws_secret_access_key=secret_key or env.secret_key,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )


def v2_header_client(env: ProxyEnv) -> Any:
    """boto3 signing every request with ``Authorization: AWS`` (botocore's s3 SigV2 signer)."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=env.endpoint,
        aws_access_key_id=env.access_key,
        aws_secret_access_key=env.secret_key,
        region_name="us-east-1",
        config=Config(signature_version="s3", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def _urlopen(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback test URL
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


async def fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    return await asyncio.to_thread(_urlopen, url, method, data)


def _code(body: bytes) -> str:
    return ElementTree.fromstring(body).findtext("Code") or ""


@pytest.mark.parametrize("upstream_name", ["seaweed_upstream", "rclone_upstream"])
async def test_boto3_default_presigned_get_and_put(
    stowage_factory, monkeypatch, request, upstream_name: str
) -> None:
    upstream = request.getfixturevalue(upstream_name)
    async with proxy_env(stowage_factory, upstream, monkeypatch) as env:
        s3, direct, bucket = default_client(env), upstream_client(upstream), env.bucket
        body = pattern(200_001, seed=4)
        put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "v2/ü b+.bin"})
        assert "AWSAccessKeyId=" in put_url and "X-Amz-" not in put_url
        # aiohttp adds no Content-Type when told not to: the URL signed none
        async with (
            aiohttp.ClientSession() as session,
            session.put(put_url, data=body, skip_auto_headers=("Content-Type",)) as response,
        ):
            assert response.status == 200, await response.text()
        assert await upstream_sha256(direct, bucket, "v2/ü b+.bin") == sha256(body)

        get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2/ü b+.bin"})
        assert await fetch(get_url) == (200, body)

        # response-* overrides are signed (and forwarded): the upstream applies them
        url = s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": "v2/ü b+.bin", "ResponseContentType": "text/x-stowage"},
        )
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200 and response.headers["Content-Type"] == "text/x-stowage"

        # a Content-Type and metadata signed into a presigned PUT reach the upstream as headers
        url = s3.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": bucket,
                "Key": "v2/typed.txt",
                "ContentType": "text/plain",
                "Metadata": {"k": "v"},
            },
        )
        # no Content-Type header: the signed one in the query is the request's
        async with (
            aiohttp.ClientSession() as session,
            session.put(url, data=b"typed", skip_auto_headers=("Content-Type",)) as response,
        ):
            assert response.status == 200, await response.text()
        head = await asyncio.to_thread(direct.head_object, Bucket=bucket, Key="v2/typed.txt")
        assert head["ContentType"] == "text/plain"
        # (rclone serve s3 title-cases metadata names)
        assert {name.lower(): value for name, value in head["Metadata"].items()} == {"k": "v"}

        # tampering, the wrong secret, another bucket and expiry are all refused
        status, reply = await fetch(get_url.replace("v2/", "v2/x"))
        assert (status, _code(reply)) == (403, "SignatureDoesNotMatch")
        other = s3.generate_presigned_url("get_object", Params={"Bucket": env.extra_buckets[0], "Key": "k"})
        status, reply = await fetch(other)
        assert (status, _code(reply)) == (403, "AccessDenied")
        short = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "v2/ü b+.bin"}, ExpiresIn=1
        )
        await asyncio.sleep(2.1)
        status, reply = await fetch(short)
        assert (status, _code(reply)) == (403, "AccessDenied") and b"expired" in reply
        assert metric(env.runtime, "stowage_s3_request_total", auth_mode="presigned-v2", status="200") >= 4


async def test_virtual_hosted_presigned_url(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    settings = {"s3_proxy": {"host_suffixes": ["s3.test"]}}
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch, settings) as env:
        await asyncio.to_thread(env.client().put_object, Bucket=env.bucket, Key="v/h.txt", Body=b"hosted")
        port = env.endpoint.rsplit(":", 1)[1].rstrip("/")
        s3 = boto3.session.Session().client(
            "s3",
            endpoint_url=f"http://s3.test:{port}",
            aws_access_key_id=env.access_key,
            aws_secret_access_key=env.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "virtual"}),
        )
        url = s3.generate_presigned_url("get_object", Params={"Bucket": env.bucket, "Key": "v/h.txt"})
        assert url.startswith(f"http://{env.bucket}.s3.test:{port}/v/h.txt?")
        # no DNS for s3.test: connect to the proxy and send the virtual host name
        local = url.replace(f"{env.bucket}.s3.test", "127.0.0.1", 1)
        headers = {"Host": f"{env.bucket}.s3.test:{port}"}
        async with aiohttp.ClientSession() as session:
            async with session.get(local, headers=headers) as response:
                assert response.status == 200 and await response.read() == b"hosted"
            # the canonical resource names the bucket: the same signature on another bucket fails
            headers = {"Host": f"{env.extra_buckets[0]}.s3.test:{port}"}
            async with session.get(local, headers=headers) as response:
                assert response.status == 403


async def test_header_signed_sigv2_requests(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        s3, bucket = v2_header_client(env), env.bucket
        await asyncio.to_thread(
            s3.put_object,
            Bucket=bucket,
            Key="h/one.txt",
            Body=b"one",
            ContentType="text/plain",
            Metadata={"a": "b"},
        )
        got = await asyncio.to_thread(s3.get_object, Bucket=bucket, Key="h/one.txt")
        assert got["Body"].read() == b"one" and got["Metadata"] == {"a": "b"}
        listed = await asyncio.to_thread(s3.list_objects, Bucket=bucket, Prefix="h/")
        assert [item["Key"] for item in listed["Contents"]] == ["h/one.txt"]
        await asyncio.to_thread(
            s3.copy_object, Bucket=bucket, Key="h/two.txt", CopySource={"Bucket": bucket, "Key": "h/one.txt"}
        )
        await asyncio.to_thread(s3.delete_object, Bucket=bucket, Key="h/one.txt")
        listed = await asyncio.to_thread(s3.list_objects, Bucket=bucket, Prefix="h/")
        assert [item["Key"] for item in listed["Contents"]] == ["h/two.txt"]
        assert metric(env.runtime, "stowage_s3_request_total", auth_mode="signed-v2") >= 6
        # the scope holds for SigV2 too
        with pytest.raises(Exception, match="AccessDenied"):
            await asyncio.to_thread(s3.get_object, Bucket=env.extra_buckets[0], Key="h/two.txt")


def _form(fields: dict[str, str], data: bytes) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", data, filename="f.txt", content_type="text/plain")
    return form


async def test_boto3_default_presigned_post(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        s3 = default_client(env)
        post = s3.generate_presigned_post(
            env.bucket, "form/${filename}", Conditions=[["content-length-range", 1, 100]], ExpiresIn=600
        )
        assert "AWSAccessKeyId" in post["fields"] and "x-amz-signature" not in post["fields"]
        async with aiohttp.ClientSession() as session:
            async with session.post(post["url"], data=_form(post["fields"], b"form bytes")) as response:
                assert response.status == 204, await response.text()
            direct = upstream_client(seaweed_upstream)
            assert await upstream_sha256(direct, env.bucket, "form/f.txt") == sha256(b"form bytes")
            # a policy changed after signing, or another key's signature, is refused
            forged = {**post["fields"], "policy": post["fields"]["policy"][:-4] + "AAAA"}
            async with session.post(post["url"], data=_form(forged, b"x")) as response:
                assert (response.status, _code(await response.read())) == (403, "SignatureDoesNotMatch")
            other = default_client(env, secret_key="0" * 40).generate_presigned_post(env.bucket, "form/x")
            async with session.post(post["url"], data=_form(other["fields"], b"x")) as response:
                assert (response.status, _code(await response.read())) == (403, "SignatureDoesNotMatch")
        assert metric(env.runtime, "stowage_s3_request_total", auth_mode="post-policy-v2", status="204") == 1


async def test_aiobotocore_default_presigned_url(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        await asyncio.to_thread(env.client().put_object, Bucket=env.bucket, Key="aio.txt", Body=b"aio")
        async with get_session().create_client(
            "s3",
            endpoint_url=env.endpoint,
            aws_access_key_id=env.access_key,
            aws_secret_access_key=env.secret_key,
            region_name="us-east-1",
        ) as s3:
            url = await s3.generate_presigned_url(
                "get_object", Params={"Bucket": env.bucket, "Key": "aio.txt"}
            )
        assert "AWSAccessKeyId=" in url
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200 and await response.read() == b"aio"


async def test_aws_cli_v1_presign(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        data = pattern(5000, seed=2)
        await asyncio.to_thread(env.client().put_object, Bucket=env.bucket, Key="cli/p.bin", Body=data)
        code, out, err = await aws_cli(
            env.endpoint, env.access_key, env.secret_key, "s3", "presign", f"s3://{env.bucket}/cli/p.bin"
        )
        assert code == 0, err
        url = out.strip()
        assert "Signature=" in url and "AWSAccessKeyId=" in url
        assert await fetch(url) == (200, data)


async def test_sigv2_switched_off(stowage_factory, seaweed_upstream, monkeypatch) -> None:
    async with proxy_env(
        stowage_factory, seaweed_upstream, monkeypatch, {"s3_proxy": {"sigv2": False}}
    ) as env:
        await asyncio.to_thread(env.client().put_object, Bucket=env.bucket, Key="k", Body=b"x")
        url = default_client(env).generate_presigned_url(
            "get_object", Params={"Bucket": env.bucket, "Key": "k"}
        )
        status, reply = await fetch(url)
        assert (status, _code(reply)) == (403, "AccessDenied")
        assert b"Signature Version 2 is disabled on this proxy" in reply
        with pytest.raises(Exception, match="Signature Version 2 is disabled"):
            await asyncio.to_thread(v2_header_client(env).get_object, Bucket=env.bucket, Key="k")
        post = default_client(env).generate_presigned_post(env.bucket, "form.txt")
        async with (
            aiohttp.ClientSession() as session,
            session.post(post["url"], data=_form(post["fields"], b"x")) as response,
        ):
            assert response.status == 403 and b"Signature Version 2 is disabled" in await response.read()
        assert metric(env.runtime, "stowage_s3_auth_failure_total", reason="sigv2-disabled") == 3
        # SigV4 is unaffected
        got = await asyncio.to_thread(env.client().get_object, Bucket=env.bucket, Key="k")
        assert got["Body"].read() == b"x"


async def test_sigv2_signature_and_key_are_redacted_in_the_log(
    stowage_factory, seaweed_upstream, monkeypatch
) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("stowage.s3proxy")
    handler = Keep(logging.INFO)
    async with proxy_env(stowage_factory, seaweed_upstream, monkeypatch) as env:
        logger.addHandler(handler)
        previous = logger.level
        logger.setLevel(logging.INFO)
        try:
            url = default_client(env).generate_presigned_url(
                "get_object", Params={"Bucket": env.bucket, "Key": "missing"}
            )
            signature = url.partition("Signature=")[2].partition("&")[0]
            status, _ = await fetch(url)
            assert status == 404
        finally:
            logger.removeHandler(handler)
            logger.setLevel(previous)
    paths = [record.__dict__["path"] for record in records if record.getMessage() == "s3 request"]
    assert paths, "the failed request was logged"
    assert "Signature=REDACTED" in paths[-1] and "AWSAccessKeyId=REDACTED" in paths[-1]
    assert signature not in paths[-1] and env.access_key not in paths[-1]
    assert "Expires=" in paths[-1]  # not a secret
