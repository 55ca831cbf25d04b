"""Backend create/patch input rules (ids, endpoints, required keys) and the settings-file guard."""

from __future__ import annotations

import pytest

from stowage.core.kernel.errors import BadRequest
from stowage.plugins.backends.endpoint_input import normalize_id, parse_create, parse_patch, validate_endpoint
from tests.plugins.backends.endpoint_support import backend_body, closed_port_url, started


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("minio", "minio"), ("  MinIO-1 ", "minio-1"), ("a", "a"), ("0_x-y", "0_x-y"), ("a" * 64, "a" * 64)],
)
def test_valid_ids_are_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalize_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "-a", "_a", "a" * 65, "a.b", "a b", "ümlaut", "a/b", None, 7])
def test_invalid_ids_are_refused(raw: object) -> None:
    with pytest.raises(BadRequest):
        normalize_id(raw)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000",
        "https://s3.example.com",
        "https://s3.example.com/",
        "http://[::1]:9000",
        "http://host:1",
        "http://host:65535",
    ],
)
def test_valid_endpoints(url: str) -> None:
    assert validate_endpoint(f" {url} ") == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "s3.example.com",
        "ftp://s3.example.com",
        "http://",
        "http://:9000",
        "http://host:0",
        "http://host:65536",
        "http://host:port",
        "http://host:",
        "http://host/bucket",
        "http://host/?x=1",
        "http://host?x=1",
        "http://host#frag",
        "http://user:pw@host",
        "http://user@host",
        None,
    ],
)
def test_invalid_endpoints_are_refused(url: object) -> None:
    with pytest.raises(BadRequest):
        validate_endpoint(url)


def test_create_defaults_and_required_keys() -> None:
    data = parse_create({"id": "X", "endpoint": "http://h:1", "access_key": "ak", "secret_key": "sk"})
    assert (data.id, data.name, data.type, data.path_style, data.enabled, data.region) == (
        "x",
        "x",
        "s3v4",
        True,
        True,
        "",
    )
    assert "sk" not in repr(data)
    for missing in ("access_key", "secret_key", "endpoint", "id"):
        body = {"id": "x", "endpoint": "http://h:1", "access_key": "ak", "secret_key": "sk"}
        body.pop(missing)
        with pytest.raises(BadRequest, match=missing):
            parse_create(body)
    with pytest.raises(BadRequest, match="path_style"):
        parse_create(
            {"id": "x", "endpoint": "http://h:1", "access_key": "a", "secret_key": "s", "path_style": "no"}
        )


def test_patch_keeps_only_known_fields_and_treats_empty_secret_as_unchanged() -> None:
    changes = parse_patch({"name": " N ", "secret_key": "", "enabled": False, "id": "ignored", "other": 1})
    assert changes == {"name": "N", "enabled": False}
    with pytest.raises(BadRequest):
        parse_patch({"access_key": " "})
    with pytest.raises(BadRequest):
        parse_patch({"endpoint": "http://h/path"})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "Bad Id"),
        ("id", "-x"),
        ("endpoint", "http://h/x"),
        ("endpoint", "http://u:p@h"),
        ("access_key", ""),
    ],
)
async def test_api_refuses_invalid_create_bodies(
    stowage_factory, rclone_upstream, field: str, value: str
) -> None:
    async with started(stowage_factory) as h:
        status, body = await h.api.call(
            "POST", "/api/admin/backends", json=backend_body(rclone_upstream, **{field: value})
        )
        assert (status, body["error"]["code"]) == (400, "bad_request")
        status, body = await h.api.call("POST", "/api/admin/backends", data=b"{not json")
        assert (status, body["error"]["code"]) == (400, "bad_request")
        assert await h.runtime.store.backends.list() == []


async def test_yaml_managed_ids_refuse_create_patch_and_delete(stowage_factory, rclone_upstream) -> None:
    yaml = {"backends": [{"id": "fromyaml", "type": "s3v4", "endpoint": closed_port_url()}]}
    async with started(stowage_factory, yaml) as h:
        for method, path, body in (
            ("POST", "/api/admin/backends", backend_body(rclone_upstream, " FromYAML ")),
            ("PATCH", "/api/admin/backends/fromyaml", {"name": "x"}),
            ("DELETE", "/api/admin/backends/fromyaml", None),
        ):
            status, reply = await h.api.call(method, path, json=body)
            assert (status, reply["error"]["code"]) == (409, "yaml_managed"), method
        assert h.registry().get("fromyaml").spec.source == "config"
        assert await h.runtime.store.backends.list() == []
