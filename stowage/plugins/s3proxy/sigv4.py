"""Inbound AWS Signature V4 verification: header auth, presigned URLs and POST-policy signatures.

Verification is two steps so the caller can look the credential up in between::

    parsed = parse_request(method, scope["raw_path"], scope["query_string"], scope["headers"])
    credential = credentials.get(parsed.access_key_id)      # None -> raise InvalidAccessKeyId()
    auth = verify(parsed, credential.secret_key, cache=signing_keys)  # VerifiedAuth, or AuthError

The canonical request is built from the raw bytes the client sent (``raw_path`` and the query
string as received), never from a decoded-and-re-encoded path: S3 does not double-encode, and any
normalisation here would reject valid signatures. Failures raise the ``AuthError``
subclasses of :mod:`.s3errors`, whose ``result`` is the metric label (missing-auth, unknown-akid,
bad-sig, expired, skew, auth-error). The module is pure and synchronous; time comes in as ``now``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote_from_bytes, unquote, unquote_to_bytes

from .s3errors import (
    AuthAccessDenied,
    AuthError,
    InvalidAccessKeyId,
    MissingAuthenticationToken,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "MAX_PRESIGN_EXPIRES",
    "MAX_SKEW_SECONDS",
    "UNSIGNED_PAYLOAD",
    "ParsedAuth",
    "SigV4Error",
    "SigningKeyCache",
    "VerifiedAuth",
    "authenticate",
    "canonical_query_string",
    "derive_signing_key",
    "parse_post_policy_auth",
    "parse_request",
    "post_policy_signature",
    "verify",
    "verify_post_policy",
]

SigV4Error = AuthError
"""What every verification failure raises; ``.code`` is the S3 code, ``.result`` the metric label."""

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW_SECONDS = 15 * 60
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600

_ALGORITHM_PREFIX = ALGORITHM + " "
_STS_PREFIX = ALGORITHM.encode() + b"\n"
_TERMINATOR = "aws4_request"
_SIG_PARAM = "X-Amz-Signature"
_SIG_PARAM_B = b"X-Amz-Signature="
_HEX = frozenset("0123456789abcdef")
# A query key or value is already canonical when it holds only unreserved characters and
# upper-case %XX escapes of reserved bytes; the slower decode/encode pass is needed otherwise
# (lower-case hex, escaped unreserved characters such as %41, raw reserved characters).
_CANONICAL_PIECE = re.compile(
    rb"(?:[A-Za-z0-9._~-]|%(?!3[0-9]|4[1-9A-F]|5[0-9AF]|6[1-9A-F]|7[0-9AE]|2[DE])[0-9A-F]{2})*"
)
_WHITESPACE_RUN = re.compile(rb"[ \t\r\n\x0b\x0c]+")


@dataclass(slots=True, eq=False)
class ParsedAuth:
    """The credential part of a request, parsed but not yet verified (treat it as read-only).

    ``mode`` is ``"signed"`` (Authorization header), ``"presigned"`` (query) or ``"post-policy"``.
    The request fields at the end are what :func:`verify` needs to rebuild the canonical request.
    Not frozen: a frozen dataclass's ``__init__`` costs ~3x more and this is built per request.
    """

    mode: str
    access_key_id: str
    credential_date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    timestamp: float
    expires: int | None
    payload_hash: str
    method: bytes = b""
    raw_path: bytes = b""
    raw_query: bytes = b""
    headers: Mapping[bytes, bytes] | None = None

    @property
    def scope(self) -> str:
        """The credential scope without the access key: ``yyyymmdd/region/service/aws4_request``."""
        return f"{self.credential_date}/{self.region}/{self.service}/{_TERMINATOR}"


@dataclass(frozen=True, slots=True)
class VerifiedAuth:
    """A verified request: who signed it and what a streaming-body decoder needs to continue."""

    access_key_id: str
    mode: str
    signing_key: bytes
    signature: str
    amz_date: str
    scope: str
    payload_hash: str


class SigningKeyCache:
    """Derived signing keys keyed by (akid, date, region, service), bound to the secret's fingerprint.

    A rotated secret under the same access key id re-derives instead of reusing the old key, so a
    stale key never verifies. ``clear()`` is called after every credential-cache rebuild so
    revocation is immediate.
    The size bound evicts the oldest entry first (dicts keep insertion order).
    """

    __slots__ = ("_entries", "_max_size")

    def __init__(self, max_size: int = 4096) -> None:
        self._entries: dict[tuple[str, str, str, str], tuple[bytes, bytes]] = {}
        self._max_size = max_size

    def get(self, secret: str, access_key_id: str, date: str, region: str, service: str) -> bytes:
        """Return the signing key, deriving and caching it when absent or the secret changed."""
        fingerprint = hashlib.sha256(secret.encode()).digest()
        cache_key = (access_key_id, date, region, service)
        entry = self._entries.get(cache_key)
        if entry is not None and hmac.compare_digest(entry[0], fingerprint):
            return entry[1]
        key = derive_signing_key(secret, date, region, service)
        if entry is None and len(self._entries) >= self._max_size:
            del self._entries[next(iter(self._entries))]
        self._entries[cache_key] = (fingerprint, key)
        return key

    def clear(self) -> None:
        """Forget every derived key."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    key = hmac.digest(("AWS4" + secret).encode(), date.encode(), "sha256")
    key = hmac.digest(key, region.encode(), "sha256")
    key = hmac.digest(key, service.encode(), "sha256")
    return hmac.digest(key, b"aws4_request", "sha256")


def post_policy_signature(signing_key: bytes, policy_b64: str) -> str:
    """Hex HMAC-SHA256 of the base64 policy text exactly as sent in the form."""
    return hmac.digest(signing_key, policy_b64.encode(), "sha256").hex()


# --------------------------------------------------------------------------------------------
# Parsing


def _fail(message: str) -> AuthAccessDenied:
    return AuthAccessDenied(message, result="auth-error")


def _header_dict(headers: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Lower-cased name -> value; repeated headers are joined with ',' after trimming each."""
    out: dict[bytes, bytes] = {}
    for name, value in headers:
        lname = name.lower()
        previous = out.get(lname)
        out[lname] = value if previous is None else _trim_all(previous) + b"," + _trim_all(value)
    return out


@functools.lru_cache(maxsize=64)
def _parse_amz_date(value: str) -> float:
    """Seconds since the epoch for ``YYYYMMDDTHHMMSSZ`` (memoised: concurrent requests share seconds)."""
    if (
        len(value) != 16
        or value[8] != "T"
        or value[15] != "Z"
        or not value.isascii()
        or not (value[:8] + value[9:15]).isdigit()
    ):
        raise _fail("X-Amz-Date must be YYYYMMDDTHHMMSSZ")
    try:
        moment = datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        raise _fail("X-Amz-Date is not a valid date") from None
    return moment.timestamp()


def _request_time(headers_by_name: Mapping[bytes, bytes]) -> tuple[str, float]:
    """(amz date string for the string-to-sign, epoch seconds) from X-Amz-Date or Date."""
    raw = headers_by_name.get(b"x-amz-date")
    if raw is not None:
        value = raw.decode("latin-1").strip()
        return value, _parse_amz_date(value)
    raw = headers_by_name.get(b"date")
    if raw is None:
        raise _fail("missing X-Amz-Date or Date header")
    try:
        parsed = parsedate_to_datetime(raw.decode("latin-1"))
    except (TypeError, ValueError):
        raise _fail("Date header is not an RFC 1123 date") from None
    if parsed.tzinfo is None:  # "-0000" (RFC 2822 for UTC) parses as naive
        parsed = parsed.replace(tzinfo=UTC)
    stamp = parsed.timestamp()
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(stamp)), stamp


def _parse_credential(value: str) -> tuple[str, str, str, str]:
    """``akid/yyyymmdd/region/service/aws4_request`` -> (akid, date, region, service)."""
    parts = value.split("/")
    if len(parts) != 5 or parts[4] != _TERMINATOR:
        raise _fail("credential must be <akid>/<date>/<region>/<service>/aws4_request")
    akid, date, region, service = parts[0], parts[1], parts[2], parts[3]
    if not akid or not region or not service or len(date) != 8 or not (date.isascii() and date.isdigit()):
        raise _fail("malformed credential scope")
    if service != "s3":
        # A signature for another service must not be usable here (AWS answers the same way).
        raise SignatureDoesNotMatch("Credential should be scoped to correct service: 's3'.")
    return akid, date, region, service


# AWS lets this one travel unsigned: header auth binds it anyway (it is the canonical request's
# last line), and presigned URLs sign UNSIGNED-PAYLOAD whatever it says.
_UNSIGNED_AMZ_ALLOWED = frozenset({b"x-amz-content-sha256"})


def _check_amz_headers_signed(
    headers_by_name: Mapping[bytes, bytes], signed_headers: tuple[str, ...]
) -> None:
    """AWS refuses ``x-amz-*`` headers that are not in SignedHeaders: without this check anyone
    on the path (or a presigned URL's holder) could add e.g. ``x-amz-copy-source`` or
    ``x-amz-tagging`` to a signed request and have the proxy forward it, re-signed, upstream."""
    for header in headers_by_name:
        if (
            header.startswith(b"x-amz-")
            and header not in _UNSIGNED_AMZ_ALLOWED
            and header.decode("latin-1") not in signed_headers
        ):
            raise _fail("There were headers present in the request which were not signed")


def _parse_signed_headers(value: str) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not all(names) or len(set(names)) != len(names) or value != value.lower():
        raise _fail("malformed SignedHeaders")
    if "host" not in names:
        raise _fail("SignedHeaders must include host")
    return names


def _parse_signature(value: str) -> str:
    sig = value.lower()
    if len(sig) != 64 or not _HEX.issuperset(sig):
        raise _fail("malformed Signature")
    return sig


def _parse_authorization(value: str) -> tuple[str, str, str]:
    """Strictly split the Authorization header into (Credential, SignedHeaders, Signature)."""
    if not value.startswith(_ALGORITHM_PREFIX):
        raise _fail("unsupported authorization algorithm")
    fields: dict[str, str] = {}
    for component in value[len(_ALGORITHM_PREFIX) :].split(","):
        name, sep, field = component.strip().partition("=")
        if not sep or name not in ("Credential", "SignedHeaders", "Signature") or name in fields:
            raise _fail("malformed Authorization header")
        fields[name] = field
    if len(fields) != 3:
        raise _fail("Authorization header is missing a component")
    return fields["Credential"], fields["SignedHeaders"], fields["Signature"]


def _query_pairs(raw_query: bytes) -> list[tuple[bytes, bytes]]:
    pairs = []
    for piece in raw_query.split(b"&"):
        if piece:
            key, _, value = piece.partition(b"=")
            pairs.append((key, value))
    return pairs


def parse_request(
    method: bytes | str,
    raw_path: bytes,
    raw_query: bytes,
    headers: Iterable[tuple[bytes, bytes]],
) -> ParsedAuth:
    """Parse the SigV4 credential of a request (header or presigned) without verifying it.

    Raises ``MissingAuthenticationToken`` when the request carries neither form, and
    ``AuthAccessDenied`` (result auth-error) for anything malformed.
    """
    headers_by_name = _header_dict(headers)
    method_b = method.encode("ascii") if isinstance(method, str) else method
    authorization = headers_by_name.get(b"authorization")
    presigned = _SIG_PARAM_B in raw_query
    if authorization is not None:
        if presigned:
            raise _fail("only one authentication mechanism is allowed")
        return _parse_header_auth(method_b, raw_path, raw_query, headers_by_name, authorization)
    if presigned:
        return _parse_presigned(method_b, raw_path, raw_query, headers_by_name)
    raise MissingAuthenticationToken()


def _parse_header_auth(
    method: bytes,
    raw_path: bytes,
    raw_query: bytes,
    headers_by_name: dict[bytes, bytes],
    authorization: bytes,
) -> ParsedAuth:
    credential, signed, signature = _parse_authorization(authorization.decode("latin-1").strip())
    akid, date, region, service = _parse_credential(credential)
    amz_date, stamp = _request_time(headers_by_name)
    if amz_date[:8] != date:
        raise _fail("credential date does not match the request date")
    signed_headers = _parse_signed_headers(signed)
    _check_amz_headers_signed(headers_by_name, signed_headers)
    payload = headers_by_name.get(b"x-amz-content-sha256")
    return ParsedAuth(
        mode="signed",
        access_key_id=akid,
        credential_date=date,
        region=region,
        service=service,
        signed_headers=signed_headers,
        signature=_parse_signature(signature),
        amz_date=amz_date,
        timestamp=stamp,
        expires=None,
        payload_hash=UNSIGNED_PAYLOAD if payload is None else payload.decode("latin-1").strip(),
        method=method,
        raw_path=raw_path,
        raw_query=raw_query,
        headers=headers_by_name,
    )


_PRESIGN_REQUIRED = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders")


def _parse_presigned(
    method: bytes, raw_path: bytes, raw_query: bytes, headers_by_name: dict[bytes, bytes]
) -> ParsedAuth:
    params: dict[str, str] = {}
    for key, value in _query_pairs(raw_query):
        name = key.decode("latin-1")
        if "%" in name:
            name = unquote(name)
        if name.startswith("X-Amz-"):
            if name in params:
                raise _fail(f"duplicate {name} parameter")
            text = value.decode("latin-1")
            params[name] = unquote(text) if "%" in text else text
    if _SIG_PARAM not in params:
        raise MissingAuthenticationToken()
    for name in _PRESIGN_REQUIRED:
        if name not in params:
            raise _fail(f"presigned URL is missing {name}")
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise _fail("unsupported X-Amz-Algorithm")
    expires_raw = params.get("X-Amz-Expires", "")
    if (
        not (expires_raw.isascii() and expires_raw.isdigit())
        or len(expires_raw) > 7
        or int(expires_raw) > MAX_PRESIGN_EXPIRES
    ):
        raise _fail("X-Amz-Expires must be an integer between 0 and 604800")
    akid, date, region, service = _parse_credential(params["X-Amz-Credential"])
    amz_date = params["X-Amz-Date"]
    stamp = _parse_amz_date(amz_date)
    if amz_date[:8] != date:
        raise _fail("credential date does not match X-Amz-Date")
    signed_headers = _parse_signed_headers(params["X-Amz-SignedHeaders"])
    _check_amz_headers_signed(headers_by_name, signed_headers)
    payload = headers_by_name.get(b"x-amz-content-sha256")
    return ParsedAuth(
        mode="presigned",
        access_key_id=akid,
        credential_date=date,
        region=region,
        service=service,
        signed_headers=signed_headers,
        signature=_parse_signature(params[_SIG_PARAM]),
        amz_date=amz_date,
        timestamp=stamp,
        expires=int(expires_raw),
        # Signing always uses UNSIGNED-PAYLOAD for presigned URLs; this field tells the body
        # handler how the body is encoded, so it reports the header when one was sent.
        payload_hash=UNSIGNED_PAYLOAD if payload is None else payload.decode("latin-1").strip(),
        method=method,
        raw_path=raw_path,
        raw_query=raw_query,
        headers=headers_by_name,
    )


def parse_post_policy_auth(algorithm: str, credential: str, amz_date: str, signature: str) -> ParsedAuth:
    """Parse the auth fields of a browser POST form (x-amz-algorithm/-credential/-date/-signature)."""
    if algorithm != ALGORITHM:
        raise _fail("x-amz-algorithm must be AWS4-HMAC-SHA256")
    akid, date, region, service = _parse_credential(credential)
    stamp = _parse_amz_date(amz_date)
    if amz_date[:8] != date:
        raise _fail("credential date does not match x-amz-date")
    return ParsedAuth(
        mode="post-policy",
        access_key_id=akid,
        credential_date=date,
        region=region,
        service=service,
        signed_headers=(),
        signature=_parse_signature(signature),
        amz_date=amz_date,
        timestamp=stamp,
        expires=None,
        payload_hash=UNSIGNED_PAYLOAD,
    )


# --------------------------------------------------------------------------------------------
# Canonical request


def _trim_all(value: bytes) -> bytes:
    """Trim and collapse ASCII whitespace runs, as every AWS SDK signer does (bytes.split is ASCII-only,
    so UTF-8 continuation bytes such as 0xA0 are never mistaken for spaces)."""
    return b" ".join(value.split())


def _trim_outside_quotes(value: bytes) -> bytes:
    """The older rule: collapse whitespace runs to one space only outside double quotes."""
    segments = value.split(b'"')
    segments[::2] = [_WHITESPACE_RUN.sub(b" ", segment) for segment in segments[::2]]
    return b'"'.join(segments).strip()


def _encode_piece(piece: bytes) -> bytes:
    if _CANONICAL_PIECE.fullmatch(piece):
        return piece
    return quote_from_bytes(unquote_to_bytes(piece), safe="-_.~").encode("ascii")


def canonical_query_string(raw_query: bytes, *, drop_signature: bool = False) -> bytes:
    """Canonical query: pairs re-encoded with the unreserved set, sorted by key then value.

    ``drop_signature`` leaves out ``X-Amz-Signature`` (presigned URLs). A '+' is a literal plus
    (RFC 3986), not a space: SDKs encode spaces as %20 when they sign.
    """
    if not raw_query:
        return b""
    pairs = []
    for key, value in _query_pairs(raw_query):
        ekey = _encode_piece(key)
        if drop_signature and ekey == b"X-Amz-Signature":
            continue
        pairs.append((ekey, _encode_piece(value)))
    pairs.sort()
    return b"&".join([key + b"=" + value for key, value in pairs])


def _canonical_headers(parsed: ParsedAuth, quoted: bool) -> bytes:
    headers_by_name = parsed.headers or {}
    lines = []
    trim = _trim_outside_quotes if quoted else _trim_all
    for name in parsed.signed_headers:
        value = headers_by_name.get(name.encode("latin-1"))
        if value is None:
            raise _fail(f"signed header {name} is missing from the request")
        lines.append(name.encode("latin-1") + b":" + trim(value) + b"\n")
    return b"".join(lines)


def _string_to_sign(parsed: ParsedAuth, canonical_headers: bytes) -> bytes:
    presigned = parsed.mode == "presigned"
    canonical = b"\n".join(
        (
            parsed.method.upper(),
            parsed.raw_path or b"/",
            canonical_query_string(parsed.raw_query, drop_signature=presigned),
            canonical_headers,
            ";".join(parsed.signed_headers).encode("latin-1"),
            UNSIGNED_PAYLOAD.encode() if presigned else parsed.payload_hash.encode("latin-1"),
        )
    )
    return b"".join(
        (
            _STS_PREFIX,
            parsed.amz_date.encode("ascii"),
            b"\n",
            parsed.scope.encode("latin-1"),
            b"\n",
            hashlib.sha256(canonical).hexdigest().encode("ascii"),
        )
    )


# --------------------------------------------------------------------------------------------
# Verification


def _check_time(parsed: ParsedAuth, now: float) -> None:
    if parsed.mode == "presigned":
        # Presigned URLs live for X-Amz-Expires; only a date too far in the future is skew
        # (a past date is no skew: the URL was signed then and stays valid until it expires).
        if parsed.timestamp - now > MAX_SKEW_SECONDS:
            raise RequestTimeTooSkewed()
        if now > parsed.timestamp + (parsed.expires or 0):
            raise AuthAccessDenied("Request has expired", result="expired")
    elif abs(now - parsed.timestamp) > MAX_SKEW_SECONDS:
        raise RequestTimeTooSkewed()


def _signing_key(parsed: ParsedAuth, secret: str, cache: SigningKeyCache | None) -> bytes:
    if cache is None:
        return derive_signing_key(secret, parsed.credential_date, parsed.region, parsed.service)
    return cache.get(secret, parsed.access_key_id, parsed.credential_date, parsed.region, parsed.service)


def verify(
    parsed: ParsedAuth, secret: str, *, now: float | None = None, cache: SigningKeyCache | None = None
) -> VerifiedAuth:
    """Check time and signature of a header-signed or presigned request.

    Raises ``RequestTimeTooSkewed`` (skew), ``AuthAccessDenied`` (expired / auth-error) or
    ``SignatureDoesNotMatch`` (bad-sig).
    """
    if parsed.mode == "post-policy":
        raise ValueError("use verify_post_policy() for POST form credentials")
    _check_time(parsed, time.time() if now is None else now)
    key = _signing_key(parsed, secret, cache)
    expected = hmac.digest(key, _string_to_sign(parsed, _canonical_headers(parsed, False)), "sha256").hex()
    if not hmac.compare_digest(expected, parsed.signature):
        # Fallback for signers that keep whitespace inside double quotes (the older AWS wording):
        # only tried when a signed value has quotes, so the common path pays for one HMAC.
        if not _has_quoted_header(parsed):
            raise SignatureDoesNotMatch()
        sts = _string_to_sign(parsed, _canonical_headers(parsed, True))
        expected = hmac.digest(key, sts, "sha256").hex()
        if not hmac.compare_digest(expected, parsed.signature):
            raise SignatureDoesNotMatch()
    return VerifiedAuth(
        access_key_id=parsed.access_key_id,
        mode=parsed.mode,
        signing_key=key,
        signature=parsed.signature,
        amz_date=parsed.amz_date,
        scope=parsed.scope,
        payload_hash=parsed.payload_hash,
    )


def _has_quoted_header(parsed: ParsedAuth) -> bool:
    headers_by_name = parsed.headers or {}
    return any(b'"' in headers_by_name.get(name.encode("latin-1"), b"") for name in parsed.signed_headers)


def verify_post_policy(
    parsed: ParsedAuth,
    secret: str,
    policy_b64: str,
    *,
    now: float | None = None,
    cache: SigningKeyCache | None = None,
) -> VerifiedAuth:
    """Verify a POST form's policy signature with a ±15 min window around its ``x-amz-date``."""
    if abs((time.time() if now is None else now) - parsed.timestamp) > MAX_SKEW_SECONDS:
        raise RequestTimeTooSkewed()
    key = _signing_key(parsed, secret, cache)
    if not hmac.compare_digest(post_policy_signature(key, policy_b64), parsed.signature):
        raise SignatureDoesNotMatch()
    return VerifiedAuth(
        access_key_id=parsed.access_key_id,
        mode=parsed.mode,
        signing_key=key,
        signature=parsed.signature,
        amz_date=parsed.amz_date,
        scope=parsed.scope,
        payload_hash=UNSIGNED_PAYLOAD,
    )


def authenticate(
    method: bytes | str,
    raw_path: bytes,
    raw_query: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    lookup: Callable[[str], str | None],
    *,
    now: float | None = None,
    cache: SigningKeyCache | None = None,
) -> VerifiedAuth:
    """One-call form of parse → lookup → verify for a synchronous secret lookup.

    ``lookup`` returns the secret for an access key id, or None (⇒ ``InvalidAccessKeyId``).
    """
    parsed = parse_request(method, raw_path, raw_query, headers)
    secret = lookup(parsed.access_key_id)
    if secret is None:
        raise InvalidAccessKeyId()
    return verify(parsed, secret, now=now, cache=cache)
