"""S3 error classes for the proxy listener and the one function that renders them as XML.

One small class per S3 error code. Each carries the HTTP status, the S3 code, a default message and
the ``result`` label used by ``stowage_s3_request_total`` / ``stowage_s3_auth_failure_total``
Handlers raise these; only :func:`render_error` builds error bodies.

Hierarchy::

    S3Error                                   status  code                        result
     ├── AuthError  (no <Resource> in the body; what SigV4 verification raises)
     │    ├── MissingAuthenticationToken       403  MissingAuthenticationToken  missing-auth
     │    ├── InvalidAccessKeyId               403  InvalidAccessKeyId          unknown-akid
     │    ├── SignatureDoesNotMatch            403  SignatureDoesNotMatch       bad-sig
     │    ├── RequestTimeTooSkewed             403  RequestTimeTooSkewed        skew
     │    └── AuthAccessDenied (+AccessDenied) 403  AccessDenied                auth-error | expired
     ├── AccessDenied                          403  AccessDenied                scope-violation, …
     ├── InvalidRequest                        400  InvalidRequest              bad-request
     ├── InvalidBucketName                     400  InvalidBucketName           bad-request
     ├── IncompleteBody                        400  IncompleteBody              bad-request
     ├── BadDigest                             400  BadDigest                   bad-request
     ├── InvalidDigest                         400  InvalidDigest               bad-request
     ├── XAmzContentSHA256Mismatch             400  XAmzContentSHA256Mismatch   bad-request
     ├── MalformedPOSTRequest                  400  MalformedPOSTRequest        bad-form
     ├── EntityTooSmall                        400  EntityTooSmall              file-too-small
     ├── EntityTooLarge                        413  EntityTooLarge              file-too-large
     │    └── QuotaExceeded                    507  EntityTooLarge              quota-exceeded
     ├── MissingContentLength                  411  MissingContentLength        bad-request
     ├── S3NotImplemented                      501  NotImplemented              bad-request
     ├── NoSuchBucket                          404  NoSuchBucket                ok
     ├── NoSuchKey                             404  NoSuchKey                   ok
     ├── NoSuchCORSConfiguration               404  NoSuchCORSConfiguration     ok
     ├── BucketAlreadyOwnedByYou               409  BucketAlreadyOwnedByYou     ok
     ├── SlowDown                              503  SlowDown (+Retry-After: 1)  rate-limited
     └── InternalError                         502  InternalError               upstream-error
"""

from __future__ import annotations

import re
from dataclasses import dataclass

XML_PROLOG = b'<?xml version="1.0" encoding="UTF-8"?>\n'

# Element text needs &, < and > escaped; XML 1.0 also forbids most C0 controls, which can reach us
# through a decoded key in <Resource>, so they become U+FFFD instead of producing invalid XML.
_XML_TEXT = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
    | {chr(c): "\ufffd" for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)}
)


class S3Error(Exception):
    """Base of every error the proxy answers with an S3 XML body.

    ``status`` and ``result`` are class defaults that an instance may override, because a few
    codes are emitted with more than one status or metric label.
    """

    status: int = 500
    code: str = "InternalError"
    default_message: str = "We encountered an internal error. Please try again."
    result: str = "upstream-error"
    retry_after: int | None = None
    include_resource: bool = True

    def __init__(
        self,
        message: str | None = None,
        *,
        result: str | None = None,
        status: int | None = None,
        bucket: str | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(self.message)
        if result is not None:
            self.result = result
        if status is not None:
            self.status = status
        self.bucket = bucket

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status}, result={self.result!r})"


class AuthError(S3Error):
    """An authentication failure: 403, and the body omits ``<Resource>`` as S3 does."""

    status = 403
    include_resource = False
    code = "AccessDenied"
    default_message = "Access Denied"
    result = "auth-error"


class MissingAuthenticationToken(AuthError):
    code = "MissingAuthenticationToken"
    default_message = "request requires authentication"
    result = "missing-auth"


class InvalidAccessKeyId(AuthError):
    code = "InvalidAccessKeyId"
    default_message = "The AWS Access Key Id you provided does not exist in our records."
    result = "unknown-akid"


class SignatureDoesNotMatch(AuthError):
    code = "SignatureDoesNotMatch"
    default_message = "The request signature we calculated does not match the signature you provided."
    result = "bad-sig"


class RequestTimeTooSkewed(AuthError):
    code = "RequestTimeTooSkewed"
    default_message = "The difference between the request time and the current time is too large."
    result = "skew"


class AccessDenied(S3Error):
    """403 for authorisation decisions: scope, denied operations, POST policy violations."""

    status = 403
    code = "AccessDenied"
    default_message = "Access Denied"
    result = "scope-violation"


class AuthAccessDenied(AuthError, AccessDenied):
    """``AccessDenied`` raised by authentication (malformed auth, expired presign): no Resource."""

    code = "AccessDenied"
    default_message = "Access Denied"
    result = "auth-error"


class InvalidRequest(S3Error):
    status = 400
    code = "InvalidRequest"
    default_message = "Invalid Request"
    result = "bad-request"


class InvalidBucketName(S3Error):
    status = 400
    code = "InvalidBucketName"
    default_message = "The specified bucket is not valid."
    result = "bad-request"


class IncompleteBody(S3Error):
    status = 400
    code = "IncompleteBody"
    default_message = "You did not provide the number of bytes specified by the Content-Length HTTP header."
    result = "bad-request"


class BadDigest(S3Error):
    status = 400
    code = "BadDigest"
    default_message = "The checksum you specified did not match the calculated checksum."
    result = "bad-request"


class InvalidDigest(S3Error):
    status = 400
    code = "InvalidDigest"
    default_message = "The Content-MD5 you specified is not valid."
    result = "bad-request"


class XAmzContentSHA256Mismatch(S3Error):
    status = 400
    code = "XAmzContentSHA256Mismatch"
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."
    result = "bad-request"


class MalformedPOSTRequest(S3Error):
    status = 400
    code = "MalformedPOSTRequest"
    default_message = "The body of your POST request is not well-formed multipart/form-data."
    result = "bad-form"


class EntityTooSmall(S3Error):
    status = 400
    code = "EntityTooSmall"
    default_message = "Your proposed upload is smaller than the minimum allowed size."
    result = "file-too-small"


class EntityTooLarge(S3Error):
    """413: a POST Object file over its policy's maximum."""

    status = 413
    code = "EntityTooLarge"
    default_message = "Your proposed upload exceeds the maximum allowed size."
    result = "file-too-large"


class QuotaExceeded(EntityTooLarge):
    """507 ``EntityTooLarge``: the bucket's hard quota would be exceeded; clients must not retry."""

    status = 507
    default_message = "bucket hard quota exceeded"
    result = "quota-exceeded"


class MissingContentLength(S3Error):
    status = 411
    code = "MissingContentLength"
    default_message = "You must provide the Content-Length HTTP header."
    result = "bad-request"


class S3NotImplemented(S3Error):
    """``NotImplemented`` (501); named with a prefix so it never shadows the Python builtin."""

    status = 501
    code = "NotImplemented"
    default_message = "A header you provided implies functionality that is not implemented."
    result = "bad-request"


class NoSuchBucket(S3Error):
    """404 answered by the proxy itself (synthesised answers); ``ok``: the request was served."""

    status = 404
    code = "NoSuchBucket"
    default_message = "The specified bucket does not exist"
    result = "ok"


class NoSuchKey(S3Error):
    status = 404
    code = "NoSuchKey"
    default_message = "The specified key does not exist."
    result = "ok"


class NoSuchCORSConfiguration(S3Error):
    status = 404
    code = "NoSuchCORSConfiguration"
    default_message = "The CORS configuration does not exist"
    result = "ok"


class BucketAlreadyOwnedByYou(S3Error):
    status = 409
    code = "BucketAlreadyOwnedByYou"
    default_message = "Your previous request to create the named bucket succeeded and you already own it."
    result = "ok"


class SlowDown(S3Error):
    status = 503
    code = "SlowDown"
    default_message = "rate limit exceeded"
    result = "rate-limited"
    # AWS SDKs retry 503 SlowDown natively; Retry-After tells other clients when.
    retry_after = 1


class InternalError(S3Error):
    """502 by default (backend missing, signing or transport failure); 500 for local build errors."""

    status = 502
    code = "InternalError"
    default_message = "We encountered an internal error. Please try again."
    result = "upstream-error"


@dataclass(frozen=True, slots=True)
class RenderedError:
    """An error response ready for ASGI: status, header pairs (bytes) and the XML body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


_PLAIN_XML = re.compile(r"[^&<>\x00-\x08\x0b\x0c\x0e-\x1f]*")


def xml_text(value: str) -> str:
    """Escape ``value`` for use as XML element text."""
    if _PLAIN_XML.fullmatch(value):  # the common case: nothing to escape (translate is slow)
        return value
    return value.translate(_XML_TEXT)


_REQUEST_ID_ELEMENT = re.compile(rb"<RequestId>[^<]*</RequestId>")


def with_request_id(body: bytes, request_id: str) -> bytes:
    """A relayed upstream error body with the proxy's ``<RequestId>`` in place of the upstream's,
    so body and ``x-amz-request-id`` header agree (bodies without the element are unchanged)."""
    own = b"<RequestId>" + request_id.encode("ascii", "replace") + b"</RequestId>"
    return _REQUEST_ID_ELEMENT.sub(lambda _: own, body, count=1)


def render_error(
    error: S3Error, *, request_id: str, resource: str | None = None, bucket: str | None = None
) -> RenderedError:
    """Render ``error`` as the S3 XML error document plus its response headers.

    ``resource`` is the request path; it is left out for authentication failures. ``bucket``
    (or the error's own ``bucket``) adds ``<BucketName>`` when known.
    """
    bucket_name = bucket if bucket is not None else error.bucket
    parts = [
        "<Error><Code>",
        error.code,
        "</Code><Message>",
        xml_text(error.message),
        "</Message>",
    ]
    if bucket_name:
        parts += ["<BucketName>", xml_text(bucket_name), "</BucketName>"]
    if resource is not None and error.include_resource:
        parts += ["<Resource>", xml_text(resource), "</Resource>"]
    parts += ["<RequestId>", xml_text(request_id), "</RequestId></Error>"]
    body = XML_PROLOG + "".join(parts).encode("utf-8")
    headers = [
        (b"content-type", b"application/xml"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"x-amz-request-id", request_id.encode("ascii", "replace")),
    ]
    if error.retry_after is not None:
        headers.append((b"retry-after", str(error.retry_after).encode("ascii")))
    return RenderedError(error.status, headers, body)
