"""The request the proxy sends upstream and the response headers it passes back.

:class:`UpstreamSigner` (one per backend) builds a path-style URL under the endpoint's base path,
filters the tenant's headers and signs the result with the backend's admin key (SigV4 header auth,
service ``s3``, ``x-amz-content-sha256: UNSIGNED-PAYLOAD``).

* Path: rebuilt from the classified bucket and decoded key, each segment encoded with the
  unreserved set, never the raw path, so the upstream addresses what the proxy classified.
* Query: the canonical form of the parsed parameters (the same bytes the outbound signature
  covers), minus presign parameters. A raw ``;`` becomes ``%3B``, so an upstream that also splits
  on ``;`` cannot find a sub-resource (``?x=1;acl``) the classifier did not see.
* ``x-amz-*`` headers: those in :data:`amzheaders.FORWARDABLE` and ``x-amz-meta-*`` are passed
  and signed (strict upstreams such as ``rclone serve s3`` reject unsigned ones); which of them an
  operation may carry is checked before (``amzheaders.check_amz_headers``), so nothing here is
  dropped that a client asked for except :data:`amzheaders.CONSUMED` (authentication, framing).
* Other headers pass, except ``Host``/``Content-Length`` (set here), hop-by-hop headers and
  ``Expect`` (the body is already in hand; an upstream 100-continue round trip would only add
  latency); ``aws-chunked`` is removed from ``Content-Encoding`` when the proxy decoded the body.

``host`` and ``content-md5`` are signed too. Header values are decoded as UTF-8 (latin-1 when not
valid UTF-8) because aiohttp encodes header text as UTF-8; signing hashes the same text.

Responses relay only an allow-list of S3 response headers (:func:`filter_response_headers`).

The URL's key segments are never ``.``/``..`` (``classify.check_addressing``); it still goes to
aiohttp as ``yarl.URL(url, encoded=True)`` so nothing re-encodes the path or the query.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import quote_from_bytes, unquote, urlsplit

from .amzheaders import FORWARDABLE, META_PREFIX
from .sigv4 import UNSIGNED_PAYLOAD, canonical_query_string, derive_signing_key

__all__ = [
    "DROPPED_REQUEST_HEADERS",
    "PRESIGN_PARAMS",
    "RELAYED_RESPONSE_HEADERS",
    "RELAYED_RESPONSE_PREFIXES",
    "OutboundRequest",
    "UpstreamSigner",
    "effective_status",
    "encode_object_path",
    "filter_response_headers",
    "strip_presign_params",
]

DROPPED_REQUEST_HEADERS = frozenset(
    {
        b"authorization", b"x-amz-date", b"x-amz-content-sha256", b"x-amz-security-token",
        b"x-amz-decoded-content-length", b"connection", b"keep-alive", b"proxy-authenticate",
        b"proxy-authorization", b"te", b"trailer", b"transfer-encoding", b"upgrade",
        b"host", b"content-length", b"expect",
    }
)  # fmt: skip
PRESIGN_PARAMS = frozenset(
    {
        "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
        "x-amz-signedheaders", "x-amz-signature", "x-amz-security-token",
    }
)  # fmt: skip
"""Lower-cased; matched case-insensitively so no spelling of a presign parameter reaches upstream."""

# What S3 answers with (the S3 API reference's response headers): everything else an upstream
# adds — Set-Cookie, Location outside redirects, CSP, CORS headers (CORS is Stowage's per-bucket
# rules), Server, Date (the ASGI server adds its own), its request id (the proxy sends its own),
# hop-by-hop headers — stays behind.
RELAYED_RESPONSE_HEADERS = frozenset(
    {
        b"accept-ranges", b"cache-control", b"content-disposition", b"content-encoding",
        b"content-language", b"content-length", b"content-md5", b"content-range", b"content-type",
        b"etag", b"expires", b"last-modified", b"retry-after", b"x-amz-abort-date",
        b"x-amz-abort-rule-id", b"x-amz-bucket-region", b"x-amz-copy-source-version-id",
        b"x-amz-delete-marker", b"x-amz-expiration", b"x-amz-missing-meta", b"x-amz-mp-parts-count",
        b"x-amz-request-charged", b"x-amz-restore", b"x-amz-replication-status",
        b"x-amz-storage-class", b"x-amz-tagging-count", b"x-amz-version-id",
        b"x-amz-website-redirect-location", b"x-amz-access-point-alias",
    }
)  # fmt: skip
RELAYED_RESPONSE_PREFIXES = (
    b"x-amz-meta-", b"x-amz-checksum-", b"x-amz-server-side-encryption", b"x-amz-object-lock-",
)  # fmt: skip
_SIGNED_PLAIN_HEADERS = frozenset({"content-md5"})


class OutboundRequest(NamedTuple):
    url: str
    headers: list[tuple[str, str]]


def encode_object_path(bucket: str, key: str) -> str:
    """``/<bucket>[/<key>]`` with the bucket and each key segment encoded with the unreserved set."""
    path = "/" + _quote(bucket)
    if key:
        path += "/" + "/".join([_quote(segment) for segment in key.split("/")])
    return path


def _quote(text: str) -> str:
    return quote_from_bytes(text.encode("utf-8", "surrogateescape"), safe="-_.~")


def strip_presign_params(raw_query: bytes) -> bytes:
    """The query string verbatim, minus the SigV4 presign parameters."""
    if not raw_query or b"x-amz-" not in raw_query.lower():
        return raw_query
    kept = []
    for piece in raw_query.split(b"&"):
        name = piece.partition(b"=")[0].decode("latin-1")
        if (unquote(name) if "%" in name else name).lower() not in PRESIGN_PARAMS:
            kept.append(piece)
    return b"&".join(kept)


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _without_aws_chunked(value: bytes) -> bytes:
    codings = [c.strip() for c in value.split(b",") if c.strip() and c.strip().lower() != b"aws-chunked"]
    return b", ".join(codings)


def _forwarded(name: bytes) -> bool:
    if name.startswith(b"x-amz-"):
        return name in FORWARDABLE or name.startswith(META_PREFIX)
    return name not in DROPPED_REQUEST_HEADERS


class UpstreamSigner:
    """Builds and signs outbound requests for one backend; keeps that backend's signing key per day."""

    __slots__ = (
        "_access_key", "_base", "_day", "_host", "_key", "_origin", "_region", "_scope_tail",
        "_second", "_secret", "_stamp",
    )  # fmt: skip

    def __init__(self, endpoint: str, region: str, access_key: str, secret_key: str) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"backend endpoint must be http(s)://host[:port][/base], got {endpoint!r}")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._host = parts.netloc
        self._base = parts.path.rstrip("/")
        self._region = region or "us-east-1"
        self._access_key = access_key
        self._secret = secret_key
        self._scope_tail = f"/{self._region}/s3/aws4_request"
        self._day = ""
        self._key = b""
        self._second = -1
        self._stamp = ""

    @property
    def host(self) -> str:
        return self._host

    def _amz_date(self, second: int) -> str:
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
        return self._stamp

    def _signing_key(self, day: str) -> bytes:
        if day != self._day:
            self._key = derive_signing_key(self._secret, day, self._region, "s3")
            self._day = day
        return self._key

    def build(
        self,
        method: str,
        bucket: str,
        key: str,
        raw_query: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        *,
        content_length: int | None = None,
        decoded_body: bool = False,
        now: float | None = None,
    ) -> OutboundRequest:
        """The signed upstream request for ``method /bucket/key?query`` with the tenant's ``headers``.

        ``key`` is the decoded key; ``raw_query`` the inbound query string as received (sent on in
        canonical form);
        ``decoded_body`` strips ``aws-chunked`` from Content-Encoding; ``content_length`` is sent
        when given (the decoded length for aws-chunked bodies).
        """
        path = self._base + encode_object_path(bucket, key)
        query = canonical_query_string(strip_presign_params(raw_query))
        amz_date = self._amz_date(int(time.time() if now is None else now))
        out: list[tuple[str, str]] = [
            ("host", self._host),
            ("x-amz-content-sha256", UNSIGNED_PAYLOAD),
            ("x-amz-date", amz_date),
        ]
        signed: dict[str, list[str]] = {name: [value] for name, value in out}
        for raw_name, raw_value in headers:
            name = raw_name.lower()
            if not _forwarded(name):
                continue
            value = raw_value
            if decoded_body and name == b"content-encoding":
                value = _without_aws_chunked(raw_value)
                if not value:
                    continue
            text_name = name.decode("latin-1")
            sign = name.startswith(b"x-amz-") or text_name in _SIGNED_PLAIN_HEADERS
            if sign:
                # Send signed values already in canonical form (ASCII whitespace trimmed and
                # collapsed) so upstreams with a different whitespace rule still agree.
                value = b" ".join(value.split())
            text_value = _text(value)
            out.append((text_name, text_value))
            if sign:
                signed.setdefault(text_name, []).append(text_value)
        if content_length is not None:
            out.append(("content-length", str(content_length)))
        out.append(("authorization", self._authorization(method, path, query, signed, amz_date)))
        return OutboundRequest(self._origin + path + ("?" + query.decode("latin-1") if query else ""), out)

    def _authorization(
        self, method: str, path: str, query: bytes, signed: dict[str, list[str]], amz_date: str
    ) -> str:
        names = sorted(signed)
        canonical_headers = "".join([f"{name}:{','.join(signed[name])}\n" for name in names])
        signed_names = ";".join(names)
        canonical = "\n".join(
            (
                method.upper(),
                path,
                query.decode("ascii"),
                canonical_headers,
                signed_names,
                UNSIGNED_PAYLOAD,
            )
        )
        day = amz_date[:8]
        scope = day + self._scope_tail
        string_to_sign = (
            f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        signature = hmac.digest(self._signing_key(day), string_to_sign.encode(), "sha256").hex()
        return (
            f"AWS4-HMAC-SHA256 Credential={self._access_key}/{scope}, "
            f"SignedHeaders={signed_names}, Signature={signature}"
        )


def effective_status(headers: Iterable[tuple[bytes, bytes]], status: int) -> int:
    """206 for a 200 that carries a partial ``Content-Range``, else ``status``.

    ``rclone serve s3`` answers ranged GETs with 200 plus ``Content-Range`` and the whole object's
    checksum; RFC 9110 gives Content-Range meaning only on 206/416, and clients (boto3) treat such
    a 200 as the full object and fail its checksum. The body is partial, so it is a 206.
    """
    if status != 200:
        return status
    for name, value in headers:
        if name.lower() == b"content-range":
            unit, _, spec = value.strip().partition(b" ")
            span, _, total = spec.partition(b"/")
            first, _, last = span.partition(b"-")
            if unit.lower() != b"bytes" or not (first.isdigit() and last.isdigit() and total.isdigit()):
                return status
            return 206 if int(first) > 0 or int(last) + 1 < int(total) else status
    return status


def filter_response_headers(headers: Iterable[tuple[bytes, bytes]], status: int) -> list[tuple[bytes, bytes]]:
    """Upstream response headers fit for the client: the S3 allow-list only.

    ``Location`` passes on 3xx redirects only. On 206 ``x-amz-checksum-*`` is dropped: those
    describe the whole object, and SDKs that validate them fail on a range (rclone sends them).
    """
    partial = status == 206
    redirect = 300 <= status < 400
    out = []
    for raw_name, value in headers:
        name = raw_name.lower()
        if name in RELAYED_RESPONSE_HEADERS:
            out.append((name, value))
        elif name.startswith(RELAYED_RESPONSE_PREFIXES):
            if not (partial and name.startswith(b"x-amz-checksum-")):
                out.append((name, value))
        elif redirect and name == b"location":
            out.append((name, value))
    return out
