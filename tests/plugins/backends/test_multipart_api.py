"""Dashboard multipart uploads against ``rclone serve s3``."""

from __future__ import annotations

import hashlib
import io
import os

MiB = 1024 * 1024


def mp(bucket: str, rest: str = "") -> str:
    return f"/api/backends/main/buckets/{bucket}/multipart{rest}"


async def test_multipart_roundtrip(api, s3_bucket) -> None:
    parts = [os.urandom(5 * MiB), os.urandom(123)]
    status, created = await api.call(
        "POST",
        mp(s3_bucket),
        "user",
        params={"key": "big/file.bin"},
        json={"content_type": "application/x-mp"},
    )
    assert status == 200 and created["key"] == "big/file.bin" and created["bucket"] == s3_bucket
    upload_id = created["upload_id"]
    status, listing = await api.call("GET", mp(s3_bucket), "readonly")
    assert status == 200 and [u["upload_id"] for u in listing["uploads"]] == [upload_id]
    done = []
    for number, data in enumerate(parts, 1):
        params = {"key": "big/file.bin", "upload_id": upload_id}
        status, part = await api.call(
            "PUT", mp(s3_bucket, f"/parts/{number}"), "user", params=params, data=io.BytesIO(data)
        )
        assert status == 200 and part["part_number"] == number and part["size"] == len(data)
        assert part["etag"].strip('"') == hashlib.md5(data).hexdigest()
        done.append({"PartNumber": number, "ETag": part["etag"]})
    params = {"key": "big/file.bin", "upload_id": upload_id}
    status, info = await api.call(
        "POST", mp(s3_bucket, "/complete"), "user", params=params, json={"parts": done}
    )
    assert status == 200 and info["size"] == sum(map(len, parts))
    async with api.request(
        "GET", f"/api/backends/main/buckets/{s3_bucket}/object", params={"key": "big/file.bin"}
    ) as r:
        assert await r.read() == b"".join(parts)
        assert r.headers["Content-Type"] == "application/x-mp"
    actions = [(e.action, e.user_id, e.backend, e.bucket, e.key) for e in await api.audit()]
    assert actions == [
        ("object.multipart.create", "user-user", "main", s3_bucket, "big/file.bin"),
        ("object.multipart.complete", "user-user", "main", s3_bucket, "big/file.bin"),
    ]


async def test_part_rules_and_abort(api, s3_bucket) -> None:
    _, created = await api.call("POST", mp(s3_bucket), params={"key": "k"})
    params = {"key": "k", "upload_id": created["upload_id"]}

    async def chunked():
        yield b"abc"

    status, body = await api.call("PUT", mp(s3_bucket, "/parts/1"), params=params, data=chunked())
    assert status == 411 and body["error"]["code"] == "length_required"
    status, body = await api.call(
        "PUT",
        mp(s3_bucket, "/parts/1"),
        params=params,
        data=b"",
        headers={"Content-Length": str(64 * MiB + 1)},
    )
    assert status == 413 and body["error"]["code"] == "too_large"
    for bad in ("0", "10001"):
        status, _ = await api.call("PUT", mp(s3_bucket, f"/parts/{bad}"), params=params, data=b"x")
        assert status == 400
    status, _ = await api.call("PUT", mp(s3_bucket, "/parts/1"), "readonly", params=params, data=b"x")
    assert status == 403
    status, _ = await api.call("DELETE", mp(s3_bucket), params=params)
    assert status == 204
    _, listing = await api.call("GET", mp(s3_bucket))
    assert listing["uploads"] == []
    status, body = await api.call("PUT", mp(s3_bucket, "/parts/1"), params=params, data=b"x")
    assert status == 404 and body["error"]["code"] == "not_found"
    (abort,) = await api.audit("object.multipart.abort")
    assert (abort.backend, abort.bucket, abort.key, abort.outcome) == ("main", s3_bucket, "k", "ok")


async def test_create_honours_if_none_match(api, s3_bucket) -> None:
    await api.upload("main", s3_bucket, "exists", b"1")
    status, body = await api.call(
        "POST", mp(s3_bucket), params={"key": "exists"}, headers={"If-None-Match": "*"}
    )
    assert status == 412 and body["error"]["code"] == "object_exists"
