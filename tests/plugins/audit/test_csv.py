"""``GET /api/admin/audit.csv``: headers, quoting, the formula guard, filters, and true streaming."""

from __future__ import annotations

import csv
import gc
import io
import re
from datetime import UTC, datetime, timedelta

import aiohttp
import psutil

from stowage.core.contracts.audit import AuditEvent, audit_repository
from stowage.plugins.audit.csvexport import HEADER
from tests.plugins.audit.helpers import ADMIN, AUTH_PLUGIN

HEADER_LINE = "id,timestamp,user_id,action,backend,bucket,key,request_id,ip,user_agent,status,detail"
DAY = datetime(2026, 4, 1, tzinfo=UTC)


async def download(http, stowage, **params) -> tuple[aiohttp.ClientResponse, list[list[str]]]:
    async with http.get(stowage.dashboard_url + "/api/admin/audit.csv", params=params, headers=ADMIN) as r:
        assert r.status == 200, await r.text()
        text = await r.text(encoding="utf-8")
    return r, list(csv.reader(io.StringIO(text, newline="")))


async def test_headers_quoting_and_formula_guard(stowage_factory) -> None:
    hostile = AuditEvent(
        action="object.upload",
        user_id="@admin",
        backend="-b1",
        bucket="+SUM(A1)",
        key='a,"quoted"\nkey',
        request_id="\tTAB",
        ip="\r10.0.0.1",
        user_agent='=HYPERLINK("http://evil")',
        outcome="ok",
        detail={"note": "=1+1"},
        ts=DAY + timedelta(hours=5),
    )
    async with stowage_factory(plugins=[AUTH_PLUGIN]) as stowage, aiohttp.ClientSession() as http:
        await audit_repository(stowage.runtime).insert_batch([hostile])
        response, rows = await download(http, stowage)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="audit-\d{8}-\d{6}\.csv"', disposition)
    assert rows[0] == list(HEADER) and ",".join(HEADER) == HEADER_LINE
    assert rows[1] == [
        "1",
        "2026-04-01T05:00:00Z",
        "'@admin",
        "object.upload",
        "'-b1",
        "'+SUM(A1)",
        'a,"quoted"\nkey',  # commas, quotes and newlines survive proper quoting
        "'\tTAB",
        "'\r10.0.0.1",
        '\'=HYPERLINK("http://evil")',
        "ok",
        '{"note":"=1+1"}',  # starts with "{": not a formula
    ]


async def test_filters_date_only_bounds_and_explicit_limit(stowage_factory) -> None:
    events = [
        AuditEvent(action="share.create", ts=DAY - timedelta(seconds=1)),
        AuditEvent(action="share.create", ts=DAY),
        AuditEvent(action="share.revoke", ts=DAY + timedelta(hours=23, minutes=59, seconds=59)),
        AuditEvent(action="object.upload", ts=DAY + timedelta(hours=12)),
        AuditEvent(action="share.access", ts=DAY + timedelta(days=1)),
    ]
    async with stowage_factory(plugins=[AUTH_PLUGIN]) as stowage, aiohttp.ClientSession() as http:
        await audit_repository(stowage.runtime).insert_batch(events)
        _, rows = await download(http, stowage, **{"from": "2026-04-01", "to": "2026-04-01"})
        assert [r[0] for r in rows[1:]] == ["3", "4", "2"]
        _, rows = await download(http, stowage, action="share.", **{"from": "2026-04-01"})
        assert [r[0] for r in rows[1:]] == ["5", "3", "2"]
        _, rows = await download(http, stowage, limit="2")
        assert [r[0] for r in rows[1:]] == ["5", "3"]
        _, rows = await download(http, stowage, limit="0")  # not a cap: every row
        assert len(rows) == 6


async def test_fifty_thousand_rows_stream_in_order_with_flat_memory(stowage_factory) -> None:
    total = 50_000
    async with stowage_factory(plugins=[AUTH_PLUGIN]) as stowage, aiohttp.ClientSession() as http:
        repo = audit_repository(stowage.runtime)
        for start in range(0, total, 10_000):
            # Groups of three share a timestamp, so page boundaries fall inside ties.
            await repo.insert_batch(
                [
                    AuditEvent(
                        action="s3.proxy.getobject",
                        user_id=f"user-{i % 7}",
                        backend="b1",
                        bucket="bucket",
                        key=f"some/fairly/long/object/key/{i:08d}.bin",
                        request_id=f"req-{i:012d}",
                        ip="203.0.113.7",
                        user_agent="aws-sdk-go-v2/1.30 os/linux lang/go#1.22 md/GOOS#linux md/GOARCH#amd64",
                        detail={"auth_mode": "sigv4", "result": "ok", "access_key": "AKIAEXAMPLE"},
                        ts=DAY + timedelta(seconds=i // 3),
                    )
                    for i in range(start, start + 10_000)
                ]
            )
        process = psutil.Process()
        gc.collect()
        rss_before = rss_peak = process.memory_info().rss
        expected, seen, tail, body_bytes = total, 0, b"", 0
        async with http.get(stowage.dashboard_url + "/api/admin/audit.csv", headers=ADMIN) as response:
            assert response.status == 200
            assert response.headers.get("Content-Length") is None  # streamed, not buffered
            async for chunk in response.content.iter_chunked(64 * 1024):
                body_bytes += len(chunk)
                rss_peak = max(rss_peak, process.memory_info().rss)
                lines = (tail + chunk).split(b"\r\n")
                tail = lines.pop()
                for line in lines:
                    if seen == 0 and line.startswith(b"id,"):
                        seen = -1  # header row
                        continue
                    assert int(line.split(b",", 1)[0]) == expected  # every row, newest first
                    expected -= 1
    growth = rss_peak - rss_before
    assert tail == b"" and expected == 0
    print(f"\nCSV: {total} rows, {body_bytes / 1e6:.1f} MB body, peak RSS growth {growth / 1e6:.1f} MB")
    # Server and client share this process: buffering the rows (or the body) would show here.
    assert body_bytes > 10_000_000
    assert growth < 30_000_000
