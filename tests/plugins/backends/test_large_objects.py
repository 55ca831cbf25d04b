"""A 1 GiB object goes up (multipart, 16 MiB parts) and comes down through the API with the
server's memory flat. Stowage runs in this process, so the process RSS is the server's (plus a
streaming client that generates and hashes data on the fly)."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import psutil
import pytest

MiB = 1024 * 1024
SIZE = 1024 * MiB
PART = 16 * MiB
BLOCK = 256 * 1024
BUDGET = 200 * MiB


class RssSampler:
    """Samples this process's RSS from a thread every 20 ms (the event loop may be busy)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def blocks(seed: bytes, start: int, size: int):
    """Deterministic pseudo-random data, generated block by block (never all in memory)."""
    for offset in range(start, start + size, BLOCK):
        yield offset.to_bytes(8, "big") + seed[8:]


@pytest.mark.slow
async def test_one_gib_upload_and_download_keep_memory_flat(api, s3_bucket) -> None:
    seed = os.urandom(BLOCK)
    base = f"/api/backends/main/buckets/{s3_bucket}"
    sent = hashlib.md5()

    async def part_body(start: int, size: int):
        for block in blocks(seed, start, size):
            sent.update(block)
            yield block

    await api.upload("main", s3_bucket, "warm-up", b"x" * MiB)  # first-use allocations
    started = time.monotonic()
    with RssSampler() as upload_rss:
        _, created = await api.call("POST", f"{base}/multipart", params={"key": "huge.bin"})
        params = {"key": "huge.bin", "upload_id": created["upload_id"]}
        parts = []
        for number, start in enumerate(range(0, SIZE, PART), 1):
            status, part = await api.call(
                "PUT",
                f"{base}/multipart/parts/{number}",
                params=params,
                data=part_body(start, PART),
                headers={"Content-Length": str(PART)},
            )
            assert status == 200, part
            parts.append({"PartNumber": number, "ETag": part["etag"]})
        status, info = await api.call(
            "POST", f"{base}/multipart/complete", params=params, json={"parts": parts}
        )
        assert status == 200 and info["size"] == SIZE
    uploaded = time.monotonic()

    received, count = hashlib.md5(), 0
    with RssSampler() as download_rss:
        async with api.request("GET", f"{base}/object", params={"key": "huge.bin"}) as response:
            assert response.status == 200 and response.headers["Content-Length"] == str(SIZE)
            async for chunk in response.content.iter_chunked(MiB):
                received.update(chunk)
                count += len(chunk)
    downloaded = time.monotonic()

    assert count == SIZE and received.hexdigest() == sent.hexdigest()
    up = (upload_rss.peak - upload_rss.baseline) / MiB
    down = (download_rss.peak - download_rss.baseline) / MiB
    print(
        f"\n1 GiB upload {uploaded - started:.1f}s peak +{up:.1f} MiB; "
        f"download {downloaded - uploaded:.1f}s peak +{down:.1f} MiB; "
        f"baseline {upload_rss.baseline / MiB:.0f} / {download_rss.baseline / MiB:.0f} MiB"
    )
    assert upload_rss.peak < upload_rss.baseline + BUDGET
    assert download_rss.peak < download_rss.baseline + BUDGET
