"""``audit.durability: sync``: a real ``stowage serve`` process is SIGKILLed right
after a burst of acknowledged proxy and dashboard requests; every acknowledged request's audit row
is in the database the next start opens."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from tests.plugins.s3proxy.e2e_process import ServedStowage, served_stowage
from tests.plugins.s3proxy.proxyenv import upstream_client

PROXY_REQUESTS = 240
LOGIN_FAILURES = 12
CONCURRENCY = 24


async def _proxy_request(
    session: aiohttp.ClientSession, served: ServedStowage, bucket: str, index: int
) -> str | None:
    """One PUT (even) or GET (odd) through the proxy; its request id once the response is complete."""
    signer = served.signer()
    key = f"burst/{index // 2}"
    body = f"object {index // 2}".encode()
    if index % 2 == 0:
        outbound = signer.build("PUT", bucket, key, b"", [], content_length=len(body))
        request = session.put(outbound.url, headers=dict(outbound.headers), data=body)
    else:
        outbound = signer.build("GET", bucket, key, b"", [])
        request = session.get(outbound.url, headers=dict(outbound.headers))
    async with request as response:
        await response.read()  # acknowledged: the whole response arrived
        return response.headers.get("x-amz-request-id")  # any status: errors are audited too


async def _failed_login(session: aiohttp.ClientSession, served: ServedStowage, index: int) -> str | None:
    url = served.dashboard + "/auth/login/local"
    async with session.post(url, json={"username": f"nobody-{index}", "password": ""}) as response:
        await response.read()
        assert response.status == 401
        return response.headers.get("X-Request-Id")


async def _burst(served: ServedStowage, bucket: str) -> list[str]:
    limit = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def bounded(make: Any) -> str | None:
            async with limit:
                result: str | None = await make()
                return result

        jobs = [
            bounded(lambda i=i: _proxy_request(session, served, bucket, i)) for i in range(PROXY_REQUESTS)
        ]
        jobs += [bounded(lambda i=i: _failed_login(session, served, i)) for i in range(LOGIN_FAILURES)]
        ids = await asyncio.gather(*jobs)
    return [request_id for request_id in ids if request_id]


def _audited_request_ids(database: Path) -> set[str]:
    with sqlite3.connect(database) as db:  # what the next start opens (WAL recovery included)
        return {row[0] for row in db.execute("SELECT request_id FROM audit_events")}


async def test_sync_durability_keeps_every_acknowledged_event_across_sigkill(
    tmp_path: Path, rclone_upstream
) -> None:
    bucket = f"durable-{uuid.uuid4().hex[:10]}"
    await asyncio.to_thread(upstream_client(rclone_upstream).create_bucket, Bucket=bucket)
    settings = {
        # every successful GET is audited too (the default samples them all out)
        "audit": {"durability": "sync", "sampling": {"proxy_success_read_rate": 1.0}},
        "ratelimit": {"login_attempts": 1000},
    }
    async with served_stowage(tmp_path, rclone_upstream, [bucket], settings) as served:
        acknowledged = await _burst(served, bucket)
        os.kill(served.pid, signal.SIGKILL)  # no shutdown hook runs: nothing flushes the queue
    assert len(acknowledged) == PROXY_REQUESTS + LOGIN_FAILURES
    missing = set(acknowledged) - _audited_request_ids(tmp_path / "stowage.db")
    assert not missing, f"{len(missing)} acknowledged requests have no audit row"
