"""The flexible checksums S3 defines for request bodies, verified as the body streams.

A client may send one ``x-amz-checksum-<algorithm>`` value for the payload, as a request header
or as an aws-chunked trailer (declared in ``x-amz-trailer``). Every algorithm S3's API model
defines is computed here over the (decoded) bytes with a maintained C implementation — ``zlib``
for CRC32, ``hashlib`` for MD5/SHA-1/SHA-256/SHA-512 and ``awscrt`` (what botocore itself uses)
for CRC32C, CRC64NVME and the XXHASH family — so a wrong value is refused with 400 ``BadDigest``
whatever the upstream checks, and trailers (which the proxy cannot hand on: the upstream gets a
plain body) are never dropped unverified.

Refused up front with 400 ``InvalidRequest``: an ``x-amz-checksum-*`` name that is no algorithm
(nothing would check it), a value that is not the base64 of a digest of the algorithm's size, and
more than one checksum per request. ``x-amz-checksum-mode``/``-type``/``-algorithm`` carry no
value to verify and pass. CompleteMultipartUpload's checksum headers describe the assembled
object, not the request body, so they are left to the upstream.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from awscrt import checksums as crt

from .s3errors import BadDigest, InvalidDigest, InvalidRequest

__all__ = [
    "ALGORITHMS",
    "CHECKSUM_PREFIX",
    "Checksum",
    "ExpectedChecksum",
    "checksum_trailer",
    "decode_value",
    "header_checksum",
]

CHECKSUM_PREFIX = b"x-amz-checksum-"
_TEXT_PREFIX = CHECKSUM_PREFIX.decode()
# x-amz-checksum-* headers that name a mode, type or algorithm rather than carry a digest
_NOT_DIGESTS = frozenset({b"x-amz-checksum-mode", b"x-amz-checksum-type", b"x-amz-checksum-algorithm"})
# Their checksum headers hold the whole object's checksum, which the request body is not.
_OBJECT_CHECKSUM_OPERATIONS = frozenset({"CompleteMultipartUpload"})
_ONE_CHECKSUM = "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."


class Checksum(Protocol):
    """An incremental digest with the hashlib interface."""

    def update(self, data: bytes | memoryview, /) -> None: ...
    def digest(self) -> bytes: ...


class _Crc32:
    """CRC32 (zlib); S3 sends the big-endian value, base64-encoded."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes | memoryview, /) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


class _Crc32c(_Crc32):
    """CRC32C (Castagnoli), awscrt's hardware-accelerated implementation."""

    __slots__ = ()

    def update(self, data: bytes | memoryview, /) -> None:
        self._value = crt.crc32c(data, self._value)  # any buffer works


class _Crc64Nvme(_Crc32):
    """CRC64NVME, awscrt; 8 bytes big-endian."""

    __slots__ = ()

    def update(self, data: bytes | memoryview, /) -> None:
        self._value = crt.crc64nvme(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(8, "big")


class _XXHash:
    """awscrt's XXHash behind the hashlib interface; its update takes immutable bytes only."""

    __slots__ = ("_state",)

    def __init__(self, state: Any) -> None:
        self._state = state

    def update(self, data: bytes | memoryview, /) -> None:
        self._state.update(data if isinstance(data, bytes) else bytes(data))

    def digest(self) -> bytes:
        result: bytes = self._state.finalize()
        return result


ALGORITHMS: dict[str, tuple[Callable[[], Checksum], int]] = {
    "crc32": (_Crc32, 4),
    "crc32c": (_Crc32c, 4),
    "crc64nvme": (_Crc64Nvme, 8),
    "md5": (hashlib.md5, 16),
    "sha1": (hashlib.sha1, 20),
    "sha256": (hashlib.sha256, 32),
    "sha512": (hashlib.sha512, 64),
    "xxhash64": (lambda: _XXHash(crt.XXHash.new_xxhash64()), 8),
    "xxhash3": (lambda: _XXHash(crt.XXHash.new_xxhash3_64()), 8),
    "xxhash128": (lambda: _XXHash(crt.XXHash.new_xxhash3_128()), 16),
}
"""Algorithm (lower-case, as in the header name) → (digest factory, digest size in bytes)."""


class ExpectedChecksum(NamedTuple):
    """One checksum the client announced; ``digest`` is empty for a trailer (its value comes last)."""

    algorithm: str
    digest: bytes

    def new(self) -> Checksum:
        return ALGORITHMS[self.algorithm][0]()

    def check(self, computed: bytes, announced: bytes | None = None) -> None:
        """Raise ``BadDigest`` unless ``computed`` equals the announced digest."""
        expected = self.digest if announced is None else announced
        if not hmac.compare_digest(computed, expected):
            raise BadDigest(
                f"The {self.algorithm.upper()} you specified did not match the calculated checksum."
            )

    def check_data(self, data: bytes) -> None:
        """Verify a body already in hand (e.g. an empty one)."""
        hasher = self.new()
        hasher.update(data)
        self.check(hasher.digest())


def _algorithm_of(name: str) -> str:
    algorithm = name.removeprefix(_TEXT_PREFIX)
    if not name.startswith(_TEXT_PREFIX) or algorithm not in ALGORITHMS:
        raise InvalidRequest(f"{name} is not a checksum algorithm S3 defines ({', '.join(ALGORITHMS)})")
    return algorithm


def decode_value(name: str, algorithm: str, value: bytes | str) -> bytes:
    """The digest a base64 checksum value carries; 400 ``InvalidRequest`` when malformed."""
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != ALGORITHMS[algorithm][1]:
        raise InvalidRequest(f"Value for {name} header is invalid.")
    return digest


def _check_content_md5(value: bytes) -> None:
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise InvalidDigest()


def header_checksum(headers_by_name: Mapping[bytes, bytes], operation: str) -> ExpectedChecksum | None:
    """The checksum header of a request whose body is its payload, validated; None when absent.

    Also refuses a malformed ``Content-MD5`` (400 ``InvalidDigest``). A well-formed one is
    forwarded and signed; every S3 upstream verifies it before it commits the object.
    """
    content_md5 = headers_by_name.get(b"content-md5")
    if content_md5 is not None:
        _check_content_md5(content_md5)
    found: ExpectedChecksum | None = None
    prefix_length = len(CHECKSUM_PREFIX)
    for raw_name in headers_by_name:  # slicing beats bytes.startswith on this per-request path
        if raw_name[:prefix_length] != CHECKSUM_PREFIX or raw_name in _NOT_DIGESTS:
            continue
        value = headers_by_name[raw_name]
        if operation in _OBJECT_CHECKSUM_OPERATIONS:
            return None
        name = raw_name.decode("latin-1")
        algorithm = _algorithm_of(name)
        if found is not None or b"," in value:
            raise InvalidRequest(_ONE_CHECKSUM)
        found = ExpectedChecksum(algorithm, decode_value(name, algorithm, value))
    return found


def checksum_trailer(declared: Iterable[str], header: ExpectedChecksum | None) -> ExpectedChecksum | None:
    """The one checksum an ``x-amz-trailer`` declares; anything else in it is refused."""
    found: ExpectedChecksum | None = None
    for name in declared:
        algorithm = _algorithm_of(name)
        if found is not None or header is not None:
            raise InvalidRequest(_ONE_CHECKSUM)
        found = ExpectedChecksum(algorithm, b"")
    return found
