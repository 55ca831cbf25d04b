"""Input the upstream request could not carry is refused up front with a 400, never a 502 (found by
the schema-driven fuzz run, issue 14 item 9): metadata names and values and content types that cannot be
S3 headers, and listing prefixes or delimiters with control characters."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from tests.plugins.auth_local.helpers import Client, add_user
from tests.plugins.s3proxy.proxyenv import proxy_env

COPY = {"src_key": "src.txt", "dst_key": "dst.txt"}
BAD_METADATA = [{"wN\u0083": "x"}, {"": "x"}, {"a b": "x"}, {"a": "caf\u00e9"}, {"a": "line\nbreak"}]


@pytest.fixture
async def admin_env(stowage_factory, rclone_upstream, monkeypatch):
    async with (
        proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env,
        Client(env.stowage.dashboard_url) as admin,
    ):
        await add_user(env.runtime, "boss", "admin")
        assert (await admin.login("boss"))[0] == 200
        yield env, admin, f"/api/backends/up/buckets/{env.bucket}"


async def test_metadata_that_cannot_be_headers_is_refused(admin_env) -> None:
    env, admin, base = admin_env
    client = env.client()
    await asyncio.to_thread(client.put_object, Bucket=env.bucket, Key="src.txt", Body=b"s")
    for metadata in BAD_METADATA:
        for method, path, body in (
            ("POST", f"{base}/multipart?key=m.txt", {"metadata": metadata}),
            (
                "POST",
                f"{base}/object/copy",
                {"src_key": "src.txt", "dst_key": "dst.txt", "metadata": metadata},
            ),
        ):
            status, payload, _ = await admin.call(method, path, body)
            assert status == 400, (path, metadata, payload)
            assert payload["error"]["code"] == "invalid_metadata"
    status, payload, _ = await admin.call(
        "POST",
        f"{base}/object/copy",
        {"src_key": "src.txt", "dst_key": "dst.txt", "metadata": {"A-b": "x y"}},
    )
    assert status == 200 and payload["object"]["metadata"]["a-b"] == "x y"


async def test_listing_prefix_and_delimiter_with_control_characters_are_refused(admin_env) -> None:
    _, admin, base = admin_env
    for name in ("prefix", "delimiter"):
        status, payload, _ = await admin.call("GET", f"{base}/objects?{name}={quote(chr(1))}")
        assert status == 400 and name in payload["error"]["message"], payload
    status, _, _ = await admin.call("GET", f"{base}/objects?prefix={quote('caf' + chr(0xE9))}&delimiter=%3B")
    assert status == 200


async def test_multipart_content_type_with_control_characters_is_refused(admin_env) -> None:
    _, admin, base = admin_env
    for content_type in ("\x14", "text/plain\r\nX-Evil: 1", "a" * 256):
        status, payload, _ = await admin.call(
            "POST", f"{base}/multipart?key=m.txt", {"content_type": content_type}
        )
        assert status == 400 and "content_type" in payload["error"]["message"], payload
    status, _, _ = await admin.call("POST", f"{base}/multipart?key=m.txt", {"content_type": "text/plain"})
    assert status == 200
