"""Addressing, the operation table, tenant/anonymous decisions and copy-source parsing."""

from __future__ import annotations

import pytest

from stowage.plugins.s3proxy import classify
from stowage.plugins.s3proxy.classify import (
    check_addressing,
    check_anonymous,
    check_tenant,
    parse_copy_source,
)
from stowage.plugins.s3proxy.s3errors import (
    AccessDenied,
    InvalidBucketName,
    InvalidRequest,
    MissingAuthenticationToken,
)

SUFFIXES = ("s3.example.com", "localhost")


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("proxy:8090", b"/", ("", "", False)),
        ("proxy:8090", b"", ("", "", False)),
        ("proxy", b"/bucket", ("bucket", "", False)),
        ("proxy", b"/bucket/", ("bucket", "", False)),
        ("proxy", b"/bucket/a/b/c.txt", ("bucket", "a/b/c.txt", False)),
        ("proxy", b"/bucket/a%20b/%C3%BC%2Bx", ("bucket", "a b/ü+x", False)),
        ("proxy", b"/bucket/dir//x/", ("bucket", "dir//x/", False)),
        ("BUCKET.S3.Example.COM:443", b"/key/x", ("bucket", "key/x", True)),
        ("my.dotted.bucket.s3.example.com", b"/", ("my.dotted.bucket", "", True)),
        ("bucket.localhost:8090", b"/k%25", ("bucket", "k%", True)),
        ("s3.example.com", b"/bucket/key", ("bucket", "key", False)),  # the suffix itself
        ("xs3.example.com", b"/bucket/key", ("bucket", "key", False)),  # not a dot boundary
        ("[::1]:8090", b"/bucket/key", ("bucket", "key", False)),
    ],
)
def test_resolve_target(host: str, path: bytes, expected: tuple[str, str, bool]) -> None:
    assert classify.resolve_target(host, path, SUFFIXES) == expected


def test_without_suffixes_virtual_hosted_is_read_as_path_style() -> None:
    assert classify.resolve_target("bucket.s3.example.com", b"/key", ()) == ("key", "", False)


def test_invalid_utf8_in_key_round_trips() -> None:
    bucket, key, _ = classify.resolve_target("h", b"/b/%FF%FEraw", ())
    assert key.encode("utf-8", "surrogateescape") == b"\xff\xferaw"


@pytest.mark.parametrize(
    ("method", "path", "query", "content_type", "operation"),
    [
        ("GET", b"/", b"", "", "ListBuckets"),
        ("GET", b"/b", b"location", "", "GetBucketLocation"),
        ("GET", b"/b", b"uploads&prefix=x", "", "ListMultipartUploads"),
        ("GET", b"/b", b"", "", "ListObjects"),
        ("GET", b"/b/", b"list-type=2&prefix=a%2F", "", "ListObjects"),
        ("GET", b"/b/k", b"uploadId=abc", "", "ListParts"),
        ("GET", b"/b/k", b"", "", "GetObject"),
        ("GET", b"/b/k", b"versionId=3&response-content-type=x", "", "GetObject"),
        ("HEAD", b"/b", b"", "", "HeadBucket"),
        ("HEAD", b"/b/k", b"", "", "HeadObject"),
        ("PUT", b"/b", b"", "", "PutBucket"),
        ("PUT", b"/b/k", b"partNumber=1&uploadId=u", "", "UploadPart"),
        ("PUT", b"/b/k", b"uploadId=u", "", "PutObject"),
        ("PUT", b"/b/k", b"", "", "PutObject"),
        ("DELETE", b"/b", b"", "", "DeleteBucket"),
        ("DELETE", b"/b/k", b"uploadId=u", "", "AbortMultipart"),
        ("DELETE", b"/b/k", b"", "", "DeleteObject"),
        ("POST", b"/b/k", b"uploads", "", "CreateMultipartUpload"),
        ("POST", b"/b/k", b"uploads=", "", "CreateMultipartUpload"),
        ("POST", b"/b/k", b"uploadId=u", "", "CompleteMultipartUpload"),
        ("POST", b"/b", b"delete", "", "DeleteObjects"),
        ("POST", b"/b", b"", "multipart/form-data; boundary=xyz", "PostObject"),
        ("POST", b"/b", b"", "", "Unknown"),
        ("POST", b"/b/k", b"restore", "", "Unknown"),
        ("POST", b"/", b"", "", "Unknown"),
        ("PATCH", b"/b/k", b"", "", "Unknown"),
        ("OPTIONS", b"/b/k", b"", "", "Unknown"),
        ("get", b"/b/k", b"", "", "GetObject"),
    ],
)
def test_operation_table(method: str, path: bytes, query: bytes, content_type: str, operation: str) -> None:
    result = classify.classify(method, "proxy", path, query, content_type=content_type)
    assert result.operation == operation
    assert result.audit_action == "s3.proxy." + operation.lower()


def test_every_operation_in_the_spec_is_in_the_table() -> None:
    spec = {
        "ListBuckets", "GetBucketLocation", "ListMultipartUploads", "ListObjects", "ListParts",
        "GetObject", "PutBucket", "UploadPart", "PutObject", "HeadBucket", "HeadObject",
        "DeleteBucket", "AbortMultipart", "DeleteObject", "CreateMultipartUpload",
        "CompleteMultipartUpload", "DeleteObjects", "PostObject",
    }  # fmt: skip
    assert {row[3] for row in classify.OPERATIONS} == spec


def test_classified_fields_and_target() -> None:
    result = classify.classify("GET", "b.s3.example.com", b"/x%2Fy", b"a=1&b", host_suffixes=SUFFIXES)
    assert (result.bucket, result.key, result.virtual_hosted) == ("b", "x/y", True)
    assert result.query == frozenset({"a", "b"})
    assert result.target == "object"
    assert classify.classify("GET", "h", b"/", b"").target == "service"
    assert classify.classify("GET", "h", b"/b", b"").target == "bucket"
    assert classify.query_keys(b"%61cl=&&x") == frozenset({"acl", "x"})


# ---------------------------------------------------------------- tenant decisions


def _tenant(method: str, path: bytes, query: bytes = b"", content_type: str = "") -> None:
    check_tenant(classify.classify(method, "proxy", path, query, content_type=content_type))


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", b"/", b""),
        ("GET", b"/b", b"location"),
        ("GET", b"/b", b"uploads"),
        ("GET", b"/b", b"list-type=2&continuation-token=x&start-after=y&fetch-owner=true"),
        ("GET", b"/b", b"versions&prefix=p"),
        ("HEAD", b"/b", b""),
        ("GET", b"/b/k", b"versionId=v&partNumber=2&x-id=GetObject"),
        ("GET", b"/b/k", b"tagging"),
        ("PUT", b"/b/k", b"tagging"),
        ("DELETE", b"/b/k", b"tagging"),
        ("GET", b"/b/k", b"attributes"),
        ("PUT", b"/b/k", b"partNumber=1&uploadId=u"),
        ("POST", b"/b/k", b"uploads"),
        ("POST", b"/b/k", b"uploadId=u"),
        ("DELETE", b"/b/k", b"uploadId=u"),
        ("POST", b"/b", b"delete"),
        ("GET", b"/b/k", b"uploadId=u&max-parts=10"),
    ],
)
def test_tenant_allowed(method: str, path: bytes, query: bytes) -> None:
    _tenant(method, path, query)


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", b"/b", b"acl"),
        ("PUT", b"/b", b"acl"),
        ("GET", b"/b", b"policy"),
        ("PUT", b"/b", b"policy"),
        ("DELETE", b"/b", b"policy"),
        ("PUT", b"/b", b"cors"),
        ("GET", b"/b", b"cors"),
        ("PUT", b"/b", b"lifecycle"),
        ("PUT", b"/b", b"versioning"),
        ("GET", b"/b", b"versioning"),
        ("PUT", b"/b", b"tagging"),
        ("GET", b"/b", b"tagging"),
        ("PUT", b"/b", b"encryption"),
        ("PUT", b"/b", b"replication"),
        ("PUT", b"/b", b"notification"),
        ("PUT", b"/b", b"website"),
        ("PUT", b"/b", b"logging"),
        ("PUT", b"/b", b"object-lock"),
        ("PUT", b"/b", b"publicAccessBlock"),
        ("PUT", b"/b", b"ownershipControls"),
        ("PUT", b"/b/k", b"acl"),
        ("GET", b"/b/k", b"acl"),
        ("PUT", b"/b/k", b"retention"),
        ("PUT", b"/b/k", b"legal-hold"),
        ("POST", b"/b/k", b"restore"),
        ("POST", b"/b/k", b"select&select-type=2"),
        ("GET", b"/b/k", b"torrent"),
        ("GET", b"/b", b"attributes"),
        ("GET", b"/b", b"%61cl"),  # percent-encoded sub-resource names are decoded first
    ],
)
def test_tenant_subresource_denied(method: str, path: bytes, query: bytes) -> None:
    with pytest.raises(AccessDenied) as info:
        _tenant(method, path, query)
    assert info.value.result == "subresource-not-allowed"
    assert info.value.status == 403
    assert info.value.bucket == "b"


@pytest.mark.parametrize(("method", "path"), [("PUT", b"/b"), ("DELETE", b"/b"), ("PUT", b"/b/")])
def test_tenant_bucket_admin_denied(method: str, path: bytes) -> None:
    with pytest.raises(AccessDenied) as info:
        _tenant(method, path)
    assert info.value.result == "op-not-allowed"


@pytest.mark.parametrize(("method", "path"), [("POST", b"/b"), ("PATCH", b"/b/k"), ("POST", b"/")])
def test_tenant_unknown_is_invalid_request(method: str, path: bytes) -> None:
    with pytest.raises(InvalidRequest) as info:
        _tenant(method, path)
    assert info.value.status == 400


# ---------------------------------------------------------------- anonymous decisions


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [("GET", b"/b/k", b""), ("HEAD", b"/b/k", b""), ("HEAD", b"/b", b""), ("GET", b"/b", b"list-type=2")],
)
def test_anonymous_allowed(method: str, path: bytes, query: bytes) -> None:
    check_anonymous(classify.classify(method, "proxy", path, query))


@pytest.mark.parametrize(
    ("method", "path", "query", "result"),
    [
        ("PUT", b"/b/k", b"", "op-not-allowed"),
        ("DELETE", b"/b/k", b"", "op-not-allowed"),
        ("POST", b"/b", b"delete", "op-not-allowed"),
        ("GET", b"/b/k", b"uploadId=1", "op-not-allowed"),
        ("GET", b"/b", b"location", "op-not-allowed"),
        ("GET", b"/b", b"acl", "subresource-not-allowed"),
        ("GET", b"/b/k", b"versionId=1", "subresource-not-allowed"),
        ("GET", b"/b/k", b"tagging", "subresource-not-allowed"),
        ("GET", b"/b/k", b"torrent", "subresource-not-allowed"),
        ("HEAD", b"/b", b"policy", "subresource-not-allowed"),
    ],
)
def test_anonymous_denied(method: str, path: bytes, query: bytes, result: str) -> None:
    with pytest.raises(AccessDenied) as info:
        check_anonymous(classify.classify(method, "proxy", path, query))
    assert info.value.result == result
    assert info.value.message == "operation not permitted on anonymous bucket"


def test_anonymous_service_level_needs_auth() -> None:
    with pytest.raises(MissingAuthenticationToken):
        check_anonymous(classify.classify("GET", "proxy", b"/", b""))


# ---------------------------------------------------------------- copy source


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("src/key.txt", ("src", "key.txt", None)),
        ("/src/dir/key.txt", ("src", "dir/key.txt", None)),
        ("src/a%20b/%C3%BC%2Bx", ("src", "a b/ü+x", None)),
        ("/src/key?versionId=abc%2F123", ("src", "key", "abc/123")),
        ("src/what%3FversionId=x", ("src", "what?versionId=x", None)),  # encoded '?' belongs to the key
        (b"/Src-Bucket/k", ("Src-Bucket", "k", None)),
        ("src/%FF", ("src", "\udcff", None)),
    ],
)
def test_copy_source(header: str | bytes, expected: tuple[str, str, str | None]) -> None:
    source = parse_copy_source(header)
    assert (source.bucket, source.key, source.version_id) == expected


@pytest.mark.parametrize(
    "header", ["", "/", "bucket", "bucket/", "/key-only", "b/k?other=1", "b/k?versionId="]
)
def test_copy_source_invalid(header: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_copy_source(header)


@pytest.mark.parametrize(
    ("host", "path", "query"),
    [
        ("proxy", b"/theta//", b""),  # DELETE /theta// would delete the bucket upstream
        ("proxy", b"/newbucket//", b""),
        ("proxy", b"/b/%2F", b""),
        ("proxy", b"/b/%2Fetc", b""),
        ("proxy", b"/b/./", b""),
        ("proxy", b"/b/.", b""),
        ("proxy", b"/b/..", b""),
        ("proxy", b"/b/x/../../other/k", b""),
        ("proxy", b"/b/x/%2E%2E/y", b""),
        ("proxy", b"//k", b""),
        ("proxy", b"/b%2Fk", b""),
        ("proxy", b"/.", b""),
        ("proxy", b"/b/k", b"prefix=a&prefix=b"),
        ("proxy", b"/b", b"uploadId=1&uploadId=2"),
        ("b.s3.test", b"//", b""),
        ("b.s3.test", b"/./x", b""),
    ],
)
def test_addressing_the_upstream_could_misread_is_refused(host: str, path: bytes, query: bytes) -> None:
    request = classify.classify("DELETE", host, path, query, host_suffixes=("s3.test",))
    with pytest.raises((InvalidRequest, InvalidBucketName)) as info:
        check_addressing(request, query)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (b"/", b""),
        (b"/b", b""),
        (b"/b/", b""),
        (b"/b/k", b"x=1;acl"),
        (b"/b/a//b", b""),
        (b"/b/dir/", b""),
        (b"/b/..a/b..", b""),
        (b"/b/.hidden/x.", b""),
        (b"/Legacy_Bucket/k", b"list-type=2&&prefix=a&"),
    ],
)
def test_addressing_accepted(path: bytes, query: bytes) -> None:
    check_addressing(classify.classify("GET", "proxy", path, query), query)


def test_semicolon_does_not_hide_a_subresource() -> None:
    """The classifier and the outbound query agree: ';' separates nothing (it is sent as %3B)."""
    request = classify.classify("GET", "proxy", b"/alpha", b"x=1;acl")
    assert request.query == frozenset({"x"})
    assert request.operation == "ListObjects"


def test_anonymous_versions_listing_is_blocked() -> None:
    with pytest.raises(AccessDenied):
        check_anonymous(classify.classify("GET", "proxy", b"/b", b"versions"))
