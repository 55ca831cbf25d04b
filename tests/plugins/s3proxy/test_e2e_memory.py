"""A 2 GiB PUT and GET through a separate ``stowage serve`` process keep its resident memory under
150 MiB: bodies stream with back-pressure, nothing is buffered whole."""

from __future__ import annotations

import asyncio
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from tests.plugins.s3proxy.e2e import MiB, pattern
from tests.plugins.s3proxy.e2e_process import served_stowage
from tests.plugins.s3proxy.proxyenv import upstream_client

SIZE = 2 * 1024 * MiB
RSS_LIMIT = 150 * MiB
_BLOCK = pattern(MiB, seed=42)


def _block(index: int) -> bytes:
    # every MiB differs in its first bytes, so a reordered or repeated block changes the CRC
    return index.to_bytes(8, "big") + _BLOCK[8:]


async def _generate(crc: list[int]) -> AsyncIterator[bytes]:
    for index in range(SIZE // MiB):
        block = _block(index)
        crc[0] = zlib.crc32(block, crc[0])
        yield block


async def _sample_rss(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    process = psutil.Process(pid)
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except TimeoutError:
            pass


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_2_gib_put_and_get_keep_rss_under_150_mib(rclone_upstream, tmp_path: Path) -> None:
    started = time.monotonic()
    bucket = f"mem-{uuid.uuid4().hex[:12]}"
    direct = upstream_client(rclone_upstream)
    await asyncio.to_thread(direct.create_bucket, Bucket=bucket)
    async with served_stowage(tmp_path, rclone_upstream, [bucket]) as served:
        signer = served.signer()
        peak = [psutil.Process(served.pid).memory_info().rss]
        stop = asyncio.Event()
        sampler = asyncio.ensure_future(_sample_rss(served.pid, peak, stop))
        timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                sent_crc = [0]
                put = signer.build("PUT", bucket, "two-gib.bin", b"", [], content_length=SIZE)
                async with session.put(
                    served.endpoint + f"/{bucket}/two-gib.bin",
                    headers=dict(put.headers),
                    data=_generate(sent_crc),
                ) as response:
                    assert response.status == 200, await response.text()
                after_put = peak[0]

                get = signer.build("GET", bucket, "two-gib.bin", b"", [])
                received, got_crc = 0, 0
                async with session.get(
                    served.endpoint + f"/{bucket}/two-gib.bin", headers=dict(get.headers)
                ) as response:
                    assert response.status == 200
                    async for piece in response.content.iter_chunked(MiB):
                        received += len(piece)
                        got_crc = zlib.crc32(piece, got_crc)
        finally:
            stop.set()
            await sampler
        head = await asyncio.to_thread(direct.head_object, Bucket=bucket, Key="two-gib.bin")
        await asyncio.to_thread(direct.delete_object, Bucket=bucket, Key="two-gib.bin")
    assert head["ContentLength"] == SIZE
    assert (received, got_crc) == (SIZE, sent_crc[0])
    assert after_put < RSS_LIMIT, f"PUT peak RSS {after_put / MiB:.1f} MiB"
    assert peak[0] < RSS_LIMIT, f"GET peak RSS {peak[0] / MiB:.1f} MiB"
    print(f"peak RSS {peak[0] / MiB:.1f} MiB; {time.monotonic() - started:.1f} s")
