"""Inbound AWS Signature Version 2 (HMAC-SHA1): ``Authorization: AWS AKID:sig``, query auth and
browser-form (POST Object) policy signatures.

boto3's and aws-cli v1's default presigned URLs, ``s3cmd signurl`` and s3cmd with
``signature_v2 = True`` sign this way. Verification is two steps, like :mod:`.sigv4`, so the
caller looks the credential up in between::

    parsed = parse_sigv2(method, raw_path, raw_query, headers, bucket_prefix=b"")
    auth = verify_sigv2(parsed, secret, now=now)       # -> VerifiedAuth, or raises AuthError

The string to sign is ``METHOD\\nContent-MD5\\nContent-Type\\nDate\\n`` + every ``x-amz-*``
header (lower-cased, sorted, repeated values joined by ``,``) + the canonical resource: ``/bucket``
(virtual-hosted requests, whose path lacks it) + the path as received + the S3 sub-resources and
``response-*`` overrides of the query, sorted, values percent-decoded. The Date line is the
``Expires`` parameter for query auth and empty when ``x-amz-date`` is sent. SigV2 never signs the
body: payloads are unsigned (a signed ``Content-MD5`` is forwarded and checked upstream).

A presigned URL's ``x-amz-*``, ``Content-Type`` and ``Content-MD5`` query parameters (boto3 moves
signed headers there) stand for request headers: a header the request lacks is taken from the
query, becomes a real header for the upstream, and the parameter leaves the upstream query.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote_from_bytes, unquote_to_bytes

from .s3errors import AuthAccessDenied, InvalidRequest, RequestTimeTooSkewed, SignatureDoesNotMatch
from .sigv4 import MAX_PRESIGN_EXPIRES, MAX_SKEW_SECONDS, UNSIGNED_PAYLOAD, VerifiedAuth

__all__ = [
    "SIGNED_QUERY_OVERRIDES",
    "SUBRESOURCES",
    "ParsedV2",
    "SigV2Disabled",
    "is_sigv2",
    "parse_sigv2",
    "verify_post_policy_v2",
    "verify_sigv2",
]

SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "cors", "delete", "inventory", "lifecycle", "location",
        "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication",
        "requestPayment", "response-cache-control", "response-content-disposition",
        "response-content-encoding", "response-content-language", "response-content-type",
        "response-expires", "restore", "select", "select-type", "tagging", "torrent", "uploadId",
        "uploads", "versionId", "versioning", "versions", "website",
    }
)  # fmt: skip
"""Query keys that belong to the canonical resource (AWS's list plus what botocore signs)."""
SIGNED_QUERY_OVERRIDES = frozenset({"content-type", "content-md5"})
_AUTH_PARAMS = frozenset({b"AWSAccessKeyId", b"Signature", b"Expires"})
_HEADER_PREFIX = b"AWS "
_PATH_SAFE = "/~"  # what SDK signers leave unescaped in a path besides the unreserved set


class SigV2Disabled(AuthAccessDenied):
    """403 for a SigV2 request while ``s3_proxy.sigv2`` is false."""

    default_message = (
        "Signature Version 2 is disabled on this proxy (s3_proxy.sigv2: false); "
        "sign requests with AWS4-HMAC-SHA256 (SigV4)"
    )
    result = "sigv2-disabled"


@dataclass(slots=True, eq=False)
class ParsedV2:
    """A SigV2 request, parsed but not yet verified.

    ``strings_to_sign`` holds one string to sign per candidate path (:func:`_paths`): signers and
    HTTP libraries disagree on escapes and on a bucket's trailing slash, and any candidate that
    matches proves the secret. ``timestamp`` is the request time (header auth) or the expiry
    (query auth).
    """

    mode: str
    access_key_id: str
    signature: bytes
    timestamp: float
    strings_to_sign: tuple[bytes, ...]
    payload_hash: str
    upstream_query: bytes
    added_headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def _fail(message: str) -> AuthAccessDenied:
    return AuthAccessDenied(message, result="auth-error")


def is_sigv2(authorization: bytes | None, raw_query: bytes) -> bool:
    """Cheap test: an ``AWS `` Authorization header, or (without one) an ``AWSAccessKeyId`` parameter."""
    if authorization is not None:
        return authorization.startswith(_HEADER_PREFIX)
    return b"AWSAccessKeyId=" in raw_query


def _decode_signature(text: bytes) -> bytes:
    try:
        digest = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _fail("malformed Signature") from None
    if len(digest) != 20:
        raise _fail("malformed Signature")
    return digest


def _query_pairs(raw_query: bytes) -> list[tuple[bytes, bytes, bool, bytes]]:
    """(decoded key, raw value, had '=', the raw piece) per query piece."""
    out = []
    for piece in raw_query.split(b"&"):
        if piece:
            key, sep, value = piece.partition(b"=")
            out.append((unquote_to_bytes(key) if b"%" in key else key, value, bool(sep), piece))
    return out


def _request_time(headers: dict[bytes, bytes]) -> float:
    raw = headers.get(b"x-amz-date") or headers.get(b"date")
    if raw is None:
        raise _fail("AWS authentication requires a valid Date or x-amz-date header")
    text = raw.decode("latin-1").strip()
    if len(text) == 16 and text[8] == "T" and text.endswith("Z"):  # ISO 8601 basic, as SigV4 sends
        text = f"{text[0:4]}-{text[4:6]}-{text[6:8]}T{text[9:11]}:{text[11:13]}:{text[13:15]}+00:00"
        try:
            return datetime.fromisoformat(text).timestamp()
        except ValueError:
            raise _fail("x-amz-date is not a valid date") from None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        raise _fail("Date is not an RFC 1123 date") from None
    if moment.tzinfo is None:  # "-0000" (RFC 2822 for UTC) parses as naive
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _canonical_amz_headers(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    values: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        lname = name.lower()
        if lname.startswith(b"x-amz-"):
            values.setdefault(lname, []).append(value.strip())
    return b"".join([name + b":" + b",".join(values[name]) + b"\n" for name in sorted(values)])


def _subresources(pairs: list[tuple[bytes, bytes, bool, bytes]]) -> bytes:
    selected = [
        (key, key + b"=" + unquote_to_bytes(value) if sep else key)
        for key, value, sep, _ in pairs
        if key.decode("latin-1") in SUBRESOURCES
    ]
    if not selected:
        return b""
    selected.sort(key=lambda item: item[0])
    return b"?" + b"&".join([text for _, text in selected])


def _paths(raw_path: bytes, bucket_prefix: bytes) -> tuple[bytes, ...]:
    """Canonical-resource paths to try: as received, re-encoded the SDK way, and for a bare
    ``/bucket`` also ``/bucket/`` (botocore signs a path-style bucket request with the slash)."""
    path = bucket_prefix + (raw_path or b"/")
    candidates = [path, quote_from_bytes(unquote_to_bytes(path), safe=_PATH_SAFE).encode("ascii")]
    if path.count(b"/") == 1 and len(path) > 1:
        candidates += [candidate + b"/" for candidate in candidates]
    return tuple(dict.fromkeys(candidates))


def parse_sigv2(
    method: str,
    raw_path: bytes,
    raw_query: bytes,
    headers: list[tuple[bytes, bytes]],
    *,
    bucket_prefix: bytes = b"",
) -> ParsedV2:
    """Parse a SigV2 request (header or query auth) without verifying it.

    ``headers`` are the request's lower-cased header pairs; ``bucket_prefix`` is ``b"/<bucket>"``
    for a virtual-hosted request (its path does not name the bucket), else empty. Raises
    ``AuthAccessDenied`` (auth-error) for malformed or mixed authentication.
    """
    headers_by_name: dict[bytes, bytes] = {}
    for name, value in headers:
        headers_by_name[name] = headers_by_name[name] + b"," + value if name in headers_by_name else value
    if b"X-Amz-Signature=" in raw_query or b"X-Amz-Credential=" in raw_query:
        raise _fail("only one authentication mechanism is allowed")
    pairs = _query_pairs(raw_query)
    authorization = headers_by_name.get(b"authorization")
    added: list[tuple[bytes, bytes]] = []
    if authorization is not None:
        if any(pair[0] in _AUTH_PARAMS for pair in pairs):
            raise _fail("only one authentication mechanism is allowed")
        access_key, sep, signature = authorization[len(_HEADER_PREFIX) :].strip().partition(b":")
        if not sep or not access_key:
            raise _fail("Authorization must be AWS <AWSAccessKeyId>:<Signature>")
        mode, timestamp = "signed-v2", _request_time(headers_by_name)
        date_line = b"" if b"x-amz-date" in headers_by_name else headers_by_name.get(b"date", b"").strip()
        upstream_query = raw_query
    else:
        params: dict[bytes, bytes] = {}
        kept: list[bytes] = []
        for key, value, _, piece in pairs:
            lkey = key.lower()
            if key in _AUTH_PARAMS:
                if key in params:
                    raise _fail(f"duplicate {key.decode('latin-1')} parameter")
                params[key] = unquote_to_bytes(value)
            elif lkey.startswith(b"x-amz-") or lkey.decode("latin-1") in SIGNED_QUERY_OVERRIDES:
                if lkey not in headers_by_name:  # the header the client signed, carried in the query
                    headers_by_name[lkey] = unquote_to_bytes(value)
                    added.append((lkey, headers_by_name[lkey]))
            else:
                kept.append(piece)
        missing = [name.decode() for name in sorted(_AUTH_PARAMS) if name not in params]
        if missing:
            raise _fail(f"presigned URL is missing {', '.join(missing)}")
        access_key, signature = params[b"AWSAccessKeyId"], params[b"Signature"]
        expires = params[b"Expires"]
        if not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
            raise _fail("Expires must be a time in seconds since the epoch")
        mode, timestamp, date_line = "presigned-v2", float(int(expires)), expires
        upstream_query = b"&".join(kept)
    amz_lines = _canonical_amz_headers([*headers, *added])
    head = b"\n".join(
        (
            method.upper().encode("ascii"),
            headers_by_name.get(b"content-md5", b"").strip(),
            headers_by_name.get(b"content-type", b"").strip(),
            date_line,
            amz_lines,
        )
    )
    resource_query = _subresources(pairs)
    strings = tuple(head + path + resource_query for path in _paths(raw_path, bucket_prefix))
    return ParsedV2(
        mode=mode,
        access_key_id=access_key.decode("latin-1"),
        signature=_decode_signature(signature.strip()),
        timestamp=timestamp,
        strings_to_sign=strings,
        payload_hash=_payload_hash(headers_by_name.get(b"x-amz-content-sha256")),
        upstream_query=upstream_query,
        added_headers=added,
    )


def _payload_hash(value: bytes | None) -> str:
    """SigV2 signs no body; a SHA-256 the client states is still checked by the forwarder."""
    if value is None:
        return UNSIGNED_PAYLOAD
    text = value.decode("latin-1").strip()
    if text == UNSIGNED_PAYLOAD or (len(text) == 64 and all(c in "0123456789abcdef" for c in text)):
        return text
    raise InvalidRequest(
        f"x-amz-content-sha256 {text[:40]} needs AWS4-HMAC-SHA256 signing, not Signature Version 2"
    )


def _check_time(parsed: ParsedV2, now: float) -> None:
    if parsed.mode == "presigned-v2":
        if now > parsed.timestamp:
            raise AuthAccessDenied("Request has expired", result="expired")
        # SigV2 URLs carry no signing time; the same 7-day ceiling as SigV4 presigned URLs keeps
        # a leaked URL from living for years.
        if parsed.timestamp - now > MAX_PRESIGN_EXPIRES:
            raise _fail("Expires is more than 7 days (604800 seconds) in the future")
    elif abs(now - parsed.timestamp) > MAX_SKEW_SECONDS:
        raise RequestTimeTooSkewed()


def verify_sigv2(parsed: ParsedV2, secret: str, *, now: float) -> VerifiedAuth:
    """Check time and HMAC-SHA1 signature; raises ``AuthError`` subclasses like :func:`sigv4.verify`."""
    _check_time(parsed, now)
    key = secret.encode("utf-8")
    matched = False
    for string_to_sign in parsed.strings_to_sign:
        # every candidate is computed and compared so timing does not reveal which one matched
        matched |= hmac.compare_digest(hmac.digest(key, string_to_sign, "sha1"), parsed.signature)
    if not matched:
        raise SignatureDoesNotMatch()
    return VerifiedAuth(
        access_key_id=parsed.access_key_id,
        mode=parsed.mode,
        signing_key=b"",
        signature="",
        amz_date="",
        scope="",
        payload_hash=parsed.payload_hash,
    )


def verify_post_policy_v2(secret: str, policy_b64: str, signature: str) -> None:
    """A browser form's SigV2 signature: base64 HMAC-SHA1 of the base64 policy exactly as sent.

    SigV2 forms carry no signing date; the policy's own ``expiration`` bounds them (checked by
    the caller with the policy).
    """
    expected = hmac.digest(secret.encode("utf-8"), policy_b64.encode("utf-8"), "sha1")
    if not hmac.compare_digest(expected, _decode_signature(signature.strip().encode("latin-1"))):
        raise SignatureDoesNotMatch()
