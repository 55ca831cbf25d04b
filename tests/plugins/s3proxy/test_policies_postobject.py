"""Browser form uploads (POST Object, POST-1…6) built by botocore's ``generate_presigned_post``."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import botocore.exceptions
import pytest

from tests.plugins.quotas.support import policy_env
from tests.plugins.s3proxy.proxyenv import upstream_client


def _form(fields: dict[str, str], data: bytes, filename: str = "photo.jpg") -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", data, filename=filename, content_type="image/jpeg")
    return form


async def _presign(env: Any, key: str, **kwargs: Any) -> dict[str, Any]:
    s3 = env.proxy.client()
    return await asyncio.to_thread(s3.generate_presigned_post, env.proxy.bucket, key, ExpiresIn=600, **kwargs)


def _code(text: str) -> str:
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else ""


async def _head(upstream: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return await asyncio.to_thread(upstream_client(upstream).head_object, Bucket=bucket, Key=key)
    except botocore.exceptions.ClientError:
        return None


async def test_presigned_post_form_upload_succeeds(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        post = await _presign(env, "uploads/${filename}", Conditions=[["content-length-range", 1, 1000]])
        async with env.http.post(post["url"], data=_form(post["fields"], b"jpeg bytes")) as response:
            assert response.status == 204, await response.text()
            assert response.headers["ETag"]
        head = await _head(rclone_upstream, env.proxy.bucket, "uploads/photo.jpg")
        assert head is not None and head["ContentLength"] == len(b"jpeg bytes")

        fields = {"success_action_status": "201", "Content-Type": "text/plain"}
        conditions: list[Any] = [{"success_action_status": "201"}, ["starts-with", "$Content-Type", "text/"]]
        post = await _presign(env, "doc.txt", Fields=fields, Conditions=conditions)
        async with env.http.post(post["url"], data=_form(post["fields"], b"text")) as response:
            assert response.status == 201
            body = await response.text()
        assert f"<Location>{env.proxy.endpoint}/{env.proxy.bucket}/doc.txt</Location>" in body
        assert "<Key>doc.txt</Key>" in body
        head = await _head(rclone_upstream, env.proxy.bucket, "doc.txt")
        assert head is not None and head["ContentType"] == "text/plain"
        events = await env.audit("s3.proxy.postobject")
        assert len(events) == 2 and {e.detail["auth_mode"] for e in events} == {"post-policy"}
        assert events[0].detail["access_key"] == env.proxy.access_key


async def test_upload_over_the_content_length_range_gets_413_and_leaves_nothing(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        post = await _presign(env, "big.bin", Conditions=[["content-length-range", 0, 1000]])
        async with env.http.post(post["url"], data=_form(post["fields"], b"b" * 5000)) as response:
            assert (response.status, _code(await response.text())) == (413, "EntityTooLarge")
        assert await _head(rclone_upstream, env.proxy.bucket, "big.bin") is None

        post = await _presign(env, "small.bin", Conditions=[["content-length-range", 100, 1000]])
        async with env.http.post(post["url"], data=_form(post["fields"], b"tiny")) as response:
            assert (response.status, _code(await response.text())) == (400, "EntityTooSmall")
        assert await _head(rclone_upstream, env.proxy.bucket, "small.bin") is None


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"key": "elsewhere/photo.jpg"}, 403, "AccessDenied"),  # violates starts-with $key uploads/
        ({"x-amz-meta-extra": "1"}, 403, "AccessDenied"),  # field not covered by the policy
        ({"x-amz-signature": "0" * 64}, 403, "SignatureDoesNotMatch"),
        ({"bucket": "another-bucket"}, 403, "AccessDenied"),
    ],
)
async def test_form_that_breaks_its_policy_is_refused(
    stowage_factory, rclone_upstream, monkeypatch, change, status, code
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        post = await _presign(env, "uploads/${filename}")
        fields = {**post["fields"], **change}
        async with env.http.post(post["url"], data=_form(fields, b"data")) as response:
            assert (response.status, _code(await response.text())) == (status, code)
        listed = await asyncio.to_thread(
            upstream_client(rclone_upstream).list_objects_v2, Bucket=env.proxy.bucket
        )
        assert listed.get("KeyCount", 0) == 0


async def test_form_without_a_file_is_malformed(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        post = await _presign(env, "x")
        form = aiohttp.FormData()
        for name, value in post["fields"].items():
            form.add_field(name, value)
        form.add_field("extra", "v", filename="notfile.txt")  # forces multipart/form-data
        async with env.http.post(post["url"], data=form) as response:
            assert (response.status, _code(await response.text())) == (400, "MalformedPOSTRequest")
