"""What the proxy reports about itself, end to end: /metrics counters, audit rows (with read
sampling at 0), request ids on every response, 206 headers, and client disconnects mid-download."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import botocore.exceptions
import pytest

from stowage.core.contracts.audit import AUDIT
from stowage.plugins.s3proxy.keys import PROXY_APP
from tests.plugins.s3proxy.e2e import EMPTY_SHA256, MiB, metric, pattern, read_body, sign_head
from tests.plugins.s3proxy.proxyenv import proxy_env, upstream_client

AUDIT_OFF_FOR_READS = {"audit": {"sampling": {"proxy_success_read_rate": 0}}}


async def _client_error(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await asyncio.to_thread(call, *args, **kwargs)
    response: dict[str, Any] = caught.value.response
    return response


async def test_metrics_count_by_operation_and_result(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        s3 = env.client()
        await asyncio.to_thread(s3.put_object, Bucket=env.bucket, Key="m.txt", Body=b"metrics")
        for _ in range(3):
            await read_body(await asyncio.to_thread(s3.get_object, Bucket=env.bucket, Key="m.txt"))
        await _client_error(s3.get_object, Bucket=env.extra_buckets[0], Key="m.txt")
        await _client_error(env.client(secret_key="1" * 40).get_object, Bucket=env.bucket, Key="m.txt")
        await _client_error(s3.get_object, Bucket=env.bucket, Key="missing.txt")  # upstream 404

        async with (
            aiohttp.ClientSession() as session,
            session.get(env.stowage.dashboard_url + "/metrics") as got,
        ):
            assert got.status == 200
            text = await got.text()
        lines = [line for line in text.splitlines() if line.startswith("stowage_s3_")]

        def value(name: str, **labels: str) -> float:
            total = 0.0
            for line in lines:
                head, _, number = line.rpartition(" ")
                if head.partition("{")[0] == name and all(f'{k}="{v}"' in head for k, v in labels.items()):
                    total += float(number)
            return total

        total = "stowage_s3_request_total"
        assert value(total, operation="PutObject", result="ok", status="200", auth_mode="signed") == 1
        assert value(total, operation="GetObject", result="ok", status="200", method="GET") == 3
        assert value(total, operation="GetObject", result="ok", status="404") == 1
        assert value(total, operation="GetObject", result="scope-violation", status="403") == 1
        assert value(total, operation="GetObject", result="bad-sig", status="403") == 1
        assert value("stowage_s3_auth_failure_total", reason="bad-sig") == 1
        assert value("stowage_s3_scope_violation_total") == 1
        assert value("stowage_s3_bytes_in_total", operation="PutObject") == len(b"metrics")
        assert value("stowage_s3_bytes_out_total", operation="GetObject") >= 3 * len(b"metrics")
        assert value("stowage_s3_inflight_requests") == 0
        assert value("stowage_s3_credential_cache_size") == 1
        assert value("stowage_s3_request_duration_seconds_count", operation="GetObject") == 6
        assert value("stowage_s3_upstream_duration_seconds_count", operation="GetObject") == 4


async def test_audit_holds_every_write_and_denial_and_no_sampled_read(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch, settings=AUDIT_OFF_FOR_READS) as env:
        assert env.runtime.settings.audit.proxy_success_read_rate == 0
        s3 = env.client()
        ids: dict[str, str] = {}

        def rid(response: dict[str, Any]) -> str:
            return str(response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"])

        ids["put"] = rid(await asyncio.to_thread(s3.put_object, Bucket=env.bucket, Key="a.txt", Body=b"a"))
        got = await asyncio.to_thread(s3.get_object, Bucket=env.bucket, Key="a.txt")
        await read_body(got)
        ids["get"] = rid(got)
        ids["head"] = rid(await asyncio.to_thread(s3.head_object, Bucket=env.bucket, Key="a.txt"))
        ids["list"] = rid(await asyncio.to_thread(s3.list_objects_v2, Bucket=env.bucket))
        ids["buckets"] = rid(await asyncio.to_thread(s3.list_buckets))
        ids["scope"] = rid(await _client_error(s3.list_objects_v2, Bucket=env.extra_buckets[0]))
        ids["badsig"] = rid(await _client_error(env.client(secret_key="2" * 40).list_buckets))
        ids["missing"] = rid(await _client_error(s3.get_object, Bucket=env.bucket, Key="nope"))
        ids["admin"] = rid(await _client_error(s3.delete_bucket, Bucket=env.bucket))
        ids["delete"] = rid(await asyncio.to_thread(s3.delete_object, Bucket=env.bucket, Key="a.txt"))

        await env.runtime.get(AUDIT).flush()
        rows = await env.runtime.store.db.fetchall(
            "SELECT action, status, request_id, bucket, object_key, detail FROM audit_events"
            " WHERE action LIKE 's3.proxy.%'"
        )
        by_id = {row["request_id"]: row for row in rows}
        expected = {
            "put": ("s3.proxy.putobject", "ok"),
            "delete": ("s3.proxy.deleteobject", "ok"),
            "scope": ("s3.proxy.listobjects", "denied"),
            "badsig": ("s3.proxy.listbuckets", "denied"),
            "missing": ("s3.proxy.getobject", "denied"),  # an upstream 404 is never sampled away
            "admin": ("s3.proxy.deletebucket", "denied"),
        }
        for name, (action, status) in expected.items():
            row = by_id.get(ids[name])
            assert row is not None, f"no audit row for {name}"
            assert (row["action"], row["status"]) == (action, status), name
        for name in ("get", "head", "list", "buckets"):  # successful reads, sampling rate 0
            assert ids[name] not in by_id, name
        assert len(rows) == len(expected)
        put = by_id[ids["put"]]
        assert (put["bucket"], put["object_key"]) == (env.bucket, "a.txt")
        detail = json.loads(put["detail"])
        assert (detail["auth_mode"], detail["result"], detail["access_key"]) == (
            "signed",
            "ok",
            env.access_key,
        )
        assert json.loads(by_id[ids["scope"]]["detail"])["result"] == "scope-violation"
        assert json.loads(by_id[ids["badsig"]]["detail"])["result"] == "bad-sig"


async def test_every_response_has_a_request_id_and_206_has_no_whole_object_checksum(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        s3 = env.client()
        data = pattern(256 * 1024)
        await asyncio.to_thread(s3.put_object, Bucket=env.bucket, Key="r.bin", Body=data)
        direct = upstream_client(rclone_upstream)
        # rclone answers a range with 200 + Content-Range + the whole object's checksum, so boto3
        # reading from it directly fails: the proxy makes it a 206 without the checksum
        raw = await asyncio.to_thread(
            direct.get_object, Bucket=env.bucket, Key="r.bin", Range="bytes=0-9", ChecksumMode="ENABLED"
        )
        assert raw["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert "x-amz-checksum-crc32" in raw["ResponseMetadata"]["HTTPHeaders"]
        with pytest.raises(botocore.exceptions.FlexibleChecksumError):
            await read_body(raw)

        ranged = await asyncio.to_thread(
            s3.get_object, Bucket=env.bucket, Key="r.bin", Range="bytes=100-1123", ChecksumMode="ENABLED"
        )
        assert await read_body(ranged) == data[100:1124]
        headers = ranged["ResponseMetadata"]["HTTPHeaders"]
        assert ranged["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert headers["content-range"] == f"bytes 100-1123/{len(data)}"
        assert not [name for name in headers if name.startswith("x-amz-checksum-")], headers
        full = await asyncio.to_thread(s3.get_object, Bucket=env.bucket, Key="r.bin", ChecksumMode="ENABLED")
        assert await read_body(full) == data
        assert "x-amz-checksum-crc32" in full["ResponseMetadata"]["HTTPHeaders"]  # kept on a 200

        base = f"{env.endpoint}/{env.bucket}"
        requests = [
            ("GET", f"{env.endpoint}/", True),  # synthesised ListBuckets
            ("GET", f"{base}/r.bin", True),
            ("HEAD", f"{base}/r.bin", True),
            ("GET", f"{base}/missing", True),  # upstream 404 passed through
            ("GET", f"{env.endpoint}/{env.extra_buckets[0]}", True),  # 403 scope
            ("DELETE", base, True),  # 403 DeleteBucket
            ("POST", f"{base}/k", True),  # 400 Unknown
            ("GET", f"{base}/r.bin", False),  # 403 missing auth
        ]
        seen = set()
        async with aiohttp.ClientSession() as session:
            for method, url, signed in requests:
                headers_out = (
                    sign_head(method, url, {}, env.access_key, env.secret_key, EMPTY_SHA256) if signed else {}
                )
                async with session.request(method, url, headers=headers_out) as response:
                    body = await response.read()
                    request_id = response.headers.get("x-amz-request-id")
                    assert request_id, (method, url, response.status)
                    seen.add(request_id)
                    if response.status >= 400 and body:
                        assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), body
                        if b"<RequestId>" in body and url.startswith(
                            env.endpoint + "/" + env.extra_buckets[0]
                        ):
                            assert f"<RequestId>{request_id}</RequestId>".encode() in body
        assert len(seen) == len(requests)  # unique per request


@pytest.mark.slow
async def test_client_disconnect_mid_download_releases_the_upstream(
    stowage_factory, rclone_upstream, monkeypatch, tmp_path
) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        big = tmp_path / "big.bin"
        with big.open("wb") as fh:
            for index in range(20):
                fh.write(pattern(10 * MiB, seed=index))
        direct = upstream_client(rclone_upstream)
        await asyncio.to_thread(direct.upload_file, str(big), env.bucket, "big.bin")
        big.unlink()
        await asyncio.to_thread(
            env.client().put_object, Bucket=env.bucket, Key="small.txt", Body=b"still here"
        )

        url = f"{env.endpoint}/{env.bucket}/big.bin"
        headers = sign_head("GET", url, {}, env.access_key, env.secret_key, EMPTY_SHA256)
        session = aiohttp.ClientSession()
        try:
            response = await session.get(url, headers=headers)
            assert response.status == 200
            assert response.content_length == 200 * MiB
            received = 0
            while received < MiB:
                received += len(await response.content.read(64 * 1024))
            assert metric(env.runtime, "stowage_s3_inflight_requests") == 1
            response.close()  # drop the connection mid-body
        finally:
            await session.close()

        deadline = time.monotonic() + 10
        while metric(env.runtime, "stowage_s3_inflight_requests") != 0:
            assert time.monotonic() < deadline, "the aborted download never finished"
            await asyncio.sleep(0.05)
        # the proxy stopped reading the upstream instead of draining 200 MiB into the void
        sent = metric(env.runtime, "stowage_s3_bytes_out_total", operation="GetObject")
        assert sent < 100 * MiB, sent
        assert (
            metric(env.runtime, "stowage_s3_request_total", operation="GetObject", result="client-gone") == 1
        )
        connector = env.runtime.get(PROXY_APP).forwarder.session.connector
        assert not connector._acquired  # no upstream connection is still held
        # and the server keeps serving
        got = await asyncio.to_thread(env.client().get_object, Bucket=env.bucket, Key="small.txt")
        assert await read_body(got) == b"still here"
