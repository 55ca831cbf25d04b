"""aws-chunked decoding: bodies built by hand per the AWS spec (seed signatures from botocore), fed
at random split points, plus tampering of every verified part."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import zlib
from collections.abc import AsyncIterator

import pytest
from botocore.awsrequest import AWSRequest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum, Sha256Checksum

from stowage.plugins.s3proxy import chunked, sigv4
from stowage.plugins.s3proxy.checksums import ExpectedChecksum
from stowage.plugins.s3proxy.chunked import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    AwsChunkedDecoder,
)
from stowage.plugins.s3proxy.s3errors import (
    BadDigest,
    IncompleteBody,
    InvalidRequest,
    S3Error,
    SignatureDoesNotMatch,
    XAmzContentSHA256Mismatch,
)
from tests.plugins.s3proxy.e2e import (
    CHECKSUM_ALGORITHMS,
    StreamingSigner,
    checksum_b64,
    encode_signed,
    encode_unsigned,
    signing_key,
    wrong_checksum_b64,
)

from .test_sigv4 import CREDS, SECRET, object_url, to_asgi

EMPTY = hashlib.sha256(b"").hexdigest()


# ---------------------------------------------------------------- an independent aws-chunked encoder


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def signed_request(mode: str, payload: bytes, trailer: str | None = None) -> sigv4.VerifiedAuth:
    """Sign the request head with botocore, then verify it as the proxy would."""
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(payload))}
    if trailer:
        headers["X-Amz-Trailer"] = trailer
    request = AWSRequest(method="PUT", url=object_url("bucket", "chunked.bin"), headers=headers)
    signer = type("Signer", (StreamingSigner,), {"mode": mode})(CREDS, "s3", "us-east-1")
    signer.add_auth(request)
    method, path, query, asgi_headers = to_asgi(request)
    parsed = sigv4.parse_request(method, path, query, asgi_headers)
    auth = sigv4.verify(parsed, SECRET, now=parsed.timestamp)
    assert auth.payload_hash == mode
    assert chunked.parse_decoded_length(dict(asgi_headers)[b"x-amz-decoded-content-length"]) == len(payload)
    return auth


def make_decoder(auth: sigv4.VerifiedAuth, length: int, trailers: tuple[str, ...] = ()) -> AwsChunkedDecoder:
    return AwsChunkedDecoder(
        auth.payload_hash,
        length,
        signing_key=auth.signing_key,
        seed_signature=auth.signature,
        amz_date=auth.amz_date,
        scope=auth.scope,
        declared_trailers=trailers,
    )


def encode_for(
    auth: sigv4.VerifiedAuth, payload: bytes, chunk_size: int, trailers: dict[str, str] | None = None
) -> bytes:
    key = signing_key(SECRET, auth.amz_date[:8])
    return encode_signed(
        payload,
        chunk_size,
        key=key,
        seed=auth.signature,
        amz_date=auth.amz_date,
        scope=auth.scope,
        trailers=trailers,
    )


async def split(body: bytes, rng: random.Random, max_piece: int) -> AsyncIterator[bytes]:
    pos = 0
    while pos < len(body):
        size = rng.randint(1, max_piece)
        yield body[pos : pos + size]
        pos += size


async def whole(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def decode(decoder: AwsChunkedDecoder, pieces: AsyncIterator[bytes]) -> bytes:
    return b"".join([part async for part in decoder.stream(pieces)])


async def decode_until_error(decoder: AwsChunkedDecoder, body: bytes) -> tuple[int, S3Error]:
    """Bytes released before the failure, and the failure."""
    released = 0
    with pytest.raises(S3Error) as info:
        async for part in decoder.stream(split(body, random.Random(7), 5000)):
            released += len(part)
    return released, info.value


def payload_of(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


# ---------------------------------------------------------------- the AWS documentation example


async def test_aws_documented_chunked_upload_example() -> None:
    # "Signature Calculations for the Authorization Header: Transferring Payload in Multiple Chunks":
    # 66560 bytes of 'a' in 64 KiB + 1 KiB chunks, timestamp 20130524T000000Z, us-east-1.
    key = signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524")
    seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    scope = "20130524/us-east-1/s3/aws4_request"
    body = encode_signed(b"a" * 66560, 65536, key=key, seed=seed, amz_date="20130524T000000Z", scope=scope)
    signatures = [line.split(b"=")[1] for line in body.split(b"\r\n") if b"chunk-signature" in line]
    assert signatures == [
        b"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        b"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        b"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]
    decoder = AwsChunkedDecoder(
        STREAMING_SIGNED,
        66560,
        signing_key=key,
        seed_signature=seed,
        amz_date="20130524T000000Z",
        scope=scope,
    )
    assert await decode(decoder, whole(body)) == b"a" * 66560


# ---------------------------------------------------------------- round trips at random split points


@pytest.mark.parametrize("size", [0, 1, 8191, 65536, 200_003])
async def test_signed_payload_round_trip(size: int) -> None:
    payload = payload_of(size)
    auth = signed_request(STREAMING_SIGNED, payload)
    body = encode_for(auth, payload, 65536)
    rng = random.Random(size)
    for max_piece in (1, 3, 97, 70_000) if size < 100 else (97, 4096, 70_000, len(body)):
        assert await decode(make_decoder(auth, size), split(body, rng, max_piece)) == payload


@pytest.mark.parametrize("algorithm", CHECKSUM_ALGORITHMS)
async def test_signed_trailer_round_trip(algorithm: str) -> None:
    payload = payload_of(150_000, 3)
    name = f"x-amz-checksum-{algorithm}"
    value = checksum_b64(algorithm, payload)
    auth = signed_request(STREAMING_SIGNED_TRAILER, payload, trailer=name)
    body = encode_for(auth, payload, 8192 * 3, trailers={name: value})
    rng = random.Random(11)
    for max_piece in (1 << 20, 10_000, 513):
        decoder = make_decoder(auth, len(payload), chunked.parse_trailer_names(name))
        assert await decode(decoder, split(body, rng, max_piece)) == payload
        assert decoder.trailers == {name: value}
    # the same trailer, correctly signed but for other bytes: refused before the last byte leaves
    wrong = encode_for(auth, payload, 8192 * 3, trailers={name: wrong_checksum_b64(algorithm, payload)})
    released, error = await decode_until_error(make_decoder(auth, len(payload), (name,)), wrong)
    assert isinstance(error, BadDigest)
    assert error.message == f"The {algorithm.upper()} you specified did not match the calculated checksum."
    assert released == len(payload) - 1


async def test_signed_trailer_byte_by_byte() -> None:
    payload = payload_of(300, 5)
    auth = signed_request(STREAMING_SIGNED_TRAILER, payload, trailer="x-amz-checksum-crc32")
    body = encode_for(auth, payload, 100, trailers={"x-amz-checksum-crc32": crc32_b64(payload)})
    decoder = make_decoder(auth, len(payload), ("x-amz-checksum-crc32",))
    assert await decode(decoder, split(body, random.Random(1), 1)) == payload


@pytest.mark.parametrize("chunk_size", [1, 1000, 1 << 20])
async def test_unsigned_trailer_from_botocores_encoder(chunk_size: int) -> None:
    # botocore's wrapper is quadratic for tiny chunks, so the 1-byte case uses a small payload
    payload = payload_of(123_457 if chunk_size > 1 else 3001, chunk_size)
    wrapper = AwsChunkedWrapper(
        io.BytesIO(payload),
        checksum_cls=Crc32Checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=chunk_size,
    )
    body = wrapper.read()
    rng = random.Random(chunk_size)
    for max_piece in (7, 4096, len(body)):
        decoder = AwsChunkedDecoder(
            STREAMING_UNSIGNED_TRAILER, len(payload), declared_trailers=["x-amz-checksum-crc32"]
        )
        assert await decode(decoder, split(body, rng, max_piece)) == payload
        assert decoder.trailers == {"x-amz-checksum-crc32": crc32_b64(payload)}


async def test_unsigned_trailer_sha256_and_no_trailer() -> None:
    payload = payload_of(5000)
    wrapper = AwsChunkedWrapper(io.BytesIO(payload), Sha256Checksum, "x-amz-checksum-sha256", 1024)
    decoder = AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 5000, declared_trailers=["x-amz-checksum-sha256"])
    assert await decode(decoder, whole(wrapper.read())) == payload
    body = AwsChunkedWrapper(io.BytesIO(payload), chunk_size=1024).read()
    assert body.endswith(b"0\r\n\r\n")
    assert await decode(AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 5000), whole(body)) == payload


@pytest.mark.parametrize("algorithm", CHECKSUM_ALGORITHMS)
async def test_unsigned_trailer_every_algorithm(algorithm: str) -> None:
    payload = payload_of(2000)
    name = f"x-amz-checksum-{algorithm}"
    body = encode_unsigned(payload, 512, {name: checksum_b64(algorithm, payload)})
    decoder = AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 2000, declared_trailers=[name])
    assert await decode(decoder, split(body, random.Random(3), 333)) == payload
    bad = encode_unsigned(payload, 512, {name: wrong_checksum_b64(algorithm, payload)})
    decoder = AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 2000, declared_trailers=[name])
    released, error = await decode_until_error(decoder, bad)
    assert (type(error), released) == (BadDigest, 1999)


async def test_header_checksum_on_an_aws_chunked_body() -> None:
    payload = payload_of(3000)
    body = encode_unsigned(payload, 1000, {})
    good = ExpectedChecksum("crc32c", base64.b64decode(checksum_b64("crc32c", payload)))
    decoder = AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 3000, checksum=good)
    assert await decode(decoder, whole(body)) == payload
    bad = ExpectedChecksum("crc32c", base64.b64decode(wrong_checksum_b64("crc32c", payload)))
    decoder = AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 3000, checksum=bad)
    released, error = await decode_until_error(decoder, body)
    assert (type(error), released) == (BadDigest, 2999)
    with pytest.raises(InvalidRequest, match="single"):  # a header and a trailer: two checksums
        AwsChunkedDecoder(
            STREAMING_UNSIGNED_TRAILER, 3000, checksum=good, declared_trailers=["x-amz-checksum-crc32"]
        )


@pytest.mark.parametrize(
    "declared",
    [["x-amz-checksum-crc16"], ["x-amz-meta-color"], ["x-amz-checksum-crc32", "x-amz-checksum-sha1"]],
)
def test_trailers_nothing_would_check_are_refused(declared: list[str]) -> None:
    with pytest.raises(InvalidRequest) as info:
        AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 10, declared_trailers=declared)
    assert info.value.status == 400


@pytest.mark.parametrize("value", ["", "not base64!", "AAAA", "AAAAAAAAAAA=", "AAAAAA==\x00"])
async def test_malformed_trailer_value_is_invalid_request(value: str) -> None:
    payload = b"0123456789"
    body = encode_unsigned(payload, 5, {"x-amz-checksum-crc32": value})
    decoder = AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 10, declared_trailers=["x-amz-checksum-crc32"])
    released, error = await decode_until_error(decoder, body)
    assert (type(error), released) == (InvalidRequest, 9)


async def test_undeclared_trailer_is_refused() -> None:
    payload = b"0123456789"
    body = encode_unsigned(payload, 5, {"x-amz-checksum-crc32": checksum_b64("crc32", payload)})
    _, error = await decode_until_error(AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 10), body)
    assert isinstance(error, InvalidRequest)


async def test_missing_final_empty_line_is_tolerated() -> None:
    payload = payload_of(100)
    body = encode_unsigned(payload, 64, {"x-amz-checksum-crc32": crc32_b64(payload)})
    decoder = AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 100, declared_trailers=["x-amz-checksum-crc32"])
    assert await decode(decoder, whole(body[:-2])) == payload


async def test_large_chunk_is_passed_through_without_copies() -> None:
    payload = payload_of(1 << 20)
    body = encode_unsigned(payload, 1 << 20, {})
    header = body.index(b"\r\n") + 2
    # deliver the header, then the data in two reads that line up with the data exactly
    reads = [body[:header], body[header : header + 600_000], body[header + 600_000 : header + (1 << 20)]]
    reads.append(body[header + (1 << 20) :])

    async def feed() -> AsyncIterator[bytes]:
        for read in reads:
            yield read

    out = [part async for part in AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 1 << 20).stream(feed())]
    assert out[0] is reads[1]  # whole reads of chunk data are forwarded as the same object
    assert b"".join(out) == payload


# ---------------------------------------------------------------- tampering


@pytest.fixture
def signed_setup() -> tuple[sigv4.VerifiedAuth, bytes, bytes]:
    payload = payload_of(40_000, 9)
    auth = signed_request(STREAMING_SIGNED, payload)
    return auth, payload, encode_for(auth, payload, 16384)


async def test_tampered_chunk_data(signed_setup: tuple[sigv4.VerifiedAuth, bytes, bytes]) -> None:
    auth, payload, body = signed_setup
    index = body.index(b"\r\n") + 100
    bad = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
    released, error = await decode_until_error(make_decoder(auth, len(payload)), bad)
    assert isinstance(error, SignatureDoesNotMatch)
    assert error.result == "bad-sig"
    assert released < len(payload)


async def test_tampered_chunk_signature(signed_setup: tuple[sigv4.VerifiedAuth, bytes, bytes]) -> None:
    auth, payload, body = signed_setup
    for which in range(4):  # 3 data chunks + the final one
        signatures = [i for i in range(len(body)) if body.startswith(b"chunk-signature=", i)]
        pos = signatures[which] + len("chunk-signature=")
        flipped = b"0" if body[pos : pos + 1] != b"0" else b"1"
        bad = body[:pos] + flipped + body[pos + 1 :]
        released, error = await decode_until_error(make_decoder(auth, len(payload)), bad)
        assert isinstance(error, SignatureDoesNotMatch)
        assert released < len(payload)  # the final byte is never released


async def test_wrong_seed_signature(signed_setup: tuple[sigv4.VerifiedAuth, bytes, bytes]) -> None:
    auth, payload, body = signed_setup
    decoder = AwsChunkedDecoder(
        STREAMING_SIGNED,
        len(payload),
        signing_key=auth.signing_key,
        seed_signature="0" * 64,
        amz_date=auth.amz_date,
        scope=auth.scope,
    )
    _, error = await decode_until_error(decoder, body)
    assert isinstance(error, SignatureDoesNotMatch)


async def test_reordered_chunks_fail(signed_setup: tuple[sigv4.VerifiedAuth, bytes, bytes]) -> None:
    auth, payload, body = signed_setup
    first_end = body.index(b"\r\n", body.index(b"\r\n") + 2 + 16384 - 1) + 2
    second_end = body.index(b"\r\n", body.index(b"\r\n", first_end) + 2 + 16384 - 1) + 2
    swapped = body[first_end:second_end] + body[:first_end] + body[second_end:]
    _, error = await decode_until_error(make_decoder(auth, len(payload)), swapped)
    assert isinstance(error, SignatureDoesNotMatch)


@pytest.mark.parametrize(("declared_delta", "error_type"), [(1, IncompleteBody), (-1, InvalidRequest)])
async def test_decoded_length_mismatch(
    signed_setup: tuple[sigv4.VerifiedAuth, bytes, bytes], declared_delta: int, error_type: type[S3Error]
) -> None:
    auth, payload, body = signed_setup
    released, error = await decode_until_error(make_decoder(auth, len(payload) + declared_delta), body)
    assert type(error) is error_type
    assert released < len(payload) + declared_delta


async def test_truncated_body(signed_setup: tuple[sigv4.VerifiedAuth, bytes, bytes]) -> None:
    auth, payload, body = signed_setup
    for cut in (1, 10, 80, 5000, len(body) - 20000):
        released, error = await decode_until_error(make_decoder(auth, len(payload)), body[:-cut])
        assert isinstance(error, IncompleteBody | SignatureDoesNotMatch | InvalidRequest), error
        assert released < len(payload)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"4000;chunk-signature=", b"4000 ;chunk-signature="),  # space in the size
        (b"4000;chunk-signature=", b"0x4000;chunk-signature="),
        (b"4000;chunk-signature=", b"4000;chunk-signatur="),
        (b"4000;chunk-signature=", b"4000\r\n"),
        (b"4000;chunk-signature=", b"-4000;chunk-signature="),
    ],
)
async def test_malformed_chunk_headers(
    signed_setup: tuple[sigv4.VerifiedAuth, bytes, bytes], old: bytes, new: bytes
) -> None:
    auth, payload, body = signed_setup
    assert body.startswith(old)
    _, error = await decode_until_error(make_decoder(auth, len(payload)), new + body[len(old) :])
    assert isinstance(error, InvalidRequest | SignatureDoesNotMatch)
    assert error.status in (400, 403)


async def test_missing_crlf_after_data_and_trailing_garbage() -> None:
    payload = payload_of(1000)
    good = encode_unsigned(payload, 500, {})
    bad_crlf = good.replace(b"\r\n1f4\r\n", b"\rX1f4\r\n", 1)
    assert bad_crlf != good
    for body in (bad_crlf, good + b"extra", good + b"\r\n"):
        _, error = await decode_until_error(AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 1000), body)
        assert isinstance(error, InvalidRequest)
        assert error.result == "bad-chunked-header"


async def test_oversized_chunk_and_overlong_line() -> None:
    decoder = AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 10, max_chunk_size=1024)
    _, error = await decode_until_error(decoder, b"401\r\n" + b"x" * 1025)
    assert isinstance(error, InvalidRequest)
    _, error = await decode_until_error(AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 10), b"1" * 5000)
    assert isinstance(error, InvalidRequest)


async def test_signed_trailer_tampering() -> None:
    payload = payload_of(30_000, 4)
    name = "x-amz-checksum-crc32"
    auth = signed_request(STREAMING_SIGNED_TRAILER, payload, trailer=name)
    good = encode_for(auth, payload, 10_000, trailers={name: crc32_b64(payload)})

    # a changed trailer value breaks the trailer signature
    bad_value = good.replace(crc32_b64(payload).encode(), b"AAAAAA==")
    _, error = await decode_until_error(make_decoder(auth, len(payload), (name,)), bad_value)
    assert isinstance(error, SignatureDoesNotMatch)

    # a correctly signed but wrong checksum is a digest error
    wrong = encode_for(auth, payload, 10_000, trailers={name: "AAAAAA=="})
    released, error = await decode_until_error(make_decoder(auth, len(payload), (name,)), wrong)
    assert isinstance(error, BadDigest)
    assert error.status == 400
    assert "CRC32" in error.message
    assert released == len(payload) - 1  # everything but the withheld final byte

    # a tampered or missing trailer signature
    pos = good.index(b"x-amz-trailer-signature:") + len(b"x-amz-trailer-signature:")
    flipped = good[:pos] + (b"1" if good[pos : pos + 1] == b"0" else b"0") + good[pos + 1 :]
    _, error = await decode_until_error(make_decoder(auth, len(payload), (name,)), flipped)
    assert isinstance(error, SignatureDoesNotMatch)
    missing = good[: good.index(b"x-amz-trailer-signature:")] + b"\r\n"
    _, error = await decode_until_error(make_decoder(auth, len(payload), (name,)), missing)
    assert isinstance(error, SignatureDoesNotMatch)

    # trailers that do not match x-amz-trailer
    other = encode_for(auth, payload, 10_000, trailers={"x-amz-checksum-sha1": "AAAA"})
    _, error = await decode_until_error(make_decoder(auth, len(payload), (name,)), other)
    assert isinstance(error, InvalidRequest)


async def test_unsigned_trailer_checksum_mismatch_and_data_tampering() -> None:
    payload = payload_of(50_000, 6)
    body = encode_unsigned(payload, 8192, {"x-amz-checksum-crc32": crc32_b64(payload)})
    pos = 20_000
    tampered = body[:pos] + bytes([body[pos] ^ 0x80]) + body[pos + 1 :]
    decoder = AwsChunkedDecoder(
        STREAMING_UNSIGNED_TRAILER, 50_000, declared_trailers=["x-amz-checksum-crc32"]
    )
    released, error = await decode_until_error(decoder, tampered)
    assert isinstance(error, BadDigest)
    assert released == len(payload) - 1


async def test_unsigned_trailer_rejects_trailer_signature_and_bad_lines() -> None:
    payload = b"x" * 10
    for trailer_block in (b"x-amz-trailer-signature:" + b"a" * 64 + b"\r\n", b"no-colon\r\n", b":v\r\n"):
        body = b"a\r\n" + payload + b"\r\n0\r\n" + trailer_block + b"\r\n"
        _, error = await decode_until_error(AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, 10), body)
        assert isinstance(error, InvalidRequest)


async def test_signed_payload_without_trailer_mode_rejects_trailers(
    signed_setup: tuple[sigv4.VerifiedAuth, bytes, bytes],
) -> None:
    auth, payload, body = signed_setup
    assert body.endswith(b"\r\n\r\n")
    _, error = await decode_until_error(make_decoder(auth, len(payload)), body[:-2] + b"x-amz-a:b\r\n\r\n")
    assert isinstance(error, InvalidRequest)


# ---------------------------------------------------------------- helpers and header parsing


def test_streaming_values() -> None:
    assert chunked.is_streaming(STREAMING_SIGNED)
    assert chunked.is_streaming(STREAMING_UNSIGNED_TRAILER)
    assert not chunked.is_streaming("UNSIGNED-PAYLOAD")
    assert not chunked.is_streaming(EMPTY)
    for ok in (STREAMING_SIGNED_TRAILER, "UNSIGNED-PAYLOAD", EMPTY):
        chunked.check_payload_hash(ok)
    for bad in (
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
        "STREAMING-SOMETHING",
        "abc",
        "g" * 64,
    ):
        with pytest.raises(InvalidRequest) as info:
            chunked.check_payload_hash(bad)
        assert info.value.status == 400
    with pytest.raises(InvalidRequest):
        AwsChunkedDecoder("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", 1)
    with pytest.raises(ValueError, match="not an aws-chunked"):
        AwsChunkedDecoder("UNSIGNED-PAYLOAD", 1)
    with pytest.raises(ValueError, match="signing key"):
        AwsChunkedDecoder(STREAMING_SIGNED, 1)


@pytest.mark.parametrize("value", [None, b"", b"abc", b"-1", b"1.5", "١٢", b"1" * 19])
def test_bad_decoded_length(value: bytes | str | None) -> None:
    with pytest.raises(InvalidRequest) as info:
        chunked.parse_decoded_length(value)
    assert info.value.result == "bad-chunked-header"


def test_decoded_length_and_trailer_names() -> None:
    assert chunked.parse_decoded_length(b"0") == 0
    assert chunked.parse_decoded_length("66560") == 66560
    assert chunked.parse_trailer_names(None) == ()
    assert chunked.parse_trailer_names(b"X-Amz-Checksum-CRC32, x-amz-checksum-sha1,") == (
        "x-amz-checksum-crc32",
        "x-amz-checksum-sha1",
    )


# ---------------------------------------------------------------- plain signed bodies (SIGV4-5)


async def test_verify_payload_sha256() -> None:
    payload = payload_of(100_000)
    digest = hashlib.sha256(payload).hexdigest()
    out = [
        p async for p in chunked.verify_payload_sha256(split(payload, random.Random(2), 9000), digest.upper())
    ]
    assert b"".join(out) == payload
    released = 0
    with pytest.raises(XAmzContentSHA256Mismatch) as info:
        async for part in chunked.verify_payload_sha256(split(payload, random.Random(2), 9000), EMPTY):
            released += len(part)
    assert info.value.status == 400
    assert released < len(payload)  # the last read is held until the hash matched
    assert [p async for p in chunked.verify_payload_sha256(whole(b""), EMPTY)] == []
