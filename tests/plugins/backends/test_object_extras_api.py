"""Object tags, user metadata and versions over real HTTP, on SeaweedFS and ``rclone serve s3``."""

from __future__ import annotations

import pytest

from tests.plugins.backends.upstream_pair import settings_path, upstream_pair


@pytest.fixture
async def pair(stowage_factory, seaweed_upstream, rclone_upstream, monkeypatch):
    async with upstream_pair(stowage_factory, seaweed_upstream, rclone_upstream, monkeypatch) as p:
        yield p


async def _put(pair, backend_id: str, bucket: str, key: str, data: bytes) -> dict:
    status, body = await pair.api.upload(backend_id, bucket, key, data, role="user")
    assert status == 201, body
    return body


# --- tags --------------------------------------------------------------------------------------


async def test_tags_round_trip_and_audit(pair) -> None:
    api, bucket = pair.api, pair.bucket("sw")
    await _put(pair, "sw", bucket, "a/tagged.txt", b"tag me")
    path, key = settings_path("sw", bucket, "object/tags"), {"key": "a/tagged.txt"}
    assert await api.call("GET", path, "readonly", params=key) == (200, {"tags": {}})
    tags = {"env": "prod", "team name": "storage + ops", "é": "ü/=.:_@-"}
    assert await api.call("PUT", path, "user", params=key, json={"tags": tags}) == (200, {"tags": tags})
    assert await api.call("GET", path, "readonly", params=key) == (200, {"tags": tags})
    direct = pair.seaweed.get_object_tagging(Bucket=bucket, Key="a/tagged.txt")["TagSet"]
    assert {t["Key"]: t["Value"] for t in direct} == tags
    assert await api.call("PUT", path, "user", params=key, json={"tags": {}}) == (200, {"tags": {}})
    assert await api.call("GET", path, "readonly", params=key) == (200, {"tags": {}})
    events = await api.audit("object.tags.set")
    assert [(e.user_id, e.backend, e.bucket, e.key, e.detail) for e in events] == [
        ("user-user", "sw", bucket, "a/tagged.txt", {"tags": 3}),
        ("user-user", "sw", bucket, "a/tagged.txt", {"tags": 0}),
    ]


async def test_tag_limits(pair) -> None:
    api, bucket = pair.api, pair.bucket("sw")
    await _put(pair, "sw", bucket, "t", b".")
    path, key = settings_path("sw", bucket, "object/tags"), {"key": "t"}
    widest = {f"k{i}": "v" for i in range(9)} | {"k" * 128: "v" * 256}
    assert await api.call("PUT", path, params=key, json={"tags": widest}) == (200, {"tags": widest})
    cases = [
        ({"tags": {f"k{i}": "v" for i in range(11)}}, "too_many_tags"),
        ({"tags": {"": "v"}}, "invalid_tag"),
        ({"tags": {"k" * 129: "v"}}, "invalid_tag"),
        ({"tags": {"k": "v" * 257}}, "invalid_tag"),
        ({"tags": {"k": 5}}, "invalid_tag"),
        ({"tags": {"k": None}}, "invalid_tag"),
        ({"tags": {"k": "line\nbreak"}}, "invalid_tag"),
        ({"tags": {"aws:createdBy": "me"}}, "invalid_tag"),
        ({"tags": [["k", "v"]]}, "invalid_tag"),
        ({"tags": "k=v"}, "invalid_tag"),
        ({}, "invalid_tag"),
    ]
    for body, code in cases:
        status, error = await api.call("PUT", path, params=key, json=body)
        assert (status, error["error"]["code"]) == (400, code), body
    status, error = await api.call("PUT", path, params=key, data=b'{"tags": {"k": "' + b"v" * 17000 + b'"}}')
    assert (status, error["error"]["code"]) == (413, "too_large")
    assert await api.call("GET", path, params=key) == (200, {"tags": widest})  # nothing refused got through
    assert len(await api.audit("object.tags.set")) == 1


async def test_tags_roles_missing_objects_and_keys(pair) -> None:
    api, bucket = pair.api, pair.bucket("sw")
    await _put(pair, "sw", bucket, "t", b".")
    path = settings_path("sw", bucket, "object/tags")
    status, error = await api.call("PUT", path, "readonly", params={"key": "t"}, json={"tags": {"a": "b"}})
    assert (status, error["error"]["code"]) == (403, "forbidden")
    assert (await api.call("GET", path, "", params={"key": "t"}))[0] == 401
    assert pair.seaweed.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    status, error = await api.call("GET", path, params={"key": "missing"})
    assert (status, error["error"]["code"]) == (404, "not_found")
    status, error = await api.call("PUT", path, params={"key": "missing"}, json={"tags": {"a": "b"}})
    assert (status, error["error"]["code"]) == (404, "not_found")
    for params in ({}, {"key": ""}, {"key": "a/../b"}):
        assert (await api.call("GET", path, params=params))[0] == 400, params


async def test_tags_on_rclone_are_not_supported_and_never_reach_it(pair) -> None:
    api, bucket = pair.api, pair.bucket("rc")
    await _put(pair, "rc", bucket, "t", b"precious")
    path, key = settings_path("rc", bucket, "object/tags"), {"key": "t"}
    for method, body in (("GET", None), ("PUT", {"tags": {"a": "b"}})):
        status, error = await api.call(method, path, params=key, json=body)
        assert (status, error["error"]["code"]) == (501, "not_supported"), method
    # rclone would have stored the tagging XML as the object's new content.
    assert pair.rclone.get_object(Bucket=bucket, Key="t")["Body"].read() == b"precious"


# --- metadata ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend_id", ["sw", "rc"])
async def test_metadata_replace_keeps_bytes_type_and_tags(pair, backend_id) -> None:
    api, bucket = pair.api, pair.bucket(backend_id)
    await _put(pair, backend_id, bucket, "doc.bin", b"the bytes")
    if backend_id == "sw":
        pair.seaweed.put_object_tagging(
            Bucket=bucket, Key="doc.bin", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}
        )
    path, key = settings_path(backend_id, bucket, "object/metadata"), {"key": "doc.bin"}
    assert await api.call("GET", path, "readonly", params=key) == (200, {"metadata": {}})
    status, body = await api.call(
        "PUT", path, "user", params=key, json={"metadata": {"Owner": "alice", "project": "x-1 (draft)"}}
    )
    assert status == 200, body
    assert body["key"] == "doc.bin" and body["size"] == 9 and body["content_type"] == "application/x-test"
    assert body["metadata"] == {"owner": "alice", "project": "x-1 (draft)"}  # header names: lower-case
    status, info = await api.call("GET", settings_path(backend_id, bucket, "object/info"), params=key)
    assert status == 200 and info["metadata"] == body["metadata"]
    assert await api.call("GET", path, "readonly", params=key) == (200, {"metadata": body["metadata"]})
    # Replacing drops names not given again.
    status, body = await api.call("PUT", path, "user", params=key, json={"metadata": {"b": "2"}})
    assert status == 200 and body["metadata"] == {"b": "2"}
    direct = pair.client(backend_id).get_object(Bucket=bucket, Key="doc.bin")
    assert direct["Body"].read() == b"the bytes" and direct["ContentType"] == "application/x-test"
    if backend_id == "sw":
        assert pair.seaweed.get_object_tagging(Bucket=bucket, Key="doc.bin")["TagSet"] == [
            {"Key": "k", "Value": "v"}
        ]
    events = await api.audit("object.metadata.set")
    assert [(e.user_id, e.backend, e.key, e.outcome, e.detail) for e in events] == [
        ("user-user", backend_id, "doc.bin", "ok", {"fields": 2}),
        ("user-user", backend_id, "doc.bin", "ok", {"fields": 1}),
    ]


async def test_metadata_bad_input_roles_and_missing_object(pair) -> None:
    api, bucket = pair.api, pair.bucket("rc")
    await _put(pair, "rc", bucket, "m", b".")
    path, key = settings_path("rc", bucket, "object/metadata"), {"key": "m"}
    for body in (
        {},
        {"metadata": ["a"]},
        {"metadata": {"a": 1}},
        {"metadata": {"": "v"}},
        {"metadata": {"two words": "v"}},
        {"metadata": {"a:b": "v"}},
        {"metadata": {"a": "line\r\nX-Injected: 1"}},
        {"metadata": {"a": "naïve"}},
    ):
        status, error = await api.call("PUT", path, params=key, json=body)
        assert (status, error["error"]["code"]) == (400, "invalid_metadata"), body
    status, error = await api.call("PUT", path, "readonly", params=key, json={"metadata": {"a": "b"}})
    assert (status, error["error"]["code"]) == (403, "forbidden")
    status, error = await api.call("PUT", path, params={"key": "gone"}, json={"metadata": {"a": "b"}})
    assert (status, error["error"]["code"]) == (404, "not_found")
    assert pair.rclone.head_object(Bucket=bucket, Key="m")["Metadata"] == {}
    (failed,) = await api.audit("object.metadata.set")  # only the attempt on a missing object
    assert failed.outcome == "error" and failed.key == "gone" and failed.detail["error"] == "not_found"


# --- versions ----------------------------------------------------------------------------------


async def test_versions_list_page_download_and_delete(pair) -> None:
    api, bucket = pair.api, pair.bucket("sw")
    versioning = settings_path("sw", bucket, "versioning")
    assert await api.call("PUT", versioning, json={"enabled": True}) == (200, {"enabled": True})
    uploaded = [await _put(pair, "sw", bucket, "doc", b"version %d" % i) for i in range(3)]
    for neighbour in ("do", "doc2", "doc/inner"):  # same prefix, other keys: never listed
        await _put(pair, "sw", bucket, neighbour, b"x")
    ids = [u["version_id"] for u in uploaded]
    assert len(set(ids)) == 3 and all(ids)

    path = settings_path("sw", bucket, "object/versions")
    status, body = await api.call("GET", path, "readonly", params={"key": "doc"})
    assert status == 200 and body["is_truncated"] is False
    listed = body["versions"]
    assert sorted(v["version_id"] for v in listed) == sorted(ids)
    assert {v["key"] for v in listed} == {"doc"} and all(v["size"] == 9 for v in listed)
    assert [v["version_id"] for v in listed if v["is_latest"]] == [ids[-1]] == [listed[0]["version_id"]]
    assert not any(v.get("is_delete_marker") for v in listed) and all(v["last_modified"] for v in listed)

    # One entry a page, following the markers.
    seen, params, pages = [], {"key": "doc", "max_keys": "1"}, 0
    while True:
        status, page = await api.call("GET", path, "readonly", params=params)
        assert status == 200 and len(page["versions"]) <= 1
        seen += [v["version_id"] for v in page["versions"]]
        pages += 1
        if not page["is_truncated"]:
            break
        params = {
            "key": "doc",
            "max_keys": "1",
            "key_marker": page["next_key_marker"],
            "version_id_marker": page["next_version_id_marker"],
        }
        assert pages < 10
    assert sorted(seen) == sorted(ids) and pages >= 3

    obj = settings_path("sw", bucket, "object")
    for number, version_id in enumerate(ids):
        status, data = await api.call("GET", obj, "readonly", params={"key": "doc", "version_id": version_id})
        assert (status, data) == (200, b"version %d" % number)

    assert (await api.call("DELETE", obj, "user", params={"key": "doc", "version_id": ids[0]}))[0] == 204
    status, body = await api.call("GET", path, params={"key": "doc"})
    assert sorted(v["version_id"] for v in body["versions"]) == sorted(ids[1:])
    assert (await api.call("GET", obj, params={"key": "doc", "version_id": ids[0]}))[0] == 404

    # A plain delete leaves a delete marker on top; the older versions stay readable.
    assert (await api.call("DELETE", obj, "user", params={"key": "doc"}))[0] == 204
    status, body = await api.call("GET", path, params={"key": "doc"})
    (marker,) = [v for v in body["versions"] if v.get("is_delete_marker")]
    assert marker["is_latest"] is True and body["versions"][0] == marker
    assert (await api.call("GET", obj, params={"key": "doc"}))[0] == 404
    assert await api.call("GET", obj, params={"key": "doc", "version_id": ids[2]}) == (200, b"version 2")
    deletes = await api.audit("object.delete")
    assert [e.detail for e in deletes] == [{"version_id": ids[0]}, {}]


async def test_versions_need_versioning_and_good_input(pair) -> None:
    api, rc_bucket, sw_bucket = pair.api, pair.bucket("rc"), pair.bucket("sw")
    await _put(pair, "rc", rc_bucket, "doc", b".")
    status, error = await api.call(
        "GET", settings_path("rc", rc_bucket, "object/versions"), params={"key": "doc"}
    )
    assert (status, error["error"]["code"]) == (501, "not_supported")
    path = settings_path("sw", sw_bucket, "object/versions")
    for params in ({}, {"key": "doc", "max_keys": "many"}, {"key": "doc", "key_marker": "other"}):
        status, error = await api.call("GET", path, params=params)
        assert (status, error["error"]["code"]) == (400, "bad_request"), params
    assert (await api.call("GET", path, "", params={"key": "doc"}))[0] == 401
    # A key that never existed has no versions.
    assert await api.call("GET", path, params={"key": "doc"}) == (
        200,
        {"versions": [], "is_truncated": False},
    )
