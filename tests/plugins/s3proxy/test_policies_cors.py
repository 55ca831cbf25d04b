"""Per-bucket CORS: the admin API (CORS-1), preflights (CORS-2) and actual responses (CORS-3)."""

from __future__ import annotations

import asyncio

from tests.plugins.quotas.support import policy_env

ALLOWED = "https://app.example"


async def test_preflight_from_an_allowed_origin_gets_cors_headers_and_others_do_not(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        bucket = env.proxy.bucket
        path = f"/api/backends/up/buckets/{bucket}/cors"
        rules = [{"allowed_origins": [ALLOWED], "allowed_methods": ["GET", "PUT"], "max_age_seconds": 60}]
        assert (await env.api.call("PUT", path, json={"rules": rules}))[0] == 204
        status, body = await env.api.call("GET", path)
        assert body == {"rules": rules}

        url = f"{env.proxy.endpoint}/{bucket.upper()}/obj.txt"
        headers = {"Origin": ALLOWED, "Access-Control-Request-Method": "PUT"}
        async with env.http.options(url, headers=headers) as response:
            assert response.status == 204
            assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
            assert response.headers["Access-Control-Allow-Methods"] == "GET, PUT"
            assert response.headers["Access-Control-Max-Age"] == "60"
            assert "x-amz-date" in response.headers["Access-Control-Allow-Headers"]
            assert response.headers["Vary"].startswith("Origin")
        headers["Origin"] = "https://evil.example"
        async with env.http.options(url, headers=headers) as response:
            assert response.status == 403
            assert "Access-Control-Allow-Origin" not in response.headers

        s3 = env.proxy.client()

        def add_origin(request, **_: object) -> None:
            request.headers["Origin"] = ALLOWED

        s3.meta.events.register("before-sign.s3.PutObject", add_origin)
        put = await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="obj.txt", Body=b"x")
        sent = put["ResponseMetadata"]["HTTPHeaders"]
        assert sent["access-control-allow-origin"] == ALLOWED
        assert sent["access-control-expose-headers"] == "ETag, x-amz-version-id, x-amz-request-id"
        assert [e for e in await env.api.audit("bucket.cors.set")][0].detail == {"rules": 1}
        assert not await env.api.audit("s3.proxy.corspreflight")


async def test_cors_rules_are_validated_and_an_empty_list_deletes(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with policy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        path = f"/api/backends/up/buckets/{env.proxy.bucket}/cors"
        good = {"allowed_origins": ["*"], "allowed_methods": ["GET"]}
        for bad, message in (
            ([good, {"allowed_methods": ["GET"]}], "rule 1: allowed_origins is required"),
            ([{"allowed_origins": ["*"], "allowed_methods": ["PATCH"]}], "rule 0: unsupported method PATCH"),
            ([{**good, "max_age_seconds": -1}], "rule 0: max_age_seconds must be >= 0"),
        ):
            status, body = await env.api.call("PUT", path, json={"rules": bad})
            assert (status, body["error"]["code"], body["error"]["message"]) == (400, "invalid_cors", message)
        assert (await env.api.call("PUT", path, json={"rules": [good]}))[0] == 204
        assert (await env.api.call("PUT", path, json={"rules": []}))[0] == 204
        assert (await env.api.call("GET", path))[1] == {"rules": []}
        assert (await env.api.call("GET", "/api/backends/nope/buckets/x/cors"))[0] == 404
