"""``S3V4Driver``'s probed features: the capability probe and the methods it guards, on a real
SeaweedFS (which has them all) and a real ``rclone serve s3`` (which would misread every request)."""

from __future__ import annotations

import secrets
import uuid

import pytest

from stowage.core.contracts.driver import BucketNotFound, DriverError, LifecycleRule, NotSupported
from stowage.plugins.s3v4 import S3V4Driver
from stowage.plugins.s3v4.capability_probe import RETRY_AFTER, CapabilityProbe, judge
from stowage.plugins.s3v4.lifecycle_rules import rule_from_s3, rule_to_s3
from stowage.testing.fixtures_s3 import make_s3_client
from stowage.testing.upstreams import SeaweedFSUpstream
from tests.plugins.s3v4.test_driver import body, read_all, spec_for

LISTING = b'<?xml version="1.0"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'


def _error(code: str) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code.encode() + b"</Code></Error>"


@pytest.mark.parametrize(
    ("name", "status", "raw", "proven"),
    [
        ("versioning", 200, b'<VersioningConfiguration xmlns="x"></VersioningConfiguration>', True),
        ("versioning", 200, b"<?xml version='1.0'?><!-- hi --><VersioningConfiguration/>", True),
        ("versioning", 200, LISTING, False),
        ("versions", 200, b"<?xml version='1.0'?><ListVersionsResult>", True),
        ("versions", 501, _error("NotImplemented"), False),
        ("tagging", 404, _error("NoSuchTagSet"), True),
        ("tagging", 200, b"<Tagging><TagSet/></Tagging>", True),
        ("tagging", 200, LISTING, False),
        ("bucket_policy", 404, _error("NoSuchBucketPolicy"), True),
        ("bucket_policy", 200, b' {"Version": "2012-10-17"}', True),
        ("bucket_policy", 200, LISTING, False),
        ("bucket_policy", 403, _error("AccessDenied"), False),
        ("lifecycle", 404, _error("NoSuchLifecycleConfiguration"), True),
        ("lifecycle", 200, b"<LifecycleConfiguration><Rule/></LifecycleConfiguration>", True),
        ("lifecycle", 200, LISTING, False),
        ("lifecycle", 405, _error("MethodNotAllowed"), False),
        ("lifecycle", 404, _error("NoSuchKey"), False),
        ("lifecycle", 200, b"", False),
    ],
)
def test_judge_reads_the_raw_answer(name, status, raw, proven) -> None:
    assert judge(name, status, raw) is proven


def test_judge_refuses_to_guess() -> None:
    with pytest.raises(BucketNotFound):
        judge("lifecycle", 404, _error("NoSuchBucket"))
    with pytest.raises(DriverError) as caught:
        judge("tagging", 503, _error("SlowDown"))
    assert not isinstance(caught.value, NotSupported)


def test_lifecycle_rules_to_and_from_s3() -> None:
    rule = LifecycleRule(
        id="r",
        prefix="p/",
        enabled=False,
        expiration_days=3,
        transition_days=0,
        transition_storage_class="GLACIER",
    )
    assert rule_from_s3(rule_to_s3(rule)) == rule
    assert rule_from_s3({"Status": "Enabled", "Filter": {"And": {"Prefix": "a/", "Tags": []}}}).prefix == "a/"
    legacy = rule_from_s3({"ID": "old", "Prefix": "logs/", "Status": "Enabled", "Expiration": {"Days": 9}})
    assert (legacy.prefix, legacy.expiration_days, legacy.enabled) == ("logs/", 9, True)
    dated = rule_from_s3({"Status": "Enabled", "Expiration": {"Date": "2030-01-01T00:00:00Z"}, "Filter": {}})
    assert dated.expiration_days is None and dated.prefix == ""


async def test_no_bucket_is_asked_again_later_and_an_answer_is_kept(tmp_path) -> None:
    upstream = SeaweedFSUpstream(tmp_path / "weed", "probe-test-access", secrets.token_hex(16))
    with upstream:
        driver = S3V4Driver(spec_for(upstream))
        now = [1000.0]
        probe = CapabilityProbe(
            driver.capabilities, driver._uploader.fetch, driver.list_buckets, lambda: now[0]
        )
        try:
            nothing = await probe.capabilities()
            assert not (nothing.versioning or nothing.tagging or nothing.bucket_policy or nothing.lifecycle)
            assert nothing.cors and nothing.max_multipart_parts == 10000
            client = make_s3_client(upstream.endpoint_url, upstream.access_key, upstream.secret_key)
            client.create_bucket(Bucket="first")
            client.close()
            assert await probe.capabilities() == nothing  # "no bucket" is kept a while
            now[0] += RETRY_AFTER
            found = await probe.capabilities()
            assert found.versioning and found.tagging and found.bucket_policy and found.lifecycle
        finally:
            await driver.close()
    # The upstream is gone: a kept answer needs no request.
    assert await probe.capabilities() is found


@pytest.fixture
async def rclone_driver(rclone_upstream):
    driver = S3V4Driver(spec_for(rclone_upstream))
    yield driver
    await driver.close()


async def test_rclone_guarded_methods_raise_and_leave_the_bucket_alone(
    rclone_driver, rclone_upstream, s3_bucket
) -> None:
    driver = rclone_driver
    caps = await driver.probe_capabilities(s3_bucket)
    assert not (caps.versioning or caps.tagging or caps.bucket_policy or caps.lifecycle)
    calls = [
        lambda: driver.delete_bucket_policy(s3_bucket),  # rclone would delete the empty bucket
        lambda: driver.put_bucket_policy(s3_bucket, "{}"),
        lambda: driver.get_bucket_policy(s3_bucket),
        lambda: driver.get_lifecycle(s3_bucket),
        lambda: driver.put_lifecycle(s3_bucket, []),
        lambda: driver.get_versioning(s3_bucket),
        lambda: driver.put_versioning(s3_bucket, True),
        lambda: driver.list_object_versions(s3_bucket),
        lambda: driver.get_tags(s3_bucket, "k"),
        lambda: driver.put_tags(s3_bucket, "k", {"a": "b"}),
    ]
    for call in calls:
        with pytest.raises(NotSupported):
            await call()
    assert s3_bucket in {b.name for b in await driver.list_buckets()}
    fresh = S3V4Driver(spec_for(rclone_upstream))
    try:
        with pytest.raises(BucketNotFound):
            await fresh.probe_capabilities("missing-bucket")
    finally:
        await fresh.close()


@pytest.fixture
async def seaweed(seaweed_upstream):
    driver = S3V4Driver(spec_for(seaweed_upstream))
    client = make_s3_client(
        seaweed_upstream.endpoint_url, seaweed_upstream.access_key, seaweed_upstream.secret_key
    )
    bucket = f"drv-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    yield driver, bucket
    await driver.close()
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            client.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
    client.delete_bucket(Bucket=bucket)
    client.close()


async def test_seaweed_policy_lifecycle_versions_and_metadata(seaweed) -> None:
    driver, bucket = seaweed
    assert await driver.get_bucket_policy(bucket) == ""
    await driver.delete_bucket_policy(bucket)  # none there: not an error
    assert await driver.get_lifecycle(bucket) == []
    rules = [
        LifecycleRule(id="a", prefix="tmp/", expiration_days=1),
        LifecycleRule(id="b", abort_incomplete_days=2),
    ]
    await driver.put_lifecycle(bucket, rules)
    assert sorted(await driver.get_lifecycle(bucket), key=lambda r: r.id) == rules
    await driver.put_lifecycle(bucket, [])
    assert await driver.get_lifecycle(bucket) == []

    await driver.put_versioning(bucket, True)
    for data in (b"one", b"two"):
        await driver.put_object(bucket, "v", body(data), size=len(data), content_type="text/x-v")
    page = await driver.list_object_versions(bucket, prefix="v", max_keys=1)
    assert page.is_truncated and len(page.versions) == 1 and page.next_key_marker == "v"
    rest = await driver.list_object_versions(
        bucket, prefix="v", key_marker=page.next_key_marker, version_id_marker=page.next_version_id_marker
    )
    assert not rest.is_truncated and len(rest.versions) == 1
    assert {page.versions[0].version_id, rest.versions[0].version_id} == {
        v.version_id for v in (await driver.list_object_versions(bucket, prefix="v")).versions
    }

    await driver.put_tags(bucket, "v", {"keep": "me"})
    info = await driver.replace_metadata(bucket, "v", {"Owner": "bob"})
    assert info.metadata == {"owner": "bob"} and info.content_type == "text/x-v" and info.size == 3
    assert await driver.get_tags(bucket, "v") == {"keep": "me"}
    assert await read_all(await driver.get_object(bucket, "v")) == b"two"
