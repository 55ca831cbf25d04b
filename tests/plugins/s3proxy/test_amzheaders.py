"""The per-operation x-amz-* request header rules (unit level; the wire is in test_e2e_headers)."""

from __future__ import annotations

import pytest

from stowage.plugins.s3proxy.amzheaders import (
    CONSUMED,
    FORWARDABLE,
    HEADERS_BY_API,
    api_name,
    check_amz_headers,
)
from stowage.plugins.s3proxy.classify import OPERATIONS, classify
from stowage.plugins.s3proxy.s3errors import AccessDenied, InvalidRequest


@pytest.mark.parametrize(
    ("method", "path", "query", "copy", "api"),
    [
        ("GET", b"/b/k", b"", False, "GetObject"),
        ("GET", b"/b/k", b"tagging", False, "GetObjectTagging"),
        ("GET", b"/b/k", b"attributes", False, "GetObjectAttributes"),
        ("PUT", b"/b/k", b"tagging", False, "PutObjectTagging"),
        ("DELETE", b"/b/k", b"tagging", False, "DeleteObjectTagging"),
        ("PUT", b"/b/k", b"", True, "CopyObject"),
        ("PUT", b"/b/k", b"partNumber=1&uploadId=u", True, "UploadPartCopy"),
        ("PUT", b"/b/k", b"partNumber=1&uploadId=u", False, "UploadPart"),
        ("GET", b"/b", b"versions", False, "ListObjects"),
    ],
)
def test_api_names(method: str, path: bytes, query: bytes, copy: bool, api: str) -> None:
    assert api_name(classify(method, "proxy", path, query), copy) == api


def test_every_forwarded_operation_has_a_header_rule() -> None:
    local = {"ListBuckets", "PutBucket", "DeleteBucket", "PostObject"}  # answered or refused locally
    assert {operation for *_, operation in OPERATIONS} - local <= set(HEADERS_BY_API)
    assert not FORWARDABLE & CONSUMED


@pytest.mark.parametrize(
    ("api", "name", "value"),
    [
        ("PutObject", b"x-amz-server-side-encryption-customer-key", b"k"),
        ("PutObject", b"x-amz-object-lock-retain-until-date", b"2030-01-01T00:00:00Z"),
        ("PutObject", b"x-amz-meta-colour", b"blue"),
        ("PutObject", b"x-amz-acl", b"private"),
        ("PutObject", b"x-amz-acl", b" PRIVATE "),
        ("CopyObject", b"x-amz-copy-source-server-side-encryption-customer-key", b"k"),
        ("CopyObject", b"x-amz-tagging-directive", b"COPY"),
        ("GetObjectAttributes", b"x-amz-object-attributes", b"ETag"),
        ("GetObject", b"x-amz-checksum-mode", b"ENABLED"),
        ("DeleteObjects", b"x-amz-checksum-crc32", b"AAAAAA=="),
        ("ListObjects", b"x-amz-expected-bucket-owner", b"1"),
        ("GetObject", b"x-amz-content-sha256", b"UNSIGNED-PAYLOAD"),
    ],
)
def test_defined_headers_pass(api: str, name: bytes, value: bytes) -> None:
    check_amz_headers(api, [(b"content-type", b"text/plain"), (name, value)])


@pytest.mark.parametrize(
    ("api", "name", "value"),
    [
        ("PutObject", b"x-amz-acl", b"public-read"),
        ("CreateMultipartUpload", b"x-amz-acl", b"public-read-write"),
        ("CopyObject", b"x-amz-grant-read", b'uri="http://acs.amazonaws.com/groups/global/AllUsers"'),
        ("PutObject", b"x-amz-grant-full-control", b'id="x"'),
        ("PutObject", b"x-amz-website-redirect-location", b"http://evil.test/"),
        ("CreateMultipartUpload", b"x-amz-website-redirect-location", b"/x"),
        ("DeleteObject", b"x-amz-bypass-governance-retention", b"true"),
        ("DeleteObjects", b"x-amz-bypass-governance-retention", b"true"),
    ],
)
def test_access_headers_are_forbidden(api: str, name: bytes, value: bytes) -> None:
    with pytest.raises(AccessDenied):
        check_amz_headers(api, [(name, value)])


@pytest.mark.parametrize(
    ("api", "name"),
    [
        ("PutObject", b"x-amz-copy-source-range"),
        ("GetObject", b"x-amz-meta-a"),
        ("GetObject", b"x-amz-object-attributes"),
        ("UploadPart", b"x-amz-object-lock-mode"),
        ("HeadObject", b"x-amz-something-new"),
        ("ListObjects", b"x-amz-checksum-crc32"),
    ],
)
def test_undefined_headers_are_refused(api: str, name: bytes) -> None:
    with pytest.raises(InvalidRequest, match=name.decode()):
        check_amz_headers(api, [(name, b"1")])
