"""Checksum header parsing and plain-body verification (``checksums.py``, ``chunked.verify_body``)."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import AsyncIterator

import pytest

from stowage.plugins.s3proxy.checksums import ALGORITHMS, ExpectedChecksum, header_checksum
from stowage.plugins.s3proxy.chunked import verify_body
from stowage.plugins.s3proxy.s3errors import (
    BadDigest,
    InvalidDigest,
    InvalidRequest,
    XAmzContentSHA256Mismatch,
)
from tests.plugins.s3proxy.e2e import CHECKSUM_ALGORITHMS, checksum_b64, wrong_checksum_b64


async def pieces(data: bytes, size: int = 7000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_the_algorithms_are_botocores() -> None:
    assert sorted(ALGORITHMS) == sorted(CHECKSUM_ALGORITHMS)
    data = random.Random(1).randbytes(10_000)
    for algorithm, (factory, size) in ALGORITHMS.items():
        hasher = factory()
        hasher.update(data[:3333])
        hasher.update(memoryview(data)[3333:])  # the decoder hands over memoryview slices
        digest = hasher.digest()
        assert len(digest) == size, algorithm
        assert base64.b64encode(digest).decode() == checksum_b64(algorithm, data), algorithm


def test_header_checksum_parsing() -> None:
    value = checksum_b64("crc32c", b"abc").encode()
    assert header_checksum({b"host": b"h"}, "PutObject") is None
    found = header_checksum({b"x-amz-checksum-crc32c": value}, "PutObject")
    assert found == ExpectedChecksum("crc32c", base64.b64decode(value))
    # names that carry a mode, type or algorithm, not a digest
    not_digests = {b"x-amz-checksum-mode": b"ENABLED", b"x-amz-checksum-type": b"FULL_OBJECT"}
    assert header_checksum({**not_digests, b"x-amz-checksum-algorithm": b"CRC32C"}, "PutObject") is None
    # CompleteMultipartUpload's checksum is the whole object's: the upstream checks it
    assert header_checksum({b"x-amz-checksum-crc32c": b"AAAAAA==-3"}, "CompleteMultipartUpload") is None
    for bad in (
        {b"x-amz-checksum-crc32c": b"AAAAAA==-3"},
        {b"x-amz-checksum-crc32c": value + b"," + value},  # the header twice
        {b"x-amz-checksum-blake3": value},
        {b"x-amz-checksum-crc32c": value, b"x-amz-checksum-crc32": value},
    ):
        with pytest.raises(InvalidRequest):
            header_checksum(bad, "PutObject")
    with pytest.raises(InvalidDigest):
        header_checksum({b"content-md5": b"AAAA"}, "PutObject")
    md5 = base64.b64encode(hashlib.md5(b"x").digest())
    assert header_checksum({b"content-md5": md5}, "PutObject") is None


@pytest.mark.parametrize("algorithm", CHECKSUM_ALGORITHMS)
async def test_verify_body_withholds_the_last_read_until_the_checksum_matched(algorithm: str) -> None:
    data = random.Random(2).randbytes(50_000)
    right = ExpectedChecksum(algorithm, base64.b64decode(checksum_b64(algorithm, data)))
    assert b"".join([p async for p in verify_body(pieces(data), None, right)]) == data
    wrong = ExpectedChecksum(algorithm, base64.b64decode(wrong_checksum_b64(algorithm, data)))
    released = 0
    with pytest.raises(BadDigest):
        async for piece in verify_body(pieces(data), None, wrong):
            released += len(piece)
    assert released == 49_000  # 7 reads of 7000 went out; the final 1000 bytes never did


async def test_signed_sha256_payload_and_sha256_checksum_share_one_digest() -> None:
    data = b"z" * 20_000
    sha_hex = hashlib.sha256(data).hexdigest()
    right = ExpectedChecksum("sha256", hashlib.sha256(data).digest())
    assert b"".join([p async for p in verify_body(pieces(data), sha_hex, right)]) == data
    wrong = ExpectedChecksum("sha256", hashlib.sha256(b"other").digest())
    with pytest.raises(BadDigest):
        _ = [p async for p in verify_body(pieces(data), sha_hex, wrong)]
    with pytest.raises(XAmzContentSHA256Mismatch):
        _ = [p async for p in verify_body(pieces(data), hashlib.sha256(b"other").hexdigest(), right)]
