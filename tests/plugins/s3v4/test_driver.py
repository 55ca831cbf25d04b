"""``S3V4Driver`` against a real ``rclone serve s3``: every ``StorageDriver`` method."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid

import pytest

from stowage.core.contracts.driver import (
    BackendSpec,
    BucketNotFound,
    DriverError,
    InvalidRange,
    NotSupported,
    ObjectNotFound,
    PreconditionFailed,
)
from stowage.plugins.s3v4 import S3V4Driver, stowage_storage_driver


def spec_for(upstream, **overrides) -> BackendSpec:
    values = dict(
        id="main",
        name="main",
        type="s3v4",
        endpoint=upstream.endpoint_url,
        access_key=upstream.access_key,
        secret_key=upstream.secret_key,
        path_style=True,
    )
    values.update(overrides)
    return BackendSpec(**values)


@pytest.fixture
async def driver(rclone_upstream):
    driver = S3V4Driver(spec_for(rclone_upstream))
    yield driver
    await driver.close()


async def body(*chunks: bytes):
    for chunk in chunks:
        yield chunk


async def read_all(obj) -> bytes:
    try:
        return b"".join([chunk async for chunk in obj.chunks])
    finally:
        await obj.close()


def test_hook_answers_only_s3v4_types(rclone_upstream) -> None:
    assert isinstance(stowage_storage_driver(spec_for(rclone_upstream)), S3V4Driver)
    assert isinstance(stowage_storage_driver(spec_for(rclone_upstream, type="")), S3V4Driver)
    assert stowage_storage_driver(spec_for(rclone_upstream, type="memtest")) is None


async def test_capabilities_follow_be3(driver) -> None:
    caps = driver.capabilities
    assert caps.versioning and caps.object_lock and caps.lifecycle and caps.bucket_policy
    assert caps.cors and caps.tagging and caps.server_side_encrypt
    assert caps.admin_api == "" and caps.max_multipart_parts == 10000
    assert caps.max_part_size_bytes == 5 * 1024**3


async def test_probe_reports_health_and_latency(driver, rclone_upstream) -> None:
    result = await driver.probe()
    assert result.healthy and result.latency_ms > 0 and result.error == ""
    bad = S3V4Driver(spec_for(rclone_upstream, secret_key="wrong"))
    try:
        result = await bad.probe()
    finally:
        await bad.close()
    assert not result.healthy and result.error


async def test_bucket_lifecycle(driver) -> None:
    name = f"drv-{uuid.uuid4().hex[:12]}"
    await driver.create_bucket(name)
    assert name in [b.name for b in await driver.list_buckets()]
    await driver.delete_bucket(name)
    assert name not in [b.name for b in await driver.list_buckets()]
    with pytest.raises(BucketNotFound):
        await driver.delete_bucket(name)
    with pytest.raises(BucketNotFound):
        await driver.list_objects(name)


async def test_put_get_head_delete_roundtrip(driver, s3_bucket) -> None:
    data = b"hello " * 1000
    info = await driver.put_object(
        s3_bucket,
        "dir/a b+c.txt",
        body(data[:10], data[10:]),
        size=len(data),
        content_type="text/plain",
        metadata={"owner": "ann"},
    )
    assert info.etag.strip('"') == hashlib.md5(data).hexdigest()
    head = await driver.head_object(s3_bucket, "dir/a b+c.txt")
    assert head.size == len(data) and head.content_type == "text/plain"
    assert head.metadata == {"owner": "ann"} and head.last_modified is not None
    obj = await driver.get_object(s3_bucket, "dir/a b+c.txt")
    assert obj.content_length == len(data) and obj.content_range is None
    assert await read_all(obj) == data
    await driver.delete_object(s3_bucket, "dir/a b+c.txt")
    with pytest.raises(ObjectNotFound):
        await driver.head_object(s3_bucket, "dir/a b+c.txt")
    with pytest.raises(ObjectNotFound):
        await driver.get_object(s3_bucket, "dir/a b+c.txt")


async def test_keys_with_unusual_characters_roundtrip(driver, s3_bucket) -> None:
    for key in ("ünï cødé/ファイル.txt", "a/.hidden/b..c", "sp%20ace?&=#", "x~y!z'(*)"):
        await driver.put_object(s3_bucket, key, body(b"k"), size=1)
        assert await read_all(await driver.get_object(s3_bucket, key)) == b"k"
        assert (await driver.head_object(s3_bucket, key)).key == key


async def test_ranges_and_invalid_range(driver, s3_bucket) -> None:
    data = bytes(range(256)) * 4
    await driver.put_object(s3_bucket, "r", body(data), size=len(data))
    obj = await driver.get_object(s3_bucket, "r", byte_range=(10, 19))
    assert obj.content_range == (10, 19, len(data)) and obj.content_length == 10
    assert obj.info.size == len(data)
    assert await read_all(obj) == data[10:20]
    obj = await driver.get_object(s3_bucket, "r", byte_range=(1000, None))
    assert await read_all(obj) == data[1000:]
    with pytest.raises(InvalidRange) as caught:
        await driver.get_object(s3_bucket, "r", byte_range=(5000, None))
    assert caught.value.size == len(data)


async def test_early_close_releases_the_connection(driver, s3_bucket) -> None:
    data = b"x" * (3 * 1024 * 1024)
    await driver.put_object(s3_bucket, "big", body(data), size=len(data))
    for _ in range(70):  # more than the pool of 64: leaked connections would block here
        obj = await driver.get_object(s3_bucket, "big")
        await obj.close()  # never started
    obj = await driver.get_object(s3_bucket, "big")
    await obj.chunks.__anext__()
    await obj.close()  # half read
    assert (await driver.head_object(s3_bucket, "big")).size == len(data)


async def test_put_refuses_a_body_of_the_wrong_length(driver, s3_bucket) -> None:
    with pytest.raises(DriverError):
        await driver.put_object(s3_bucket, "short", body(b"abc"), size=10)
    with pytest.raises(DriverError):
        await driver.put_object(s3_bucket, "long", body(b"abcdef"), size=3)


async def test_if_none_match(driver, s3_bucket) -> None:
    await driver.put_object(s3_bucket, "once", body(b"1"), size=1, if_none_match=True)
    try:
        await driver.put_object(s3_bucket, "once", body(b"2"), size=1, if_none_match=True)
    except PreconditionFailed:
        pass
    else:
        pytest.skip("rclone serve s3 ignores If-None-Match on PutObject (the API checks with HEAD first)")


async def test_list_prefix_delimiter_and_continuation(driver, s3_bucket) -> None:
    for key in ("a/1", "a/2", "a/3", "b/1", "top"):
        await driver.put_object(s3_bucket, key, body(b"."), size=1)
    page = await driver.list_objects(s3_bucket, delimiter="/")
    assert [o.key for o in page.objects] == ["top"] and list(page.common_prefixes) == ["a/", "b/"]
    keys, token = [], ""
    while True:
        page = await driver.list_objects(s3_bucket, prefix="a/", token=token, max_keys=2)
        keys += [o.key for o in page.objects]
        if not page.is_truncated:
            break
        token = page.next_token
        assert token
    assert keys == ["a/1", "a/2", "a/3"]


async def test_delete_objects_in_bulk(driver, s3_bucket) -> None:
    for key in ("d1", "d2"):
        await driver.put_object(s3_bucket, key, body(b"."), size=1)
    result = await driver.delete_objects(s3_bucket, [("d1", ""), ("d2", ""), ("missing", "")])
    assert {key for key, _ in result.deleted} >= {"d1", "d2"}
    assert not (await driver.list_objects(s3_bucket)).objects


async def test_copy_object_server_side(driver, s3_bucket) -> None:
    await driver.put_object(s3_bucket, "src", body(b"copy me"), size=7, content_type="text/x-a")
    info = await driver.copy_object(s3_bucket, "src", s3_bucket, "dst")
    assert info.size == 7 and info.key == "dst"
    assert await read_all(await driver.get_object(s3_bucket, "dst")) == b"copy me"
    info = await driver.copy_object(s3_bucket, "src", s3_bucket, "dst2", metadata={"k": "v"})
    assert info.metadata.get("k") == "v" and info.content_type == "text/x-a"
    with pytest.raises(ObjectNotFound):
        await driver.copy_object(s3_bucket, "nope", s3_bucket, "dst3")


async def test_multipart_upload(driver, s3_bucket) -> None:
    part1, part2 = b"a" * (5 * 1024 * 1024), b"tail"
    upload_id = await driver.create_multipart(s3_bucket, "mp", content_type="application/x-test")
    assert [u.upload_id for u in await driver.list_multipart(s3_bucket)] == [upload_id]
    p1 = await driver.upload_part(s3_bucket, "mp", upload_id, 1, body(part1), size=len(part1))
    p2 = await driver.upload_part(s3_bucket, "mp", upload_id, 2, body(part2), size=len(part2))
    assert (p1.part_number, p1.size) == (1, len(part1)) and p2.etag
    info = await driver.complete_multipart(s3_bucket, "mp", upload_id, [(1, p1.etag), (2, p2.etag)])
    assert info.size == len(part1) + len(part2)
    assert await read_all(await driver.get_object(s3_bucket, "mp")) == part1 + part2
    upload_id = await driver.create_multipart(s3_bucket, "mp2")
    await driver.abort_multipart(s3_bucket, "mp2", upload_id)
    assert await driver.list_multipart(s3_bucket) == []
    with pytest.raises(ObjectNotFound):
        await driver.upload_part(s3_bucket, "mp2", upload_id, 1, body(b"x"), size=1)


async def test_tags(driver, s3_bucket) -> None:
    await driver.put_object(s3_bucket, "t", body(b"."), size=1)
    try:
        await driver.put_tags(s3_bucket, "t", {"env": "prod"})
        assert await driver.get_tags(s3_bucket, "t") == {"env": "prod"}
    except (NotSupported, DriverError) as exc:
        pytest.skip(f"rclone serve s3 has no object tagging ({exc.code or exc})")


async def test_versioning(driver, s3_bucket) -> None:
    try:
        assert await driver.get_versioning(s3_bucket) is False
        await driver.put_versioning(s3_bucket, True)
        assert await driver.get_versioning(s3_bucket) is True
    except (NotSupported, DriverError) as exc:
        pytest.skip(f"rclone serve s3 has no bucket versioning ({exc.code or exc})")


async def test_unreachable_backend_fails_fast(rclone_upstream) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = S3V4Driver(spec_for(rclone_upstream, endpoint=f"http://127.0.0.1:{port}"))
    try:
        started = time.monotonic()
        with pytest.raises(DriverError) as caught:
            await down.list_buckets()
        assert caught.value.code == "unreachable"
        with pytest.raises(DriverError):
            await down.put_object("b", "k", body(b"x"), size=1)
        assert not (await down.probe(timeout=2)).healthy
        assert time.monotonic() - started < 6
    finally:
        await down.close()


async def test_close_is_idempotent_and_client_reopens(driver) -> None:
    await driver.list_buckets()
    await driver.close()
    await driver.close()
    assert isinstance(await driver.list_buckets(), list)
    await asyncio.sleep(0)
