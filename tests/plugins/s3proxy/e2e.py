"""Helpers shared by the proxy's end-to-end tests: aws-cli runs, hand-built aws-chunked requests,
direct upstream reads, hashing and metric look-ups."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpchecksum import (
    Crc32Checksum,
    CrtCrc32cChecksum,
    CrtCrc64NvmeChecksum,
    CrtXxhash3Checksum,
    CrtXxhash64Checksum,
    CrtXxhash128Checksum,
)

from stowage.plugins.s3proxy.chunked import STREAMING_SIGNED

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AWS = str(Path(sys.executable).parent / "aws")
MiB = 1024 * 1024


# ---------------------------------------------------------------- aws-cli as a subprocess


async def aws_cli(endpoint: str, access_key: str, secret_key: str, *args: str) -> tuple[int, str, str]:
    """Run ``aws --endpoint-url <endpoint> <args>`` hermetically; (returncode, stdout, stderr)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") or key == "AWS_CA_BUNDLE"
    }
    env.update(
        AWS_ACCESS_KEY_ID=access_key,
        AWS_SECRET_ACCESS_KEY=secret_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_MAX_ATTEMPTS="1",
    )
    proc = await asyncio.create_subprocess_exec(
        AWS,
        "--endpoint-url",
        endpoint,
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


# ---------------------------------------------------------------- data and hashes


def pattern(size: int, seed: int = 7) -> bytes:
    """Deterministic, non-repeating-looking bytes (cheap to build, hard to confuse)."""
    block = hashlib.sha512(seed.to_bytes(8, "big")).digest() * 2048  # 128 KiB
    return (block * (size // len(block) + 1))[:size]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


CHECKSUM_ALGORITHMS = (
    "crc32", "crc32c", "crc64nvme", "md5", "sha1", "sha256", "sha512", "xxhash64", "xxhash3", "xxhash128",
)  # fmt: skip
"""Every ``ChecksumAlgorithm`` in botocore's S3 model (lower-case, as in ``x-amz-checksum-<name>``)."""
_BOTOCORE_CHECKSUMS = {
    "crc32": Crc32Checksum,
    "crc32c": CrtCrc32cChecksum,
    "crc64nvme": CrtCrc64NvmeChecksum,
    "xxhash64": CrtXxhash64Checksum,
    "xxhash3": CrtXxhash3Checksum,
    "xxhash128": CrtXxhash128Checksum,
}


def checksum_b64(algorithm: str, data: bytes) -> str:
    """``x-amz-checksum-<algorithm>`` of ``data`` as botocore computes it (the independent oracle)."""
    if algorithm in _BOTOCORE_CHECKSUMS:
        checksum = _BOTOCORE_CHECKSUMS[algorithm]()
        checksum.update(data)
        digest: bytes = checksum.digest()
    else:
        digest = hashlib.new(algorithm, data).digest()
    return base64.b64encode(digest).decode()


def wrong_checksum_b64(algorithm: str, data: bytes) -> str:
    """A well-formed value of the right size that is not ``data``'s checksum."""
    return checksum_b64(algorithm, data + b"!")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for piece in iter(lambda: fh.read(MiB), b""):
            digest.update(piece)
    return digest.hexdigest()


async def upstream_sha256(direct: Any, bucket: str, key: str) -> str:
    """Hash of an object read straight from the upstream (never through the proxy)."""

    def read() -> str:
        body = direct.get_object(Bucket=bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        for piece in iter(lambda: body.read(MiB), b""):
            digest.update(piece)
        return digest.hexdigest()

    return await asyncio.to_thread(read)


async def read_body(response: Any) -> bytes:
    """A boto3 streaming body, read in a worker thread: the proxy shares this event loop."""
    data: bytes = await asyncio.to_thread(response["Body"].read)
    return data


async def upstream_keys(direct: Any, bucket: str) -> list[str]:
    listed = await asyncio.to_thread(direct.list_objects_v2, Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", ())]


def metric(runtime: Any, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels`` (0 when none)."""
    total = 0.0
    for family in runtime.registry.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


# ---------------------------------------------------------------- aws-chunked requests built by hand


def _hmac_hex(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def signing_key(secret: str, day: str, region: str = "us-east-1") -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class StreamingSigner(S3SigV4Auth):  # type: ignore[misc]
    mode = STREAMING_SIGNED

    def payload(self, request: AWSRequest) -> str:
        return self.mode


def sign_head(
    method: str, url: str, headers: dict[str, str], access_key: str, secret: str, payload_mode: str
) -> dict[str, str]:
    """Headers signed by botocore (the independent oracle) with ``payload_mode`` as payload hash."""
    request = AWSRequest(method=method, url=url, headers=headers)
    signer = type("Signer", (StreamingSigner,), {"mode": payload_mode})(
        Credentials(access_key, secret), "s3", "us-east-1"
    )
    signer.add_auth(request)
    return dict(request.headers.items())


def seed_of(headers: dict[str, str]) -> tuple[str, str, str]:
    """(seed signature, amz date, scope) from signed headers."""
    auth = headers["Authorization"]
    seed = auth.rpartition("Signature=")[2]
    amz_date = headers["X-Amz-Date"]
    scope = auth.partition("Credential=")[2].partition(",")[0].split("/", 1)[1]
    return seed, amz_date, scope


def encode_signed(
    payload: bytes,
    chunk_size: int,
    *,
    key: bytes,
    seed: str,
    amz_date: str,
    scope: str,
    trailers: dict[str, str] | None = None,
) -> bytes:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] framing, chunk signatures chained from ``seed``."""
    previous = seed
    out = bytearray()
    pieces = [payload[i : i + chunk_size] for i in range(0, len(payload), chunk_size)] + [b""]
    for piece in pieces:
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(piece).hexdigest(),
            ]
        )
        previous = _hmac_hex(key, string_to_sign)
        out += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece
        if piece or trailers is None:
            out += b"\r\n"
    if trailers is not None:
        canonical = "".join(f"{name}:{value}\n" for name, value in sorted(trailers.items()))
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-TRAILER",
                amz_date,
                scope,
                previous,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        for name, value in trailers.items():
            out += f"{name}:{value}\r\n".encode()
        out += f"x-amz-trailer-signature:{_hmac_hex(key, string_to_sign)}\r\n\r\n".encode()
    return bytes(out)


def encode_unsigned(payload: bytes, chunk_size: int, trailers: dict[str, str]) -> bytes:
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER framing."""
    out = bytearray()
    for i in range(0, len(payload), chunk_size):
        piece = payload[i : i + chunk_size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    out += b"0\r\n" + b"".join(f"{k}:{v}\r\n".encode() for k, v in trailers.items()) + b"\r\n"
    return bytes(out)


async def pieces(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """An async body: makes aiohttp send ``Transfer-Encoding: chunked`` (no Content-Length)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]
        await asyncio.sleep(0)


async def send_raw(
    method: str, url: str, headers: dict[str, str], body: bytes, *, transfer_chunked: bool
) -> tuple[int, dict[str, str], bytes]:
    """Send exactly these headers and body; TE-chunked from an async generator when asked."""
    sent = {k: v for k, v in headers.items() if k.lower() != "content-length"}
    data: Any
    if transfer_chunked:
        data = pieces(body)
    else:
        data = body
        sent["Content-Length"] = str(len(body))
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.request(
            method,
            url,
            headers=sent,
            data=data,
            skip_auto_headers=("Content-Type", "User-Agent", "Accept", "Accept-Encoding"),
        ) as response,
    ):
        return response.status, dict(response.headers), await response.read()


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
