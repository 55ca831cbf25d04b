"""Request-body decoding and verification: ``aws-chunked`` framing
(chunk signatures, trailers) and plain bodies.

The ASGI server has already removed any ``Transfer-Encoding: chunked`` framing; what arrives here is
the aws-chunked stream, split at arbitrary points. :class:`AwsChunkedDecoder` turns it back into the
object bytes for the three supported ``x-amz-content-sha256`` values::

    STREAMING-AWS4-HMAC-SHA256-PAYLOAD          <hex>;chunk-signature=<sig>\\r\\n<data>\\r\\n … 0-chunk
    STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER  same, then trailer lines + x-amz-trailer-signature
    STREAMING-UNSIGNED-PAYLOAD-TRAILER          <hex>\\r\\n<data>\\r\\n … 0\\r\\n, then trailer lines

Design decisions:

* Data is streamed through as it arrives (no chunk is buffered), but the **last decoded byte is
  withheld** until the terminating chunk, its signature, the trailers, the trailer signature, the
  checksum and the decoded length have all been verified. The forwarder sends the decoded body
  upstream with ``Content-Length = x-amz-decoded-content-length``, so the upstream can never
  complete a request whose verification later fails: the decoder raises instead of yielding the
  final byte, and the forwarder aborts the upstream request.
* The payload checksum (``x-amz-checksum-*``, as a header or as the one trailer ``x-amz-trailer``
  declares) is computed over the decoded bytes and compared before the final byte leaves
  (``checksums.py`` owns the algorithms). A trailer checksum cannot be handed to the upstream
  (it gets a plain body with Content-Length), so it is verified here or the request fails.
* ECDSA (SigV4a) streaming payloads are refused with 400 ``InvalidRequest``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterable, AsyncIterator, Iterable

from .checksums import ExpectedChecksum, checksum_trailer, decode_value
from .s3errors import (
    IncompleteBody,
    InvalidRequest,
    SignatureDoesNotMatch,
    XAmzContentSHA256Mismatch,
)

__all__ = [
    "MAX_CHUNK_SIZE",
    "STREAMING_PAYLOADS",
    "STREAMING_SIGNED",
    "STREAMING_SIGNED_TRAILER",
    "STREAMING_UNSIGNED_TRAILER",
    "AwsChunkedDecoder",
    "check_payload_hash",
    "is_streaming",
    "parse_decoded_length",
    "parse_trailer_names",
    "verify_body",
    "verify_payload_sha256",
]

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_PAYLOADS = frozenset({STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER})
MAX_CHUNK_SIZE = 16 * 1024 * 1024
"""Largest chunk accepted. Nothing is buffered per chunk; this only bounds a hostile header."""

_MAX_LINE = 4096  # a chunk header is ~90 bytes; trailer lines are short too
_MAX_TRAILERS = 16
_EMPTY_SHA256_HEX = hashlib.sha256(b"").hexdigest().encode()
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_SIG_EXTENSION = b"chunk-signature="
_TRAILER_SIGNATURE = "x-amz-trailer-signature"


def is_streaming(payload_hash: str) -> bool:
    """True when ``x-amz-content-sha256`` announces a supported aws-chunked body."""
    return payload_hash in STREAMING_PAYLOADS


def check_payload_hash(payload_hash: str) -> None:
    """Refuse payload-hash values we cannot honour: ECDSA/unknown STREAMING-* and malformed hashes."""
    if payload_hash in STREAMING_PAYLOADS or payload_hash == "UNSIGNED-PAYLOAD":
        return
    if payload_hash.startswith("STREAMING-"):
        raise InvalidRequest(f"x-amz-content-sha256 {payload_hash} is not supported", result="bad-request")
    if len(payload_hash) != 64 or not _HEX_DIGITS.issuperset(payload_hash.encode("latin-1")):
        raise InvalidRequest("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-… or a SHA-256 hex")


def parse_decoded_length(value: bytes | str | None) -> int:
    """The numeric ``x-amz-decoded-content-length`` an aws-chunked body requires."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    if text is None or not text.isascii() or not text.strip().isdigit() or len(text.strip()) > 18:
        raise InvalidRequest("missing or bad X-Amz-Decoded-Content-Length", result="bad-chunked-header")
    return int(text)


def parse_trailer_names(value: bytes | str | None) -> tuple[str, ...]:
    """The lower-cased names an ``x-amz-trailer`` header declares (comma-separated)."""
    if value is None:
        return ()
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return tuple(name.strip().lower() for name in text.split(",") if name.strip())


def _framing(message: str) -> InvalidRequest:
    return InvalidRequest(message, result="bad-chunked-header")


# Parser states of AwsChunkedDecoder.stream
_HEADER, _DATA, _DATA_CRLF, _TRAILER, _DONE = range(5)


class AwsChunkedDecoder:
    """Decode one aws-chunked request body; single use.

    ``checksum`` is the payload checksum announced in a request header, if any; ``x-amz-trailer``
    may declare one checksum trailer instead (anything else is refused on construction). After
    :meth:`stream` is exhausted, :attr:`trailers` holds the received trailer headers (without the
    trailer signature).
    """

    def __init__(
        self,
        payload_hash: str,
        decoded_length: int,
        *,
        signing_key: bytes = b"",
        seed_signature: str = "",
        amz_date: str = "",
        scope: str = "",
        declared_trailers: Iterable[str] = (),
        checksum: ExpectedChecksum | None = None,
        max_chunk_size: int = MAX_CHUNK_SIZE,
    ) -> None:
        if payload_hash not in STREAMING_PAYLOADS:
            check_payload_hash(payload_hash)
            raise ValueError(f"{payload_hash!r} is not an aws-chunked payload")
        self._signed = payload_hash != STREAMING_UNSIGNED_TRAILER
        self._trailer_mode = payload_hash != STREAMING_SIGNED
        if self._signed and not (signing_key and seed_signature and amz_date and scope):
            raise ValueError("signed aws-chunked bodies need the signing key, seed signature, date and scope")
        self._decoded_length = decoded_length
        self._key = signing_key
        self._previous = seed_signature.lower()
        self._chunk_prefix = f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n".encode()
        self._trailer_prefix = f"AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n".encode()
        self._declared = tuple(declared_trailers)
        self._max_chunk = max_chunk_size
        self._trailer_checksum = checksum_trailer(self._declared, checksum)
        self._checksum = self._trailer_checksum or checksum
        self._hasher = self._checksum.new() if self._checksum is not None else None
        self._trailer_signature: str | None = None
        self.trailers: dict[str, str] = {}

    async def stream(self, body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """Yield the decoded object bytes; raise an :class:`~.s3errors.S3Error` on any failure."""
        hasher = self._hasher
        signed = self._signed
        remaining = self._decoded_length  # decoded bytes still allowed
        held = b""  # the withheld final byte
        state = _HEADER
        line = bytearray()
        left = 0  # data bytes left in the current chunk
        crlf = 0  # bytes of the CRLF after the data matched so far
        announced = ""  # signature announced in the current chunk header
        chunk_hash = hashlib.sha256()
        async for piece in body:
            size = len(piece)
            pos = 0
            view = memoryview(piece)
            while pos < size:
                if state == _DATA:
                    take = min(left, size - pos)
                    if take > remaining:
                        raise _framing("body is longer than X-Amz-Decoded-Content-Length")
                    part = view[pos : pos + take]
                    if signed:
                        chunk_hash.update(part)
                    if hasher is not None:
                        hasher.update(part)
                    # the whole read is chunk data for large chunks: pass it on without a copy
                    out = piece if take == size else piece[pos : pos + take]
                    pos += take
                    left -= take
                    remaining -= take
                    if remaining == 0:
                        held, out = out[-1:], out[:-1]
                    if out:
                        yield out
                    if left == 0:
                        state, crlf = _DATA_CRLF, 0
                elif state == _DATA_CRLF:
                    while crlf < 2 and pos < size:
                        if piece[pos] != b"\r\n"[crlf]:
                            raise _framing("chunk data is not followed by CRLF")
                        crlf += 1
                        pos += 1
                    if crlf == 2:
                        if signed:
                            self._check_chunk(announced, chunk_hash.hexdigest().encode())
                        state = _HEADER
                elif state == _DONE:
                    raise _framing("data after the final chunk")
                else:
                    newline = piece.find(b"\n", pos)
                    end = size if newline < 0 else newline + 1
                    line += view[pos:end]
                    pos = end
                    if len(line) > _MAX_LINE:
                        raise _framing("chunk header or trailer line too long")
                    if newline < 0:
                        continue
                    if line[-2:] != b"\r\n":
                        raise _framing("chunk line is not terminated by CRLF")
                    text = bytes(line[:-2])
                    line.clear()
                    if state == _HEADER:
                        left, announced = self._parse_header(text)
                        if left:
                            state = _DATA
                            chunk_hash = hashlib.sha256()
                        else:
                            if signed:
                                self._check_chunk(announced, _EMPTY_SHA256_HEX)
                            state = _TRAILER
                    elif text:
                        self._add_trailer(text)
                    else:
                        self._finish(remaining)
                        state = _DONE
        if state != _DONE:
            # Tolerate a stream that stops where only the final empty line is missing.
            if state != _TRAILER or line:
                raise IncompleteBody("the aws-chunked body ended before its final chunk")
            self._finish(remaining)
        if held:
            yield held

    def _parse_header(self, text: bytes) -> tuple[int, str]:
        size_hex, sep, extension = text.partition(b";")
        if not size_hex or len(size_hex) > 16 or not _HEX_DIGITS.issuperset(size_hex):
            raise _framing("bad chunk size")
        size = int(size_hex, 16)
        if size > self._max_chunk:
            raise _framing(f"chunk of {size} bytes exceeds the {self._max_chunk}-byte limit")
        if not self._signed:
            return size, ""
        if not sep or not extension.startswith(_SIG_EXTENSION):
            raise SignatureDoesNotMatch("chunk has no chunk-signature")
        return size, extension[len(_SIG_EXTENSION) :].decode("latin-1").lower()

    def _check_chunk(self, announced: str, chunk_sha256_hex: bytes) -> None:
        string_to_sign = b"".join(
            (self._chunk_prefix, self._previous.encode(), b"\n", _EMPTY_SHA256_HEX, b"\n", chunk_sha256_hex)
        )
        expected = hmac.digest(self._key, string_to_sign, "sha256").hex()
        if not hmac.compare_digest(expected, announced):
            raise SignatureDoesNotMatch("chunk signature does not match")
        self._previous = expected

    def _add_trailer(self, text: bytes) -> None:
        name_b, sep, value_b = text.partition(b":")
        name = name_b.decode("latin-1").strip().lower()
        if not sep or not name or not self._trailer_mode:
            raise _framing("malformed trailer")
        value = value_b.decode("latin-1").strip()
        if name == _TRAILER_SIGNATURE:
            if not self._signed or self._trailer_signature is not None:
                raise _framing("unexpected x-amz-trailer-signature")
            self._trailer_signature = value.lower()
            return
        if (
            name in self.trailers
            or len(self.trailers) >= _MAX_TRAILERS
            or self._trailer_signature is not None
        ):
            raise _framing("unexpected trailer")
        self.trailers[name] = value

    def _finish(self, remaining: int) -> None:
        """End-of-body checks, in order: length, declared trailers, trailer signature, checksums."""
        if remaining:
            raise IncompleteBody("body is shorter than X-Amz-Decoded-Content-Length")
        if set(self._declared) != set(self.trailers):
            raise _framing("trailers do not match x-amz-trailer")
        if self._signed and self._trailer_mode:
            self._check_trailer_signature()
        if self._checksum is not None and self._hasher is not None:
            announced = None
            if self._trailer_checksum is not None:
                name = self._declared[0]
                announced = decode_value(name, self._trailer_checksum.algorithm, self.trailers[name])
            self._checksum.check(self._hasher.digest(), announced)

    def _check_trailer_signature(self) -> None:
        if self._trailer_signature is None:
            raise SignatureDoesNotMatch("missing x-amz-trailer-signature")
        canonical = "".join(f"{name}:{self.trailers[name]}\n" for name in sorted(self.trailers))
        string_to_sign = b"".join(
            (
                self._trailer_prefix,
                self._previous.encode(),
                b"\n",
                hashlib.sha256(canonical.encode("latin-1")).hexdigest().encode(),
            )
        )
        expected = hmac.digest(self._key, string_to_sign, "sha256").hex()
        if not hmac.compare_digest(expected, self._trailer_signature):
            raise SignatureDoesNotMatch("trailer signature does not match")


def verify_payload_sha256(body: AsyncIterable[bytes], expected_hex: str) -> AsyncIterator[bytes]:
    """:func:`verify_body` for a signed SHA-256 payload alone."""
    return verify_body(body, expected_hex, None)


async def verify_body(
    body: AsyncIterable[bytes], payload_sha256_hex: str | None, checksum: ExpectedChecksum | None
) -> AsyncIterator[bytes]:
    """Pass a plain body through while hashing it; raise on a mismatch before the last read leaves.

    ``payload_sha256_hex`` is a signed ``x-amz-content-sha256`` (``XAmzContentSHA256Mismatch``),
    ``checksum`` an ``x-amz-checksum-*`` header (``BadDigest``). Each read is yielded one read
    late, so the final bytes only leave after both matched and an upstream request with a fixed
    Content-Length cannot complete with a forged or corrupted body.
    """
    payload_digest = hashlib.sha256() if payload_sha256_hex else None
    # x-amz-checksum-sha256 over the same bytes is the same digest: compute it once
    shared = checksum is not None and payload_digest is not None and checksum.algorithm == "sha256"
    hasher = checksum.new() if checksum is not None and not shared else None
    pending: bytes | None = None
    async for piece in body:
        if payload_digest is not None:
            payload_digest.update(piece)
        if hasher is not None:
            hasher.update(piece)
        if pending:
            yield pending
        pending = piece
    if (
        payload_digest is not None
        and payload_sha256_hex is not None
        and not hmac.compare_digest(payload_digest.hexdigest(), payload_sha256_hex.lower())
    ):
        raise XAmzContentSHA256Mismatch()
    if checksum is not None:
        source = hasher if hasher is not None else payload_digest
        assert source is not None  # one of the two exists whenever a checksum was announced
        checksum.check(source.digest())
    if pending:
        yield pending
