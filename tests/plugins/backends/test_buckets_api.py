"""Bucket routes against ``rclone serve s3``."""

from __future__ import annotations

import uuid


async def test_create_list_delete_bucket(api, rclone_upstream) -> None:
    name = f"api-{uuid.uuid4().hex[:12]}"
    status, body = await api.call("POST", "/api/backends/main/buckets", json={"name": name, "region": ""})
    assert (status, body) == (201, {"name": name})
    status, body = await api.call("GET", "/api/backends/main/buckets", "readonly")
    assert status == 200
    entry = next(b for b in body["buckets"] if b["name"] == name)
    assert entry["size_tracked"] is True and "created_at" in entry  # tracked unless switched off
    status, _ = await api.call("DELETE", f"/api/backends/main/buckets/{name}")
    assert status == 204
    _, body = await api.call("GET", "/api/backends/main/buckets")
    assert name not in [b["name"] for b in body["buckets"]]  # the cache was dropped on delete
    status, body = await api.call("DELETE", f"/api/backends/main/buckets/{name}")
    assert status == 404 and body["error"]["code"] == "not_found"
    events = await api.audit()
    assert [(e.action, e.outcome, e.user_id, e.backend, e.bucket) for e in events] == [
        ("bucket.create", "ok", "user-admin", "main", name),
        ("bucket.delete", "ok", "user-admin", "main", name),
        ("bucket.delete", "error", "user-admin", "main", name),
    ]


async def test_bucket_list_is_cached_for_two_seconds(api, rclone_upstream, boto3_client_factory) -> None:
    _, first = await api.call("GET", "/api/backends/main/buckets")
    client = boto3_client_factory(
        rclone_upstream.endpoint_url, rclone_upstream.access_key, rclone_upstream.secret_key
    )
    name = f"cache-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    try:
        _, second = await api.call("GET", "/api/backends/main/buckets")
        # Served from the cache (names only: size fields may appear as background counts finish).
        assert [b["name"] for b in second["buckets"]] == [b["name"] for b in first["buckets"]]
        _, other = await api.call("GET", "/api/backends/other/buckets")
        assert name in [b["name"] for b in other["buckets"]]  # per backend
    finally:
        client.delete_bucket(Bucket=name)


async def test_bucket_rules_and_roles(api) -> None:
    for bad in ("ab", "-abc", "abc.", "ABC", "a_b", "x" * 64, ""):
        status, body = await api.call("POST", "/api/backends/main/buckets", json={"name": bad})
        assert status == 400 and body["error"]["code"] == "invalid_bucket_name", bad
    status, _ = await api.call("POST", "/api/backends/main/buckets", "user", json={"name": "fine-name"})
    assert status == 403
    status, _ = await api.call("DELETE", "/api/backends/main/buckets/whatever", "user")
    assert status == 403
    status, body = await api.call("GET", "/api/backends/nope/buckets")
    assert status == 404 and body["error"]["message"] == "backend not found"


async def test_deleting_a_non_empty_bucket_is_409_not_a_backend_failure(api, s3_bucket) -> None:
    assert (await api.upload("main", s3_bucket, "keep.txt", b"k"))[0] == 201
    status, body = await api.call("DELETE", f"/api/backends/main/buckets/{s3_bucket}")
    assert status == 409
    assert body["error"] == {
        "code": "bucket_not_empty",
        "message": "the bucket is not empty",
        "detail": "BucketNotEmpty",
    }


async def test_creating_an_existing_bucket_is_409(api, s3_bucket) -> None:
    status, body = await api.call(
        "POST", "/api/backends/main/buckets", json={"name": s3_bucket, "region": ""}
    )
    assert status == 409 and body["error"]["code"] == "bucket_exists"
    assert body["error"]["detail"] in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou")
