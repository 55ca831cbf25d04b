"""Object routes over real HTTP, against a real ``rclone serve s3`` upstream."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os

import aiohttp

from stowage.core.contracts.backends import backend_registry


def obj(bucket: str, rest: str = "", backend_id: str = "main") -> str:
    return f"/api/backends/{backend_id}/buckets/{bucket}/{rest}"


async def test_upload_get_info_head_and_delete_roundtrip(api, s3_bucket) -> None:
    data = os.urandom(300_000)
    status, body = await api.upload("main", s3_bucket, "docs/report 1.bin", data, role="user")
    assert status == 201
    assert body["key"] == "docs/report 1.bin" and body["size"] == len(data)
    assert body["etag"].strip('"') == hashlib.md5(data).hexdigest()
    assert body["content_type"] == "application/x-test" and body["last_modified"].endswith("Z")

    async with api.request(
        "GET", obj(s3_bucket, "object"), "readonly", params={"key": "docs/report 1.bin"}
    ) as r:
        assert r.status == 200
        assert await r.read() == data
        assert r.headers["Content-Length"] == str(len(data))
        assert r.headers["Accept-Ranges"] == "bytes"
        assert r.headers["Content-Type"] == "application/x-test"
        assert r.headers["Content-Disposition"] == 'attachment; filename="report 1.bin"'
        assert r.headers["ETag"] == body["etag"]

    status, info = await api.call(
        "GET", obj(s3_bucket, "object/info"), "readonly", params={"key": "docs/report 1.bin"}
    )
    assert status == 200 and info["size"] == len(data) and info["etag"] == body["etag"]
    async with api.request(
        "HEAD", obj(s3_bucket, "object"), "readonly", params={"key": "docs/report 1.bin"}
    ) as r:
        assert r.status == 200 and r.headers["ETag"] == body["etag"]

    status, _ = await api.call(
        "DELETE", obj(s3_bucket, "object"), "user", params={"key": "docs/report 1.bin"}
    )
    assert status == 204
    status, err = await api.call("GET", obj(s3_bucket, "object/info"), params={"key": "docs/report 1.bin"})
    assert status == 404 and err["error"]["code"] == "not_found"
    assert err["error"]["message"] == "resource not found"

    upload, delete = await api.audit("object.upload"), await api.audit("object.delete")
    assert [(e.user_id, e.backend, e.bucket, e.key, e.outcome) for e in upload] == [
        ("user-user", "main", s3_bucket, "docs/report 1.bin", "ok")
    ]
    assert upload[0].detail == {"size": len(data), "content_type": "application/x-test"}
    assert [(e.user_id, e.backend, e.bucket, e.key) for e in delete] == [
        ("user-user", "main", s3_bucket, "docs/report 1.bin")
    ]


async def test_ranges(api, s3_bucket) -> None:
    data = bytes(range(256)) * 40
    assert (await api.upload("main", s3_bucket, "r.bin", data))[0] == 201
    params = {"key": "r.bin"}
    for header, expected, content_range in (
        ("bytes=10-19", data[10:20], f"bytes 10-19/{len(data)}"),
        ("bytes=10000-", data[10000:], f"bytes 10000-{len(data) - 1}/{len(data)}"),
        ("bytes=10000-99999", data[10000:], f"bytes 10000-{len(data) - 1}/{len(data)}"),
    ):
        async with api.request(
            "GET", obj(s3_bucket, "object"), params=params, headers={"Range": header}
        ) as r:
            assert r.status == 206, header
            assert r.headers["Content-Range"] == content_range
            assert await r.read() == expected
    for ignored in ("bytes=-5", "bytes=0-1,5-6", "bytes=9-2", "items=0-1"):
        async with api.request(
            "GET", obj(s3_bucket, "object"), params=params, headers={"Range": ignored}
        ) as r:
            assert r.status == 200 and "Content-Range" not in r.headers
            assert await r.read() == data
    async with api.request(
        "GET", obj(s3_bucket, "object"), params=params, headers={"Range": "bytes=20000-"}
    ) as r:
        assert r.status == 416
        assert r.headers["Content-Range"] == f"bytes */{len(data)}"
        assert (await r.json())["error"]["code"] == "bad_range"


async def test_list_with_prefix_delimiter_and_continuation(api, s3_bucket) -> None:
    for key in ("a/1", "a/2", "a/3", "a/deep/x", "b/1", "top"):
        assert (await api.upload("main", s3_bucket, key, b"."))[0] == 201
    status, page = await api.call("GET", obj(s3_bucket, "objects"), "readonly")
    assert status == 200
    assert page["delimiter"] == "/" and page["prefix"] == ""
    assert page["common_prefixes"] == ["a/", "b/"] and [o["key"] for o in page["objects"]] == ["top"]
    assert page["objects"][0]["size"] == 1 and page["is_truncated"] is False

    status, page = await api.call("GET", obj(s3_bucket, "objects"), params={"prefix": "a/"})
    assert [o["key"] for o in page["objects"]] == ["a/1", "a/2", "a/3"] and page["common_prefixes"] == [
        "a/deep/"
    ]

    keys, token = [], ""
    while True:
        params = {"prefix": "a/", "delimiter": "", "max_keys": "2", **({"token": token} if token else {})}
        status, page = await api.call("GET", obj(s3_bucket, "objects"), params=params)
        assert status == 200 and len(page["objects"]) <= 2
        keys += [o["key"] for o in page["objects"]]
        if not page["is_truncated"]:
            break
        token = page["next_continuation_token"]
    assert keys == ["a/1", "a/2", "a/3", "a/deep/x"]


async def test_bulk_delete(api, s3_bucket) -> None:
    for key in ("x/1", "x/2", "x/3"):
        await api.upload("main", s3_bucket, key, b"-")
    payload = {"keys": [{"key": "x/1"}, {"key": "x/2"}, {"key": "x/3"}]}
    status, body = await api.call("POST", obj(s3_bucket, "objects/delete"), "user", json=payload)
    assert status == 200
    assert sorted(d["key"] for d in body["deleted"]) == ["x/1", "x/2", "x/3"] and body["errors"] == []
    _, page = await api.call("GET", obj(s3_bucket, "objects"), params={"delimiter": ""})
    assert page["objects"] == []
    (event,) = await api.audit("object.bulk_delete")
    assert (event.user_id, event.backend, event.bucket) == ("user-user", "main", s3_bucket)
    assert event.detail == {"requested": 3, "deleted": 3, "errors": 0}
    status, body = await api.call("POST", obj(s3_bucket, "objects/delete"), json={"keys": []})
    assert status == 400
    big = json.dumps({"keys": [{"key": "k" * 1000}] * 1100}).encode()
    headers = {"Content-Type": "application/json"}
    status, body = await api.call(
        "POST", obj(s3_bucket, "objects/delete"), data=io.BytesIO(big), headers=headers
    )
    assert status == 413 and body["error"]["code"] == "too_large"


async def test_roles(api, s3_bucket) -> None:
    assert (await api.upload("main", s3_bucket, "k", b"1", role="readonly"))[0] == 403
    status, _ = await api.call("DELETE", obj(s3_bucket, "object"), "readonly", params={"key": "k"})
    assert status == 403
    status, _ = await api.call("GET", obj(s3_bucket, "objects"), role="")
    assert status == 401
    status, _ = await api.call("GET", obj(s3_bucket, "objects"), "readonly")
    assert status == 200


async def test_upload_limits_and_validation(api, s3_bucket) -> None:
    status, body = await api.upload("main", s3_bucket, "big", b"x" * (5 * 1024 * 1024 + 1))
    assert status == 413 and body["error"]["code"] == "too_large"

    async def endless():  # no Content-Length: the server must stop reading at the cap
        for _ in range(100):
            yield b"y" * (1024 * 1024)

    headers = {"Content-Type": "multipart/form-data; boundary=zzz"}
    status, body = await api.call("POST", obj(s3_bucket, "object"), data=endless(), headers=headers)
    assert status == 413
    for bad in ("a/../b", "bad\x01key", "rtl\u202ename", "k" * 1025):
        status, body = await api.upload("main", s3_bucket, bad, b"1")
        assert status == 400 and body["error"]["code"] == "invalid_key", bad
    status, body = await api.call("POST", obj(s3_bucket, "object"), data=b"not a form")
    assert status == 400
    assert (await api.upload("main", s3_bucket, "once", b"1"))[0] == 201
    status, body = await api.upload("main", s3_bucket, "once", b"2", headers={"If-None-Match": "*"})
    assert status == 412 and body["error"]["code"] == "object_exists"
    status, _ = await api.call("GET", obj(s3_bucket, "object"))
    assert status == 400  # key is required


async def test_content_disposition_is_sanitised(api, s3_bucket) -> None:
    key = 'dir/we"ird\\na\tme ü.txt'
    assert (await api.upload("main", s3_bucket, key, b"1"))[0] == 201
    params = {"key": key, "disposition": "inline"}
    async with api.request("GET", obj(s3_bucket, "object"), params=params) as r:
        value = r.headers["Content-Disposition"]
    # application/x-test is not a passive type: inline is refused (test_object_serving covers inline).
    assert value == "attachment; filename=\"weirdname _.txt\"; filename*=UTF-8''weirdname%20%C3%BC.txt"
    async with api.request("GET", obj(s3_bucket, "object"), params={"key": key, "disposition": "evil"}) as r:
        assert r.headers["Content-Disposition"].startswith("attachment;")


async def test_unknown_backend_and_missing_bucket(api, s3_bucket) -> None:
    status, body = await api.call("GET", obj(s3_bucket, "objects", backend_id="nope"))
    assert status == 404 and body["error"]["message"] == "backend not found"
    status, body = await api.call("GET", obj("no-such-bucket-here", "objects"))
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_download_aborted_by_client_releases_upstream(api, s3_bucket) -> None:
    data = os.urandom(4 * 1024 * 1024)
    await api.upload("main", s3_bucket, "abort.bin", data)
    for _ in range(5):
        async with aiohttp.ClientSession() as http:
            async with http.get(
                api.url(obj(s3_bucket, "object")),
                params={"key": "abort.bin"},
                headers={"X-Test-Role": "admin"},
            ) as r:
                await r.content.read(1000)  # then drop the connection
    async with api.request("GET", obj(s3_bucket, "object"), params={"key": "abort.bin"}) as r:
        assert await r.read() == data


async def test_slow_download_outlives_a_response_timeout(api, s3_bucket) -> None:
    # Even with an app-wide RESPONSE_TIMEOUT, a download sets its own (none): a slow reader of an
    # object larger than the socket buffers must still get every byte.
    data = os.urandom(32 * 1024 * 1024)
    driver = backend_registry(api.stowage.runtime).driver("main")

    async def body():
        yield data

    await driver.put_object(s3_bucket, "slow.bin", body(), size=len(data))
    app = next(item.app for item in api.stowage.listeners if item.name == "dashboard")
    app.config["RESPONSE_TIMEOUT"] = 0.5
    received = bytearray()
    async with api.request("GET", obj(s3_bucket, "object"), params={"key": "slow.bin"}) as r:
        received += await r.content.read(64 * 1024)
        await asyncio.sleep(1.5)
        received += await r.read()
    assert bytes(received) == data
