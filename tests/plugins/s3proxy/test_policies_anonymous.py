"""Anonymous read bindings (ANON-1…5) through the proxy, with plain unsigned aiohttp requests."""

from __future__ import annotations

import asyncio

import boto3
from botocore.config import Config

from tests.plugins.quotas.support import policy_env
from tests.plugins.s3proxy.proxyenv import upstream_client

ANON = "/api/admin/s3-anonymous"


async def _put_direct(upstream, bucket: str, key: str, body: bytes) -> None:
    await asyncio.to_thread(upstream_client(upstream).put_object, Bucket=bucket, Key=key, Body=body)


def _code(text: str) -> str:
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else ""


async def test_bound_bucket_is_readable_unsigned_and_everything_else_is_refused(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    settings = {"s3_proxy": {"anonymous_enabled": True}}
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch, settings) as env:
        public, private = env.proxy.bucket, env.proxy.extra_buckets[0]
        await _put_direct(rclone_upstream, public, "hello.txt", b"hi there")
        await _put_direct(rclone_upstream, private, "secret.txt", b"no")
        status, body = await env.api.call(
            "POST", ANON, json={"backend_id": "up", "bucket": public, "per_source_ip_rps": 1}
        )
        assert status == 200 and body["mode"] == "ReadOnly" and body["per_source_ip_rps"] == 1
        base = env.proxy.endpoint

        async with env.http.get(f"{base}/{public.upper()}/hello.txt") as response:  # lookup ignores case
            assert response.status == 200
            assert await response.read() == b"hi there"
        async with env.http.put(f"{base}/{public}/new.txt", data=b"x") as response:
            assert (response.status, _code(await response.text())) == (403, "AccessDenied")
        async with env.http.get(f"{base}/{public}/hello.txt?acl") as response:
            assert (response.status, _code(await response.text())) == (403, "AccessDenied")
        async with env.http.get(f"{base}/{private}/secret.txt") as response:
            assert (response.status, _code(await response.text())) == (403, "MissingAuthenticationToken")
        async with env.http.get(f"{base}/") as response:
            assert (response.status, _code(await response.text())) == (403, "MissingAuthenticationToken")

        statuses = []
        for _ in range(8):  # rate 1/s, burst 3: a quick burst runs dry
            async with env.http.head(f"{base}/{public}/hello.txt") as response:
                statuses.append(response.status)
        assert 503 in statuses
        async with env.http.get(f"{base}/{public}/hello.txt") as response:
            assert (response.status, _code(await response.text())) == (503, "SlowDown")

        metrics = env.proxy.runtime.registry
        assert metrics.get_sample_value(
            "stowage_s3_anonymous_request_total", {"operation": "GetObject", "status": "200"}
        )
        assert metrics.get_sample_value("stowage_s3_anonymous_reject_total", {"reason": "rate-limited"})
        assert metrics.get_sample_value("stowage_s3_anonymous_reject_total", {"reason": "op-not-allowed"})
        events = await env.audit("s3.proxy.getobject")
        assert any(
            e.detail.get("auth_mode") == "anonymous" and e.detail.get("source") == "anonymous" for e in events
        )


async def test_with_the_switch_off_every_unsigned_request_is_refused(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        bucket = env.proxy.bucket
        await _put_direct(rclone_upstream, bucket, "hello.txt", b"hi")
        status, _ = await env.api.call("POST", ANON, json={"backend_id": "up", "bucket": bucket})
        assert status == 200
        async with env.http.get(f"{env.proxy.endpoint}/{bucket}/hello.txt") as response:
            assert (response.status, _code(await response.text())) == (403, "MissingAuthenticationToken")


async def test_binding_admin_api_validates_lists_deletes_and_shows_merged_views(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        for bad in ({"bucket": "b"}, {"backend_id": "up", "bucket": "b", "mode": "ReadWrite"},
                    {"backend_id": "up", "bucket": "b", "per_source_ip_rps": -1}):  # fmt: skip
            status, body = await env.api.call("POST", ANON, json=bad)
            assert (status, body["error"]["code"]) == (400, "invalid_request")
        status, first = await env.api.call("POST", ANON, json={"backend_id": "up", "bucket": "b"})
        assert first["per_source_ip_rps"] == 20 and first["created_by"] == "user-admin"
        status, again = await env.api.call(
            "POST", ANON, json={"backend_id": "up", "bucket": "b", "per_source_ip_rps": 0}
        )
        assert again["created_at"] == first["created_at"] and again["per_source_ip_rps"] == 0
        status, listed = await env.api.call("GET", ANON)
        assert [b["bucket"] for b in listed["bindings"]] == ["b"]
        status, view = await env.api.call("GET", "/api/admin/s3-proxy/anonymous")
        assert view["bindings"][0]["source"] == "sqlite"
        status, creds = await env.api.call("GET", "/api/admin/s3-proxy/credentials")
        assert status == 200 and creds["credentials"][0]["source"] == "sqlite"
        assert all("secret_key" not in c for c in creds["credentials"])
        assert (await env.api.call("GET", "/api/admin/s3-proxy/credentials", role="user"))[0] == 403
        assert (await env.api.call("DELETE", f"{ANON}/up/b"))[0] == 204
        assert (await env.api.call("DELETE", f"{ANON}/up/b"))[0] == 404
        assert [e.action for e in await env.api.audit() if e.action.startswith("s3_anonymous.")] == [
            "s3_anonymous.upsert",
            "s3_anonymous.upsert",
            "s3_anonymous.delete",
        ]


async def test_sigv2_presigned_request_on_a_bound_bucket_is_authenticated_not_anonymous(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    settings = {"s3_proxy": {"anonymous_enabled": True}}
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch, settings) as env:
        public = env.proxy.bucket
        status, _ = await env.api.call("POST", ANON, json={"backend_id": "up", "bucket": public})
        assert status == 200
        s3 = boto3.session.Session().client(
            "s3",
            endpoint_url=env.proxy.endpoint,
            aws_access_key_id=env.proxy.access_key,
            aws_secret_access_key=env.proxy.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),  # default signer: SigV2 presigned URLs
        )
        url = s3.generate_presigned_url("put_object", Params={"Bucket": public, "Key": "signed.txt"})
        assert "AWSAccessKeyId=" in url
        async with env.http.put(url, data=b"signed", skip_auto_headers=("Content-Type",)) as response:
            assert response.status == 200, await response.text()
        got = await asyncio.to_thread(
            upstream_client(rclone_upstream).get_object, Bucket=public, Key="signed.txt"
        )
        assert got["Body"].read() == b"signed"
        # a forged signature is an auth failure, not an anonymous request
        async with env.http.put(url.replace("Signature=", "Signature=A"), data=b"x") as response:
            assert response.status == 403
            assert _code(await response.text()) in {"SignatureDoesNotMatch", "AccessDenied"}
