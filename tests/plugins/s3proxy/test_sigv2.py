"""Inbound SigV2 verification, checked against botocore's HmacV1 signers as the independent oracle."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stowage.plugins.s3proxy import sigv2
from stowage.plugins.s3proxy.s3errors import (
    AuthAccessDenied,
    AuthError,
    InvalidRequest,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)
from stowage.plugins.s3proxy.sigv4 import UNSIGNED_PAYLOAD

AKID = "AKIASTOWAGETESTKEY02"
SECRET = "1f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
CREDS = Credentials(AKID, SECRET)
ENDPOINT = "http://proxy.test:8090"

Request = tuple[str, bytes, bytes, list[tuple[bytes, bytes]]]


def header_signed(
    method: str, url: str, headers: dict[str, str] | None = None, *, auth_path: str | None = None
) -> Request:
    """What the proxy receives for a request botocore signed with ``Authorization: AWS``."""
    request = AWSRequest(method=method, url=url, headers=headers or {})
    request.auth_path = auth_path
    HmacV1Auth(CREDS).add_auth(request)
    parts = urlsplit(request.url)
    sent = [(name.lower().encode(), value.encode()) for name, value in request.headers.items()]
    return method, parts.path.encode(), parts.query.encode(), [(b"host", parts.netloc.encode()), *sent]


def presigned(
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    *,
    expires: int = 3600,
    auth_path: str | None = None,
) -> Request:
    """A botocore SigV2 presigned URL fetched by a plain HTTP client (only ``Host`` is sent)."""
    request = AWSRequest(method=method, url=url, headers=headers or {})
    request.auth_path = auth_path
    HmacV1QueryAuth(CREDS, expires=expires).add_auth(request)
    parts = urlsplit(request.url)
    return method, parts.path.encode(), parts.query.encode(), [(b"host", parts.netloc.encode())]


def check(request: Request, *, prefix: bytes = b"", now: float | None = None) -> sigv2.ParsedV2:
    method, path, query, headers = request
    parsed = sigv2.parse_sigv2(method, path, query, headers, bucket_prefix=prefix)
    auth = sigv2.verify_sigv2(parsed, SECRET, now=time.time() if now is None else now)
    assert auth.access_key_id == AKID and auth.mode == parsed.mode
    return parsed


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/b/k.txt", {}),
        ("GET", "/b/a%20b/%C3%BC%2Bx.txt", {}),
        ("GET", "/b", {}),
        ("GET", "/", {}),
        ("GET", "/b/k?acl", {}),
        ("GET", "/b?cors", {}),
        ("GET", "/b?list-type=2&prefix=a%2Fb&max-keys=5", {}),
        ("GET", "/b/k?versionId=3%2Fx&response-content-type=text%2Fplain", {}),
        ("GET", "/b/k?response-content-disposition=attachment%3B%20filename%3D%22x%20y.txt%22", {}),
        ("PUT", "/b/k?partNumber=2&uploadId=abc%2Fdef", {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}),
        ("POST", "/b/k?uploads", {"Content-Type": "application/octet-stream"}),
        ("POST", "/b?delete", {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==", "Content-Type": "text/xml"}),
        (
            "PUT",
            "/b/k",
            {
                "Content-Type": "text/plain",
                "x-amz-meta-Colour": "  blue ",
                "X-Amz-Storage-Class": "STANDARD",
                "x-amz-acl": "private",
            },
        ),
        ("PUT", "/b/copy", {"x-amz-copy-source": "/b/src%20key", "x-amz-metadata-directive": "COPY"}),
    ],
)
def test_header_auth_matches_botocore(method: str, path: str, headers: dict[str, str]) -> None:
    parsed = check(header_signed(method, ENDPOINT + path, headers))
    assert parsed.mode == "signed-v2"
    assert parsed.payload_hash == UNSIGNED_PAYLOAD


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/b/k.txt", {}),
        ("GET", "/b/a%20b/%C3%BC%2Bx.txt", {}),
        ("GET", "/b/k?response-content-type=text%2Fplain&response-expires=0", {}),
        ("PUT", "/b/k", {}),
        ("PUT", "/b/k", {"Content-Type": "text/plain", "x-amz-meta-a": "b"}),
        ("DELETE", "/b/k", {}),
        ("HEAD", "/b/k", {}),
        ("PUT", "/b/k?partNumber=1&uploadId=u1", {}),
    ],
)
def test_query_auth_matches_botocore(method: str, path: str, headers: dict[str, str]) -> None:
    request = presigned(method, ENDPOINT + path, headers)
    parsed = check(request)
    assert parsed.mode == "presigned-v2"
    # the signed header parameters became headers, and no auth parameter goes upstream
    expected = sorted((k.lower().encode(), v.encode()) for k, v in headers.items())
    assert sorted(parsed.added_headers) == expected
    upstream_names = {piece.partition(b"=")[0] for piece in parsed.upstream_query.split(b"&")}
    gone = {b"AWSAccessKeyId", b"Signature", b"Expires", b"content-type", b"x-amz-meta-a"}
    assert not upstream_names & gone
    assert parsed.upstream_query == urlsplit(path).query.encode()


def test_query_auth_header_wins_over_the_query_copy() -> None:
    method, path, query, headers = presigned("PUT", ENDPOINT + "/b/k", {"Content-Type": "text/plain"})
    # the uploader sends the signed Content-Type as a header: verified and not added twice
    parsed = check((method, path, query, [*headers, (b"content-type", b"text/plain")]))
    assert parsed.added_headers == []
    # a different Content-Type than the one signed is refused
    with pytest.raises(SignatureDoesNotMatch):
        check((method, path, query, [*headers, (b"content-type", b"application/x-www-form-urlencoded")]))


def test_virtual_hosted_resource_names_the_bucket() -> None:
    url = "http://photos.s3.test:8090/a%20b.jpg?acl"
    request = header_signed("GET", url, auth_path="/photos/a%20b.jpg")
    check(request, prefix=b"/photos")
    with pytest.raises(SignatureDoesNotMatch):
        check(request)  # without the bucket the resource differs
    query = presigned("GET", "http://photos.s3.test:8090/", auth_path="/photos/")
    check(query, prefix=b"/photos")


def test_botocore_signs_a_path_style_bucket_with_a_trailing_slash() -> None:
    check(header_signed("GET", ENDPOINT + "/bkt?prefix=h%2F&encoding-type=url", auth_path="/bkt/"))
    check(header_signed("GET", ENDPOINT + "/bkt"))


def test_path_normalised_by_the_client_library_still_verifies() -> None:
    method, _, query, headers = header_signed("GET", ENDPOINT + "/b/~x%20y")
    check((method, b"/b/%7Ex%20y", query, headers))  # the HTTP library escaped '~' after signing


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: (r[0], r[1] + b"x", r[2], r[3]),
        lambda r: ("DELETE", r[1], r[2], r[3]),
        lambda r: (r[0], r[1], r[2] + b"&acl", r[3]),
        lambda r: (r[0], r[1], r[2], [*r[3], (b"x-amz-acl", b"public-read")]),
        lambda r: (r[0], r[1], r[2], [*r[3], (b"content-md5", b"1B2M2Y8AsgTpgAmY7PhCfg==")]),
    ],
)
def test_tampering_breaks_the_signature(tamper) -> None:
    for request in (header_signed("GET", ENDPOINT + "/b/k"), presigned("GET", ENDPOINT + "/b/k")):
        with pytest.raises(SignatureDoesNotMatch) as caught:
            check(tamper(request))
        assert caught.value.result == "bad-sig" and caught.value.status == 403


def test_wrong_secret() -> None:
    method, path, query, headers = header_signed("GET", ENDPOINT + "/b/k")
    parsed = sigv2.parse_sigv2(method, path, query, headers)
    with pytest.raises(SignatureDoesNotMatch):
        sigv2.verify_sigv2(parsed, "0" * 40, now=time.time())


def test_presigned_expiry_is_enforced() -> None:
    request = presigned("GET", ENDPOINT + "/b/k", expires=60)
    check(request, now=time.time() + 30)
    with pytest.raises(AuthAccessDenied) as caught:
        check(request, now=time.time() + 120)
    assert (caught.value.code, caught.value.result, caught.value.message) == (
        "AccessDenied",
        "expired",
        "Request has expired",
    )
    with pytest.raises(AuthAccessDenied) as caught:
        check(presigned("GET", ENDPOINT + "/b/k", expires=8 * 24 * 3600))
    assert "7 days" in caught.value.message


def test_header_auth_clock_skew() -> None:
    request = header_signed("GET", ENDPOINT + "/b/k")
    check(request, now=time.time() + 14 * 60)
    with pytest.raises(RequestTimeTooSkewed):
        check(request, now=time.time() + 16 * 60)
    with pytest.raises(RequestTimeTooSkewed):
        check(request, now=time.time() - 16 * 60)


def test_x_amz_date_replaces_date_in_the_string_to_sign() -> None:
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    # s3cmd's form: x-amz-date header, empty Date line (built here by hand from the AWS rule)
    import base64
    import hmac

    string_to_sign = f"GET\n\n\n\nx-amz-date:{stamp}\n/b/k".encode()
    signature = base64.b64encode(hmac.digest(SECRET.encode(), string_to_sign, "sha1"))
    headers = [(b"host", b"proxy.test"), (b"x-amz-date", stamp.encode())]
    headers.append((b"authorization", b"AWS " + AKID.encode() + b":" + signature))
    check(("GET", b"/b/k", b"", headers))
    # a stray Date header does not change it (x-amz-date wins)
    check(("GET", b"/b/k", b"", [*headers, (b"date", b"Mon, 01 Jan 2001 00:00:00 GMT")]))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (("GET", b"/b/k", b"", [(b"authorization", b"AWS nocolon")]), "Authorization must be"),
        (("GET", b"/b/k", b"", [(b"authorization", b"AWS AK:c2ln")]), "Date"),
        (("GET", b"/b/k", b"AWSAccessKeyId=AK&Signature=x", []), "missing Expires"),
        (("GET", b"/b/k", b"AWSAccessKeyId=AK&Expires=1&Signature=%21%21", []), "malformed Signature"),
        (("GET", b"/b/k", b"AWSAccessKeyId=AK&Expires=soon&Signature=x", []), "Expires must be"),
        (("GET", b"/b/k", b"AWSAccessKeyId=AK&AWSAccessKeyId=B&Expires=1&Signature=x", []), "duplicate"),
        (
            ("GET", b"/b/k", b"AWSAccessKeyId=AK&Expires=1&Signature=x&X-Amz-Signature=y", []),
            "only one authentication",
        ),
        (
            ("GET", b"/b/k", b"Signature=x", [(b"authorization", b"AWS AK:c2ln")]),
            "only one authentication",
        ),
    ],
)
def test_malformed_sigv2_is_refused(request_: Request, message: str) -> None:
    method, path, query, headers = request_
    with pytest.raises(AuthError) as caught:
        sigv2.parse_sigv2(method, path, query, headers)
    assert caught.value.status == 403 and message in caught.value.message, caught.value.message


def test_streaming_payload_needs_sigv4_and_a_stated_sha256_is_kept() -> None:
    headers = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}
    with pytest.raises(InvalidRequest):
        check(header_signed("PUT", ENDPOINT + "/b/k", headers))
    digest = "a" * 64
    parsed = check(header_signed("PUT", ENDPOINT + "/b/k", {"x-amz-content-sha256": digest}))
    assert parsed.payload_hash == digest  # the forwarder checks the body against it


def test_detection_is_a_prefix_test() -> None:
    assert sigv2.is_sigv2(b"AWS AK:sig", b"")
    assert not sigv2.is_sigv2(b"AWS4-HMAC-SHA256 Credential=x", b"")
    assert sigv2.is_sigv2(None, b"AWSAccessKeyId=AK&Signature=x&Expires=1")
    assert not sigv2.is_sigv2(None, b"X-Amz-Signature=x&X-Amz-Credential=y")
    assert not sigv2.is_sigv2(None, b"")


def test_post_policy_v2_matches_botocore() -> None:
    policy = "eyJleHBpcmF0aW9uIjogIjIwOTktMDEtMDFUMDA6MDA6MDBaIiwgImNvbmRpdGlvbnMiOiBbXX0="
    signature = HmacV1Auth(CREDS).sign_string(policy)
    sigv2.verify_post_policy_v2(SECRET, policy, signature)
    with pytest.raises(SignatureDoesNotMatch):
        sigv2.verify_post_policy_v2(SECRET, policy + "x", signature)
    with pytest.raises(AuthAccessDenied):
        sigv2.verify_post_policy_v2(SECRET, policy, "not base64!")
