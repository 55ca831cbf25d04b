"""The load driver: a small aiohttp client with its own SigV4 signer (≈0.1 ms CPU per request).

One ``Target`` is one way to reach the same upstream objects: directly, through a floor, or
through Stowage. ``run_workload`` sends a fixed number of requests at a fixed concurrency and
returns wall time, status counts and the CPU each watched server process spent meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import psutil
from yarl import URL

from stowage.plugins.s3proxy.outbound import UpstreamSigner
from stowage.plugins.s3proxy.sigv4 import derive_signing_key

EMPTY_SHA = hashlib.sha256(b"").hexdigest()


@dataclass
class Target:
    """Where requests go (``connect``) and whom they are signed for (``endpoint``, keys)."""

    name: str
    connect: str  # http://host:port the driver connects to
    endpoint: str  # http://host:port the signature is made for (Host header)
    access_key: str
    secret_key: str
    processes: list[psutil.Process] = field(default_factory=list)  # server side, CPU watched
    proxy: psutil.Process | None = None  # the process whose CPU is "the proxy's" (None = direct)

    def signer(self, secret: str | None = None) -> UpstreamSigner:
        return UpstreamSigner(self.endpoint, "us-east-1", self.access_key, secret or self.secret_key)

    def url(self, signed_url: str) -> URL:
        return URL(self.connect + signed_url[len(self.endpoint) :], encoded=True)


@dataclass
class Result:
    requests: int
    seconds: float
    statuses: Counter[int]
    cpu: dict[str, float]  # process label -> CPU seconds during the run
    bytes: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    total = times.user + times.system
    for child in process.children(recursive=True):
        with_child = child.cpu_times()
        total += with_child.user + with_child.system
    return float(total)


def presign(target: Target, bucket: str, key: str, expires: int = 3600) -> URL:
    """A presigned GET URL (query auth) for ``target``, valid for ``expires`` seconds."""
    now = time.gmtime()
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", now)
    day = amz_date[:8]
    scope = f"{day}/us-east-1/s3/aws4_request"
    host = target.endpoint.split("://", 1)[1]
    path = f"/{bucket}/{quote(key, safe='/~')}"
    params = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{target.access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    }
    query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(params.items()))
    canonical = f"GET\n{path}\n{query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD"
    sts = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key_bytes = derive_signing_key(target.secret_key, day, "us-east-1", "s3")
    signature = hmac.new(key_bytes, sts.encode(), hashlib.sha256).hexdigest()
    return URL(f"{target.connect}{path}?{query}&X-Amz-Signature={signature}", encoded=True)


def aws_chunked_put(
    target: Target, bucket: str, key: str, payload: bytes, chunk: int = 1 << 20
) -> tuple[URL, list[tuple[str, str]], bytes]:
    """A complete STREAMING-AWS4-HMAC-SHA256-PAYLOAD PutObject, built once and replayable."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    day = amz_date[:8]
    scope = f"{day}/us-east-1/s3/aws4_request"
    host = target.endpoint.split("://", 1)[1]
    path = f"/{bucket}/{quote(key, safe='/~')}"
    pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    encoded_length = sum(len(f"{len(p):x};chunk-signature=".encode()) + 64 + 2 + len(p) + 2 for p in pieces)
    headers = {
        "host": host,
        "content-encoding": "aws-chunked",
        "content-length": str(encoded_length),
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-date": amz_date,
        "x-amz-decoded-content-length": str(len(payload)),
    }
    names = sorted(headers)
    canonical = "\n".join(
        [
            "PUT",
            path,
            "",
            "".join(f"{n}:{headers[n]}\n" for n in names),
            ";".join(names),
            headers["x-amz-content-sha256"],
        ]
    )
    key_bytes = derive_signing_key(target.secret_key, day, "us-east-1", "s3")
    sts = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    previous = hmac.new(key_bytes, sts.encode(), hashlib.sha256).hexdigest()
    auth = f"AWS4-HMAC-SHA256 Credential={target.access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={previous}"
    body = bytearray()
    for piece in pieces:
        chunk_sts = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                EMPTY_SHA,
                hashlib.sha256(piece).hexdigest(),
            ]
        )
        previous = hmac.new(key_bytes, chunk_sts.encode(), hashlib.sha256).hexdigest()
        body += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece + b"\r\n"
    assert len(body) == encoded_length
    out = [(k, v) for k, v in headers.items()] + [("authorization", auth)]
    return URL(f"{target.connect}{path}", encoded=True), out, bytes(body)


RequestMaker = Callable[[int], tuple[str, URL, list[tuple[str, str]], Any]]


async def run_workload(
    target: Target, make: RequestMaker, *, requests: int, concurrency: int, read_body: bool = True
) -> Result:
    """Send ``requests`` requests (``make(i)`` builds the i-th) with ``concurrency`` workers."""
    statuses: Counter[int] = Counter()
    received = 0
    counter = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    labels = {f"{p.name()}:{p.pid}": p for p in target.processes}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal received
        for i in counter:
            method, url, headers, data = make(i)
            if callable(data):
                data = data()
            async with session.request(
                method,
                url,
                headers=headers,
                data=data,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            ) as response:
                if read_body:
                    async for piece in response.content.iter_chunked(1 << 20):
                        received += len(piece)
                statuses[response.status] += 1

    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        await worker_warmup(session, target)
        before = {label: cpu_seconds(p) for label, p in labels.items()}
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        after = {label: cpu_seconds(p) for label, p in labels.items()}
    return Result(requests, seconds, statuses, {k: after[k] - before[k] for k in labels}, received)


async def worker_warmup(session: aiohttp.ClientSession, target: Target) -> None:
    """One unsigned request to open a connection (its 403 is not counted)."""
    async with session.get(target.connect + "/") as response:
        await response.read()


async def generated(size: int, piece: int = 1 << 20) -> AsyncIterator[bytes]:
    block = os.urandom(min(piece, size)) if size else b""
    sent = 0
    while sent < size:
        take = min(piece, size - sent)
        yield block[:take]
        sent += take
