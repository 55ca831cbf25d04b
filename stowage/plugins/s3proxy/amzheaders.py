"""Which ``x-amz-*`` request headers each S3 operation may carry through the proxy.

A request either reaches the upstream with every ``x-amz-*`` header it carries, signed, or is
refused: nothing a client asks for is dropped silently (an SSE-C key or an Object Lock retention that
vanished would store the object differently from what the client believes). The sets below follow
the request headers the S3 API reference defines for each operation the proxy allows.

* Headers that grant access or redirect readers — ``x-amz-grant-*``, ``x-amz-acl`` other than
  ``private`` (the default, so accepting and dropping it changes nothing), and
  ``x-amz-website-redirect-location`` — and ``x-amz-bypass-governance-retention`` (the upstream
  would honour it with the backend's admin key) are 403 ``AccessDenied``: object ACLs and retention
  overrides are bucket administration, which tenants do not have.
* Any other ``x-amz-*`` header the operation does not define is 400 ``InvalidRequest``.
* :data:`CONSUMED` headers are accepted on every request and end at the proxy (authentication,
  body framing and SDK bookkeeping); :data:`FORWARDABLE` is everything else that may be sent on.
"""

from __future__ import annotations

from collections.abc import Iterable

from .checksums import ALGORITHMS
from .classify import Classified
from .s3errors import AccessDenied, InvalidRequest

__all__ = [
    "CONSUMED",
    "FORWARDABLE",
    "HEADERS_BY_API",
    "META_PREFIX",
    "api_name",
    "check_amz_headers",
]

META_PREFIX = b"x-amz-meta-"
CONSUMED = frozenset(
    {
        b"x-amz-date", b"x-amz-content-sha256", b"x-amz-security-token",
        b"x-amz-decoded-content-length", b"x-amz-trailer", b"x-amz-sdk-checksum-algorithm",
        b"x-amz-user-agent", b"x-amz-acl",
    }
)  # fmt: skip
"""Ends at the proxy. ``x-amz-acl`` is here because only ``private`` passes the check."""

_COMMON = frozenset({b"x-amz-expected-bucket-owner", b"x-amz-request-payer"})
_SSE_C = frozenset(
    {
        b"x-amz-server-side-encryption-customer-algorithm",
        b"x-amz-server-side-encryption-customer-key",
        b"x-amz-server-side-encryption-customer-key-md5",
    }
)
_COPY_SSE_C = frozenset(
    {
        b"x-amz-copy-source-server-side-encryption-customer-algorithm",
        b"x-amz-copy-source-server-side-encryption-customer-key",
        b"x-amz-copy-source-server-side-encryption-customer-key-md5",
    }
)
_SSE = frozenset(
    {
        b"x-amz-server-side-encryption", b"x-amz-server-side-encryption-aws-kms-key-id",
        b"x-amz-server-side-encryption-context", b"x-amz-server-side-encryption-bucket-key-enabled",
    }
)  # fmt: skip
_LOCK = frozenset(
    {b"x-amz-object-lock-mode", b"x-amz-object-lock-retain-until-date", b"x-amz-object-lock-legal-hold"}
)
# The checksum values (every algorithm the proxy verifies), plus the algorithm name: the reference
# defines the name only on some operations, but MinIO's SDKs send it beside the value on uploads
# and S3-compatible servers read it there.
_CHECKSUMS = frozenset(
    {b"x-amz-checksum-" + algorithm.encode() for algorithm in ALGORITHMS} | {b"x-amz-checksum-algorithm"}
)
_COPY_SOURCE = frozenset(
    {
        b"x-amz-copy-source", b"x-amz-copy-source-if-match", b"x-amz-copy-source-if-none-match",
        b"x-amz-copy-source-if-modified-since", b"x-amz-copy-source-if-unmodified-since",
        b"x-amz-source-expected-bucket-owner",
    }
)  # fmt: skip
_NEW_OBJECT = _SSE | _SSE_C | _LOCK | {b"x-amz-storage-class", b"x-amz-tagging"}

HEADERS_BY_API: dict[str, frozenset[bytes]] = {
    name: headers | _COMMON
    for name, headers in {
        "GetBucketLocation": frozenset(),
        "ListMultipartUploads": frozenset(),
        "ListObjects": frozenset({b"x-amz-optional-object-attributes"}),
        "HeadBucket": frozenset(),
        "GetObject": _SSE_C | {b"x-amz-checksum-mode"},
        "HeadObject": _SSE_C | {b"x-amz-checksum-mode"},
        "GetObjectAttributes": _SSE_C
        | {b"x-amz-object-attributes", b"x-amz-max-parts", b"x-amz-part-number-marker"},
        "GetObjectTagging": frozenset(),
        "PutObjectTagging": _CHECKSUMS,
        "DeleteObjectTagging": frozenset(),
        "ListParts": _SSE_C,
        "PutObject": _NEW_OBJECT | _CHECKSUMS | {b"x-amz-write-offset-bytes"},
        "CopyObject": _NEW_OBJECT
        | _COPY_SOURCE
        | _COPY_SSE_C
        | {b"x-amz-metadata-directive", b"x-amz-tagging-directive", b"x-amz-checksum-algorithm"},
        "CreateMultipartUpload": _NEW_OBJECT | {b"x-amz-checksum-algorithm", b"x-amz-checksum-type"},
        "UploadPart": _SSE_C | _CHECKSUMS,
        "UploadPartCopy": _SSE_C | _COPY_SSE_C | _COPY_SOURCE | {b"x-amz-copy-source-range"},
        "CompleteMultipartUpload": _SSE_C | _CHECKSUMS | {b"x-amz-checksum-type", b"x-amz-mp-object-size"},
        "AbortMultipart": frozenset({b"x-amz-if-match-initiated-time"}),
        "DeleteObject": frozenset(
            {b"x-amz-mfa", b"x-amz-if-match-last-modified-time", b"x-amz-if-match-size"}
        ),
        "DeleteObjects": _CHECKSUMS | {b"x-amz-mfa"},
    }.items()
}
"""Per API name (:func:`api_name`), the ``x-amz-*`` headers it may carry besides :data:`CONSUMED`."""
_META_APIS = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload"})
FORWARDABLE = frozenset().union(*HEADERS_BY_API.values()) - CONSUMED
"""Every ``x-amz-*`` header (besides ``x-amz-meta-*``) the outbound request may carry."""

_FORBIDDEN = frozenset(
    {
        b"x-amz-grant-full-control", b"x-amz-grant-read", b"x-amz-grant-read-acp",
        b"x-amz-grant-write", b"x-amz-grant-write-acp", b"x-amz-website-redirect-location",
        b"x-amz-bypass-governance-retention",
    }
)  # fmt: skip
# (operation from the table, sub-resource or copy) -> the API whose headers apply
_SUBRESOURCE_APIS = {
    ("GetObject", "tagging"): "GetObjectTagging",
    ("GetObject", "attributes"): "GetObjectAttributes",
    ("PutObject", "tagging"): "PutObjectTagging",
    ("DeleteObject", "tagging"): "DeleteObjectTagging",
}
_COPY_APIS = {"PutObject": "CopyObject", "UploadPart": "UploadPartCopy"}


def api_name(request: Classified, has_copy_source: bool) -> str:
    """The S3 API a classified request calls (``GET /b/k?tagging`` is GetObjectTagging)."""
    operation = request.operation
    if request.key and request.query:
        for subresource in ("tagging", "attributes"):
            if subresource in request.query:
                return _SUBRESOURCE_APIS.get((operation, subresource), operation)
    if has_copy_source:
        return _COPY_APIS.get(operation, operation)
    return operation


def check_amz_headers(api: str, headers: Iterable[tuple[bytes, bytes]], bucket: str | None = None) -> None:
    """Raise unless every ``x-amz-*`` header (lower-case names) may go to the upstream for ``api``."""
    allowed = HEADERS_BY_API.get(api, _COMMON)
    for name, value in headers:
        if not name.startswith(b"x-amz-") or name in allowed or name in CONSUMED:
            if name == b"x-amz-acl" and value.strip().lower() != b"private":
                raise AccessDenied(
                    "x-amz-acl other than 'private' is not permitted through the proxy "
                    "(object ACLs are bucket configuration)",
                    result="header-not-allowed",
                    bucket=bucket,
                )
            continue
        if name.startswith(META_PREFIX) and api in _META_APIS:
            continue
        text = name.decode("latin-1")
        if name in _FORBIDDEN:
            raise AccessDenied(
                f"header {text} is not permitted through the proxy (access and retention "
                "overrides are bucket configuration)",
                result="header-not-allowed",
                bucket=bucket,
            )
        raise InvalidRequest(f"header {text} is not supported for {api} through this proxy", bucket=bucket)
