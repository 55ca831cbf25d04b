"""Bucket versioning, policy and lifecycle routes over real HTTP: SeaweedFS supports all three,
``rclone serve s3`` none (and would misread the requests, so they must never reach it)."""

from __future__ import annotations

import json

import pytest

from tests.plugins.backends.upstream_pair import settings_path, upstream_pair

POLICY = (
    '{"Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", "Principal": "*",'
    ' "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/*"}]}'
)


@pytest.fixture
async def pair(stowage_factory, seaweed_upstream, rclone_upstream, monkeypatch):
    async with upstream_pair(stowage_factory, seaweed_upstream, rclone_upstream, monkeypatch) as p:
        yield p


async def test_versioning_get_put_round_trip_is_audited(pair) -> None:
    api, bucket = pair.api, pair.bucket("sw")
    path = settings_path("sw", bucket, "versioning")
    assert await api.call("GET", path) == (200, {"enabled": False})
    assert await api.call("PUT", path, json={"enabled": True}) == (200, {"enabled": True})
    assert await api.call("GET", path) == (200, {"enabled": True})
    assert pair.seaweed.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert await api.call("PUT", path, json={"enabled": False}) == (200, {"enabled": False})
    assert pair.seaweed.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    assert await api.call("GET", path) == (200, {"enabled": False})
    events = await api.audit("bucket.versioning.set")
    assert [(e.user_id, e.backend, e.bucket, e.outcome, e.detail) for e in events] == [
        ("user-admin", "sw", bucket, "ok", {"enabled": True}),
        ("user-admin", "sw", bucket, "ok", {"enabled": False}),
    ]
    for body in ({}, {"enabled": "yes"}, {"enabled": 1}, {"enabled": None}):
        status, error = await api.call("PUT", path, json=body)
        assert (status, error["error"]["code"]) == (400, "bad_request"), body
    status, error = await api.call("PUT", path, data=b'{"enabled": true, "pad": "' + b"x" * 1100 + b'"}')
    assert (status, error["error"]["code"]) == (413, "too_large")
    assert len(await api.audit("bucket.versioning.set")) == 2


async def test_policy_is_stored_and_answered_verbatim_and_audited(pair) -> None:
    api, bucket = pair.api, pair.bucket("sw")
    path = settings_path("sw", bucket, "policy")
    assert await api.call("GET", path) == (200, {"policy": ""})  # none set: the empty state
    policy = POLICY % bucket
    assert await api.call("PUT", path, json={"policy": policy}) == (204, b"")
    status, body = await api.call("GET", path)
    # Verbatim both ways: the text the upstream keeps (it may reformat) is the text answered.
    assert status == 200 and body["policy"] == pair.seaweed.get_bucket_policy(Bucket=bucket)["Policy"]
    assert json.loads(body["policy"]) == json.loads(policy)
    assert await api.call("DELETE", path) == (204, b"")
    assert await api.call("GET", path) == (200, {"policy": ""})
    assert await api.call("DELETE", path) == (204, b"")  # deleting no policy is not an error
    actions = [(e.action, e.bucket, e.outcome) for e in await api.audit() if e.action.startswith("bucket.")]
    assert actions == [
        ("bucket.policy.set", bucket, "ok"),
        ("bucket.policy.delete", bucket, "ok"),
        ("bucket.policy.delete", bucket, "ok"),
    ]


async def test_policy_bad_input(pair) -> None:
    api, bucket = pair.api, pair.bucket("sw")
    path = settings_path("sw", bucket, "policy")
    cases = [
        ({}, "bad_request"),
        ({"policy": ""}, "bad_request"),
        ({"policy": "  \n"}, "bad_request"),
        ({"policy": {"Version": "2012-10-17"}}, "bad_request"),  # the document, not its text
        ({"policy": "{not json"}, "invalid_policy"),
        ({"policy": '["a list"]'}, "invalid_policy"),
        ({"policy": "42"}, "invalid_policy"),
    ]
    for body, code in cases:
        status, error = await api.call("PUT", path, json=body)
        assert (status, error["error"]["code"]) == (400, code), body
    status, error = await api.call("PUT", path, data=b"{nope")
    assert (status, error["error"]["code"]) == (400, "bad_request")
    huge = json.dumps({"policy": json.dumps({"Version": "2012-10-17", "pad": "x" * (256 * 1024)})})
    status, error = await api.call("PUT", path, data=huge.encode())
    assert (status, error["error"]["code"]) == (413, "too_large")
    assert await api.audit("bucket.policy.set") == []  # refused input is not an attempted change
    # JSON the upstream itself refuses as a policy: the caller's mistake, not a backend failure.
    status, error = await api.call("PUT", path, json={"policy": '{"Version": "2012-10-17", "Statement": []}'})
    assert (status, error["error"]["code"]) == (400, "invalid_policy") and error["error"]["detail"]
    (event,) = await api.audit("bucket.policy.set")
    assert event.outcome == "error" and event.detail == {"error": "invalid_policy"}
    assert await api.call("GET", path) == (200, {"policy": ""})


RULES = [
    {"id": "logs", "prefix": "logs/", "enabled": True, "expiration_days": 30},
    {"id": "old-versions", "enabled": False, "noncurrent_expire_days": 7},
    {"prefix": "uploads/", "enabled": True, "abort_incomplete_days": 2},
]


async def test_lifecycle_round_trip_in_the_api_shape(pair) -> None:
    api, bucket = pair.api, pair.bucket("sw")
    path = settings_path("sw", bucket, "lifecycle")
    assert await api.call("GET", path) == (200, {"rules": []})
    assert await api.call("PUT", path, json={"rules": RULES}) == (204, b"")
    status, body = await api.call("GET", path)
    assert status == 200
    stored = {rule.get("id", ""): rule for rule in body["rules"]}
    assert stored["logs"] == RULES[0]
    assert stored["old-versions"] == RULES[1]
    (unnamed,) = [rule for rule in body["rules"] if rule.get("prefix") == "uploads/"]
    assert {k: v for k, v in unnamed.items() if k != "id"} == RULES[2]  # the upstream may name it
    upstream = pair.seaweed.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert {r["ID"]: r["Status"] for r in upstream if r.get("ID") in ("logs", "old-versions")} == {
        "logs": "Enabled",
        "old-versions": "Disabled",
    }
    # An empty list removes the configuration.
    assert await api.call("PUT", path, json={"rules": []}) == (204, b"")
    assert await api.call("GET", path) == (200, {"rules": []})
    events = await api.audit("bucket.lifecycle.set")
    assert [(e.bucket, e.outcome, e.detail) for e in events] == [
        (bucket, "ok", {"rules": 3}),
        (bucket, "ok", {"rules": 0}),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"rules": "none"},
        {"rules": [["not", "an", "object"]]},
        {"rules": [{"id": "no-action", "prefix": "a/"}]},
        {"rules": [{"transition_days": 30}]},
        {"rules": [{"expiration_days": 1, "transition_storage_class": "GLACIER"}]},
        {"rules": [{"transition_days": 30, "transition_storage_class": "glacier; drop"}]},
        {"rules": [{"expiration_days": 0}]},
        {"rules": [{"expiration_days": -3}]},
        {"rules": [{"expiration_days": "30"}]},
        {"rules": [{"expiration_days": True}]},
        {"rules": [{"expiration_days": 1.5}]},
        {"rules": [{"expiration_days": 2**40}]},
        {"rules": [{"expiration_days": 1, "enabled": "yes"}]},
        {"rules": [{"expiration_days": 1, "prefix": "a\r\nb"}]},
        {"rules": [{"expiration_days": 1, "id": 5}]},
        {"rules": [{"expiration_days": 1, "id": "x" * 256}]},
        {"rules": [{"expiration_days": 1, "id": "same"}, {"expiration_days": 2, "id": "same"}]},
        {"rules": [{"expiration_days": 1}] * 1001},
    ],
)
async def test_lifecycle_refuses_bad_rules(pair, body) -> None:
    api, bucket = pair.api, pair.bucket("sw")
    status, error = await api.call("PUT", settings_path("sw", bucket, "lifecycle"), json=body)
    assert (status, error["error"]["code"]) == (400, "invalid_lifecycle"), error
    assert await api.audit("bucket.lifecycle.set") == []


async def test_lifecycle_rule_the_upstream_cannot_apply_is_not_supported(pair) -> None:
    api, bucket = pair.api, pair.bucket("sw")
    rules = [{"id": "cold", "transition_days": 30, "transition_storage_class": "GLACIER"}]
    status, error = await api.call("PUT", settings_path("sw", bucket, "lifecycle"), json={"rules": rules})
    if status == 204:
        pytest.skip("this SeaweedFS applies transitions")
    assert (status, error["error"]["code"]) == (501, "not_supported")
    (event,) = await api.audit("bucket.lifecycle.set")
    assert event.outcome == "error" and event.detail == {"rules": 1, "error": "not_supported"}


ROUTES = [
    ("GET", "versioning", None),
    ("PUT", "versioning", {"enabled": True}),
    ("GET", "policy", None),
    ("PUT", "policy", {"policy": '{"Version": "2012-10-17", "Statement": []}'}),
    ("DELETE", "policy", None),
    ("GET", "lifecycle", None),
    ("PUT", "lifecycle", {"rules": [{"expiration_days": 1}]}),
]


async def test_settings_are_for_admins_only(pair) -> None:
    api, bucket = pair.api, pair.bucket("sw")
    for role in ("user", "readonly"):
        for method, rest, body in ROUTES:
            status, error = await api.call(method, settings_path("sw", bucket, rest), role, json=body)
            assert (status, error["error"]["code"]) == (403, "forbidden"), (role, method, rest)
    assert (await api.call("GET", settings_path("sw", bucket, "policy"), ""))[0] == 401
    assert [e for e in await api.audit() if e.action.startswith("bucket.")] == []
    assert pair.seaweed.get_bucket_versioning(Bucket=bucket).get("Status") is None


async def test_rclone_answers_not_supported_and_its_buckets_are_untouched(pair) -> None:
    api, empty, full = pair.api, pair.bucket("rc"), pair.bucket("rc")
    pair.rclone.put_object(Bucket=full, Key="keep.txt", Body=b"original bytes")
    for bucket in (empty, full):
        for method, rest, body in ROUTES:
            status, error = await api.call(method, settings_path("rc", bucket, rest), json=body)
            assert (status, error["error"]["code"]) == (501, "not_supported"), (bucket, method, rest)
    # rclone would have read DELETE ?policy as DeleteBucket and PUT ?policy as CreateBucket.
    names = {b["Name"] for b in pair.rclone.list_buckets()["Buckets"]}
    assert {empty, full} <= names
    assert pair.rclone.get_object(Bucket=full, Key="keep.txt")["Body"].read() == b"original bytes"
    assert [e for e in await api.audit() if e.action.startswith("bucket.")] == []


async def test_unknown_bucket_backend_and_bad_names(pair) -> None:
    api = pair.api
    for method, rest, body in ROUTES:
        status, error = await api.call(method, settings_path("sw", "no-such-bucket-here", rest), json=body)
        assert (status, error["error"]["code"]) == (404, "not_found"), (method, rest)
        status, error = await api.call(method, settings_path("nope", "bucket", rest), json=body)
        assert (status, error["error"]["message"]) == (404, "backend not found")
        status, error = await api.call(method, settings_path("sw", "-bad", rest), json=body)
        assert status == 400, (method, rest, error)
    # The bucket that was not found was not created by any of it.
    assert "no-such-bucket-here" not in {b["Name"] for b in pair.seaweed.list_buckets()["Buckets"]}
