"""A 1 GiB share downloads through ``/raw`` in flat memory (SHARE-8 streaming)."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time

import psutil
import pytest

from tests.plugins.shares.support import share_env

GIB = 1024**3
PART = 16 * 1024**2
MIB = 1024**2


def _upload_gib(s3, bucket: str, key: str) -> str:
    """Multipart-upload 1 GiB generated part by part; return its sha256."""
    seed = hashlib.sha256(b"stowage").digest() * (MIB // 32)  # 1 MiB pattern
    digest = hashlib.sha256()
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/octet-stream")
    parts = []
    for number in range(1, GIB // PART + 1):
        shift = number * 7919 % MIB
        block = (seed[shift:] + seed[:shift]) * (PART // MIB)
        digest.update(block)
        etag = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=block
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
        del block
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    return digest.hexdigest()


class RssSampler(threading.Thread):
    """Samples this process's RSS every 20 ms until stopped; ``peak`` is the highest seen."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process()
        self.baseline = self.peak = self.process.memory_info().rss
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_one_gib_share_streams_in_flat_memory_and_ranges_work(
    stowage_factory, rclone_upstream, s3_bucket, monkeypatch
) -> None:
    async with share_env(stowage_factory, rclone_upstream, s3_bucket, monkeypatch) as env:
        expected = await asyncio.to_thread(_upload_gib, env.s3, env.bucket, "big/one-gib.bin")
        share = await env.create(key="big/one-gib.bin")
        url = f"{env.base}/s/{share['code']}/raw"
        sampler = RssSampler()
        sampler.start()
        digest, received, started = hashlib.sha256(), 0, time.perf_counter()
        try:
            async with env.http.get(url) as response:
                assert response.status == 200
                assert response.headers["Content-Length"] == str(GIB)
                async for chunk in response.content.iter_chunked(256 * 1024):
                    digest.update(chunk)
                    received += len(chunk)
        finally:
            sampler.stopped.set()
            sampler.join()
        elapsed = time.perf_counter() - started
        growth = (sampler.peak - sampler.baseline) / MIB
        print(f"1 GiB via /raw: {elapsed:.1f} s, RSS peak growth {growth:.1f} MiB")
        assert received == GIB and digest.hexdigest() == expected
        assert growth < 100, f"RSS grew by {growth:.1f} MiB while streaming"

        start = GIB - 5 * MIB - 123
        async with env.http.get(url, headers={"Range": f"bytes={start}-{start + 999}"}) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes {start}-{start + 999}/{GIB}"
            ranged = await response.read()
        whole = await asyncio.to_thread(
            lambda: env.s3.get_object(
                Bucket=env.bucket, Key="big/one-gib.bin", Range=f"bytes={start}-{start + 999}"
            )["Body"].read()
        )
        assert ranged == whole and len(ranged) == 1000
