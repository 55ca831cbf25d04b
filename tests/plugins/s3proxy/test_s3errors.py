"""S3 error classes and the XML renderer."""

from __future__ import annotations

import inspect
import xml.etree.ElementTree as ET

import pytest

from stowage.plugins.s3proxy import s3errors
from stowage.plugins.s3proxy.s3errors import (
    AccessDenied,
    AuthAccessDenied,
    AuthError,
    EntityTooLarge,
    InternalError,
    InvalidAccessKeyId,
    QuotaExceeded,
    S3Error,
    SlowDown,
    render_error,
)

ERROR_CLASSES = [
    cls
    for _, cls in inspect.getmembers(s3errors, inspect.isclass)
    if issubclass(cls, S3Error) and cls.__module__ == s3errors.__name__
]

# (class, status, code, result) per SPEC §4.2 and the module's table
EXPECTED = [
    ("MissingAuthenticationToken", 403, "MissingAuthenticationToken", "missing-auth"),
    ("InvalidAccessKeyId", 403, "InvalidAccessKeyId", "unknown-akid"),
    ("SignatureDoesNotMatch", 403, "SignatureDoesNotMatch", "bad-sig"),
    ("RequestTimeTooSkewed", 403, "RequestTimeTooSkewed", "skew"),
    ("AuthAccessDenied", 403, "AccessDenied", "auth-error"),
    ("AccessDenied", 403, "AccessDenied", "scope-violation"),
    ("InvalidRequest", 400, "InvalidRequest", "bad-request"),
    ("InvalidBucketName", 400, "InvalidBucketName", "bad-request"),
    ("IncompleteBody", 400, "IncompleteBody", "bad-request"),
    ("BadDigest", 400, "BadDigest", "bad-request"),
    ("InvalidDigest", 400, "InvalidDigest", "bad-request"),
    ("XAmzContentSHA256Mismatch", 400, "XAmzContentSHA256Mismatch", "bad-request"),
    ("MalformedPOSTRequest", 400, "MalformedPOSTRequest", "bad-form"),
    ("EntityTooSmall", 400, "EntityTooSmall", "file-too-small"),
    ("EntityTooLarge", 413, "EntityTooLarge", "file-too-large"),
    ("QuotaExceeded", 507, "EntityTooLarge", "quota-exceeded"),
    ("MissingContentLength", 411, "MissingContentLength", "bad-request"),
    ("S3NotImplemented", 501, "NotImplemented", "bad-request"),
    ("NoSuchBucket", 404, "NoSuchBucket", "ok"),
    ("NoSuchKey", 404, "NoSuchKey", "ok"),
    ("NoSuchCORSConfiguration", 404, "NoSuchCORSConfiguration", "ok"),
    ("BucketAlreadyOwnedByYou", 409, "BucketAlreadyOwnedByYou", "ok"),
    ("SlowDown", 503, "SlowDown", "rate-limited"),
    ("InternalError", 502, "InternalError", "upstream-error"),
]


@pytest.mark.parametrize(("name", "status", "code", "result"), EXPECTED)
def test_error_classes(name: str, status: int, code: str, result: str) -> None:
    error = getattr(s3errors, name)()
    assert (error.status, error.code, error.result) == (status, code, result)
    assert error.message == error.default_message
    assert str(error) == error.message


def test_every_class_is_in_the_docstring_tree_and_table() -> None:
    doc = s3errors.__doc__ or ""
    listed = {name for name, *_ in EXPECTED}
    for cls in ERROR_CLASSES:
        assert cls.__name__ in doc, cls
        if cls not in (S3Error, AuthError):
            assert cls.__name__ in listed, cls


def test_auth_errors_omit_resource_and_access_denied_catches_auth_variant() -> None:
    assert issubclass(AuthAccessDenied, AccessDenied)
    assert issubclass(AuthAccessDenied, AuthError)
    for cls in ERROR_CLASSES:
        assert cls.include_resource is not issubclass(cls, AuthError), cls


def test_instance_overrides() -> None:
    error = InternalError("build failed", status=500, result="build-error", bucket="b")
    assert (error.status, error.result, error.bucket) == (500, "build-error", "b")
    assert InternalError().status == 502  # the class default is untouched
    assert AuthAccessDenied("Request has expired", result="expired").result == "expired"
    assert isinstance(QuotaExceeded(), EntityTooLarge)
    assert "status=507" in repr(QuotaExceeded())


def test_render_full_document() -> None:
    rendered = render_error(
        AccessDenied("credential is not scoped to this bucket"),
        request_id="REQ123",
        resource="/bucket/key",
        bucket="bucket",
    )
    assert rendered.status == 403
    assert rendered.body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<Error><Code>AccessDenied</Code><Message>credential is not scoped to this bucket</Message>"
        b"<BucketName>bucket</BucketName><Resource>/bucket/key</Resource><RequestId>REQ123</RequestId></Error>"
    )
    headers = dict(rendered.headers)
    assert headers[b"content-type"] == b"application/xml"
    assert headers[b"content-length"] == str(len(rendered.body)).encode()
    assert headers[b"x-amz-request-id"] == b"REQ123"
    assert b"retry-after" not in headers


def test_render_auth_failure_has_no_resource() -> None:
    rendered = render_error(InvalidAccessKeyId(), request_id="R", resource="/bucket/key")
    root = ET.fromstring(rendered.body)
    assert root.findtext("Code") == "InvalidAccessKeyId"
    assert root.find("Resource") is None
    assert root.find("BucketName") is None
    assert root.findtext("RequestId") == "R"


def test_render_escapes_and_strips_invalid_xml_characters() -> None:
    error = InternalError('backend "x<y>" & \x00\x1f bad\tok', bucket="a&b")
    rendered = render_error(error, request_id="r", resource="/a&b/<k>\x07")
    root = ET.fromstring(rendered.body)  # well-formed despite the control characters
    assert root.findtext("Message") == 'backend "x<y>" & \ufffd\ufffd bad\tok'
    assert root.findtext("BucketName") == "a&b"
    assert root.findtext("Resource") == "/a&b/<k>\ufffd"


def test_render_slowdown_has_retry_after_and_bucket_from_error() -> None:
    rendered = render_error(SlowDown(bucket="bkt"), request_id="r")
    assert rendered.status == 503
    assert (b"retry-after", b"1") in rendered.headers
    assert ET.fromstring(rendered.body).findtext("BucketName") == "bkt"


def test_relayed_error_bodies_take_the_proxy_request_id() -> None:
    upstream = b"<Error><Code>NoSuchKey</Code><RequestId>UP-1</RequestId><HostId>h</HostId></Error>"
    assert s3errors.with_request_id(upstream, "ours") == upstream.replace(b"UP-1", b"ours")
    assert (
        s3errors.with_request_id(b"<Error><Code>X</Code></Error>", "ours") == b"<Error><Code>X</Code></Error>"
    )
