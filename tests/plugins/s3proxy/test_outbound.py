"""Outbound request building and re-signing: checked with the inbound verifier and with botocore."""

from __future__ import annotations

import datetime
import time
from urllib.parse import urlsplit

import pytest
from botocore import auth as botocore_auth
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stowage.plugins.s3proxy import outbound, sigv4
from stowage.plugins.s3proxy.outbound import UpstreamSigner, filter_response_headers

BACKEND_AK = "UPSTREAMADMINKEY0001"
BACKEND_SK = "upstream/secret+key=="
NOW = 1_718_000_000.0  # 2024-06-10T06:13:20Z


def signer(endpoint: str = "http://upstream.test:9000/base/", region: str = "eu-west-3") -> UpstreamSigner:
    return UpstreamSigner(endpoint, region, BACKEND_AK, BACKEND_SK)


def as_inbound(request: outbound.OutboundRequest) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
    parts = urlsplit(request.url)
    headers = [(name.encode(), value.encode("utf-8")) for name, value in request.headers]
    return parts.path.encode(), parts.query.encode(), headers


def verify_with_inbound_verifier(method: str, request: outbound.OutboundRequest) -> sigv4.VerifiedAuth:
    path, query, headers = as_inbound(request)
    return sigv4.authenticate(method, path, query, headers, {BACKEND_AK: BACKEND_SK}.get, now=NOW)


class _UnsignedPayload(S3SigV4Auth):
    def payload(self, request: AWSRequest) -> str:
        return "UNSIGNED-PAYLOAD"


def botocore_authorization(
    method: str, request: outbound.OutboundRequest, region: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """botocore's Authorization for the same URL, time and signed headers."""
    headers = dict(request.headers)
    signed = headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    botocore_headers = {name: headers[name] for name in signed if name not in ("host", "x-amz-date")}
    moment = datetime.datetime.fromtimestamp(NOW, datetime.UTC).replace(tzinfo=None)
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: moment)
    aws_request = AWSRequest(method=method, url=request.url, headers=botocore_headers)
    _UnsignedPayload(Credentials(BACKEND_AK, BACKEND_SK), "s3", region).add_auth(aws_request)
    return str(aws_request.headers["Authorization"])


TENANT_HEADERS = [
    (b"host", b"proxy.example:8090"),
    (b"authorization", b"AWS4-HMAC-SHA256 Credential=TENANT/..."),
    (b"x-amz-date", b"20240610T061320Z"),
    (b"x-amz-content-sha256", b"STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
    (b"x-amz-decoded-content-length", b"5"),
    (b"x-amz-trailer", b"x-amz-checksum-crc32"),
    (b"x-amz-sdk-checksum-algorithm", b"CRC32"),
    (b"x-amz-security-token", b"tok"),
    (b"x-amz-expected-bucket-owner", b"123"),
    (b"x-amz-object-lock-mode", b"COMPLIANCE"),
    (b"Content-Type", b"text/plain"),
    (b"content-md5", b"XUFAKrxLKna5cZ2REBfFkg=="),
    (b"content-length", b"999"),
    (b"content-encoding", b"aws-chunked, gzip"),
    (b"transfer-encoding", b"chunked"),
    (b"connection", b"keep-alive"),
    (b"expect", b"100-continue"),
    (b"te", b"trailers"),
    (b"cache-control", b"no-cache"),
    (b"x-amz-meta-Note", b"  h\xc3\xa9llo   w\xc3\xb6rld "),
    (b"x-amz-meta-raw", b"\xff\xfe"),
    (b"x-amz-acl", b"private"),
    (b"x-amz-tagging", b"a=b"),
    (b"x-amz-storage-class", b"STANDARD"),
    (b"x-amz-grant-read", b'id="x"'),
    (b"x-amz-checksum-crc32", b"NhCmhg=="),
    (b"x-amz-copy-source", b"/src/k"),
    (b"x-amz-copy-source-if-match", b'"etag"'),
    (b"x-amz-copy-source-range", b"bytes=0-1"),
]


def test_url_and_headers_for_a_decoded_streaming_put() -> None:
    request = signer().build(
        "PUT", "bucket", "dir/a b/ü+x", b"", TENANT_HEADERS, content_length=5, decoded_body=True, now=NOW
    )
    assert request.url == "http://upstream.test:9000/base/bucket/dir/a%20b/%C3%BC%2Bx"
    headers = dict(request.headers)
    names = [name for name, _ in request.headers]
    assert len(names) == len(set(names))
    assert headers["host"] == "upstream.test:9000"
    assert headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert headers["x-amz-date"] == "20240610T061320Z"
    assert headers["content-length"] == "5"
    assert headers["content-encoding"] == "gzip"
    assert headers["x-amz-meta-note"] == "héllo wörld"
    assert headers["x-amz-meta-raw"] == "\xff\xfe"
    dropped = {
        "x-amz-decoded-content-length", "x-amz-trailer", "x-amz-sdk-checksum-algorithm",
        "x-amz-security-token", "x-amz-acl", "x-amz-grant-read",
        "transfer-encoding", "connection", "expect", "te",
    }  # fmt: skip
    assert not dropped & set(headers)
    passed = {
        "content-type", "content-md5", "cache-control", "x-amz-tagging", "x-amz-object-lock-mode",
        "x-amz-storage-class", "x-amz-expected-bucket-owner", "x-amz-checksum-crc32", "x-amz-copy-source",
        "x-amz-copy-source-if-match", "x-amz-copy-source-range",
    }  # fmt: skip
    assert passed <= set(headers)
    signed = headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert signed == sorted(signed)
    assert {n for n in headers if n.startswith("x-amz-")} | {"host", "content-md5"} == set(signed)
    assert headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={BACKEND_AK}/20240610/eu-west-3/s3/"
    )


def test_signature_verifies_with_inbound_verifier() -> None:
    request = signer().build(
        "PUT", "bucket", "dir/a b/ü+x", b"", TENANT_HEADERS, content_length=5, decoded_body=True, now=NOW
    )
    result = verify_with_inbound_verifier("PUT", request)
    assert result.access_key_id == BACKEND_AK
    assert result.payload_hash == "UNSIGNED-PAYLOAD"


KEYS = ["k", "a b/c+d", "ü/ñ/😀", "semi;colon,comma", "dots/../x/./y", "trailing/", "a//b", "~-_.", "%41"]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(
    "query",
    [b"", b"uploadId=abc&partNumber=3", b"list-type=2&prefix=a%2Fb&delimiter=%2F", b"acl=", b"a=2&a=1"],
)
def test_signature_matches_botocore(key: str, query: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = [(b"x-amz-meta-a", b"1"), (b"content-type", b"image/png"), (b"range", b"bytes=1-2")]
    request = signer(region="us-west-2").build("GET", "bucket", key, query, headers, now=NOW)
    assert dict(request.headers)["authorization"] == botocore_authorization(
        "GET", request, "us-west-2", monkeypatch
    )
    verify_with_inbound_verifier("GET", request)


def test_presign_params_are_removed_and_the_rest_sent_canonical() -> None:
    query = (
        b"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=T%2F20240610%2Fus-east-1%2Fs3%2Faws4_request"
        b"&response-content-type=text%2fplain&X-Amz-Date=20240610T061320Z&X-Amz-Expires=60"
        b"&X-Amz-SignedHeaders=host&x-amz-security-token=t&X-Amz-Signature=abc&versionId=v%2B1"
    )
    request = signer().build("GET", "b", "k", query, [], now=NOW)
    assert request.url.endswith("/base/b/k?response-content-type=text%2Fplain&versionId=v%2B1")
    verify_with_inbound_verifier("GET", request)
    assert outbound.strip_presign_params(b"prefix=x-amz-date") == b"prefix=x-amz-date"
    assert outbound.strip_presign_params(b"") == b""


def test_endpoint_forms_and_bucket_level_requests() -> None:
    plain = UpstreamSigner("https://s3.example.com", "", BACKEND_AK, BACKEND_SK)
    request = plain.build("GET", "bucket", "", b"list-type=2", [], now=NOW)
    assert request.url == "https://s3.example.com/bucket?list-type=2"
    assert plain.host == "s3.example.com"
    assert "/us-east-1/s3/aws4_request" in dict(request.headers)["authorization"]
    verify_with_inbound_verifier("GET", request)
    for bad in ("s3.example.com", "ftp://host", "http://"):
        with pytest.raises(ValueError, match="endpoint"):
            UpstreamSigner(bad, "r", "a", "s")


def test_encode_object_path() -> None:
    assert outbound.encode_object_path("b", "") == "/b"
    assert outbound.encode_object_path("b", "a/b c/") == "/b/a/b%20c/"
    assert outbound.encode_object_path("b", "\udcff") == "/b/%FF"  # undecodable bytes survive
    assert outbound.encode_object_path("b", "~!*'()") == "/b/~%21%2A%27%28%29"


def test_signing_key_cached_per_day() -> None:
    upstream = signer()
    upstream.build("GET", "b", "k", b"", [], now=NOW)
    first = upstream._key
    upstream.build("GET", "b", "k", b"", [], now=NOW + 3600)
    assert upstream._key is first
    upstream.build("GET", "b", "k", b"", [], now=NOW + 86400)
    assert upstream._key is not first
    assert upstream._key == sigv4.derive_signing_key(BACKEND_SK, "20240611", "eu-west-3", "s3")


def test_default_clock() -> None:
    request = signer().build("GET", "b", "k", b"", [])
    amz_date = dict(request.headers)["x-amz-date"]
    assert abs(time.mktime(time.strptime(amz_date, "%Y%m%dT%H%M%SZ")) - time.mktime(time.gmtime())) < 60


def test_content_encoding_kept_when_not_decoded_and_dropped_when_only_aws_chunked() -> None:
    upstream = signer()
    kept = upstream.build("PUT", "b", "k", b"", [(b"content-encoding", b"aws-chunked")], now=NOW)
    assert dict(kept.headers)["content-encoding"] == "aws-chunked"
    gone = upstream.build(
        "PUT", "b", "k", b"", [(b"content-encoding", b"aws-chunked")], decoded_body=True, now=NOW
    )
    assert "content-encoding" not in dict(gone.headers)


def test_build_is_fast() -> None:
    upstream = signer()
    headers = TENANT_HEADERS[:6]
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        upstream.build("GET", "bucket", "some/object.bin", b"", headers, now=NOW)
    assert (time.perf_counter() - start) / rounds < 400e-6


# ---------------------------------------------------------------- response headers


UPSTREAM_RESPONSE = [
    (b"Server", b"rclone"),
    (b"Date", b"Mon, 10 Jun 2024 06:13:20 GMT"),
    (b"Connection", b"keep-alive, X-Custom-Hop"),
    (b"Keep-Alive", b"timeout=5"),
    (b"X-Custom-Hop", b"1"),
    (b"Transfer-Encoding", b"chunked"),
    (b"x-amz-request-id", b"UPSTREAM"),
    (b"x-amz-id-2", b"host-id"),
    (b"ETag", b'"abc"'),
    (b"Content-Length", b"10"),
    (b"Content-Range", b"bytes 0-9/100"),
    (b"x-amz-checksum-crc32", b"AAAAAA=="),
    (b"x-amz-checksum-type", b"FULL_OBJECT"),
    (b"x-amz-meta-a", b"1"),
]


def test_response_filter_full_object() -> None:
    names = {name for name, _ in filter_response_headers(UPSTREAM_RESPONSE, 200)}
    assert names == {
        b"etag", b"content-length", b"content-range", b"x-amz-checksum-crc32",
        b"x-amz-checksum-type", b"x-amz-meta-a",
    }  # fmt: skip


def test_response_filter_partial_content_drops_whole_object_checksums() -> None:
    names = {name for name, _ in filter_response_headers(UPSTREAM_RESPONSE, 206)}
    assert b"x-amz-checksum-crc32" not in names
    assert b"x-amz-checksum-type" not in names
    assert b"content-range" in names
    assert b"etag" in names


def test_semicolons_and_unparsed_pieces_cannot_add_a_subresource_upstream() -> None:
    """SeaweedFS splits queries on ';' too: the proxy sends the query it parsed, canonically."""
    request = signer().build("GET", "b", "", b"x=1;acl&prefix=a;b", [], now=NOW)
    assert request.url.endswith("/base/b?prefix=a%3Bb&x=1%3Bacl")
    verify_with_inbound_verifier("GET", request)


def test_response_allow_list_drops_what_s3_never_sends() -> None:
    upstream = [
        (b"Set-Cookie", b"session=1"),
        (b"Content-Security-Policy", b"default-src *"),
        (b"Location", b"http://evil.test/"),
        (b"Refresh", b"0; url=http://evil.test/"),
        (b"X-Frame-Options", b"ALLOW"),
        (b"ETag", b'"e"'),
        (b"Last-Modified", b"Mon, 10 Jun 2024 06:13:20 GMT"),
        (b"x-amz-server-side-encryption-customer-algorithm", b"AES256"),
        (b"x-amz-object-lock-mode", b"GOVERNANCE"),
        (b"x-amz-version-id", b"v1"),
    ]
    names = {name for name, _ in filter_response_headers(upstream, 200)}
    assert names == {
        b"etag", b"last-modified", b"x-amz-server-side-encryption-customer-algorithm",
        b"x-amz-object-lock-mode", b"x-amz-version-id",
    }  # fmt: skip
    redirected = {name for name, _ in filter_response_headers(upstream, 303)}
    assert b"location" in redirected and b"set-cookie" not in redirected
