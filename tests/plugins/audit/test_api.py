"""``GET /api/admin/audit``: filters, totals, paging, ordering, the limit clamp and access control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from stowage.core.contracts.audit import AuditEvent, audit_repository
from tests.plugins.audit.helpers import ADMIN, AUTH_PLUGIN, ROLE_HEADER


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (action, user, backend, bucket, status, ts) — inserted in this order, so ids are 1..n.
DATASET = [
    ("auth.login", "alice", "", "", "ok", "2026-03-31T12:00:00"),
    ("share.create", "alice", "b1", "k1", "ok", "2026-04-01T10:00:00"),
    ("share.revoke", "bob", "b1", "k2", "denied", "2026-04-01T23:59:59.500000"),
    ("shares.listed", "bob", "b2", "k1", "ok", "2026-04-01T10:00:00"),
    ("object.upload", "alice", "b2", "k1", "error", "2026-04-02T00:00:00"),
    ("share_x", "carol", "b1", "k1", "ok", "2026-03-30T08:00:00"),
]


async def seed(runtime) -> None:
    events = [
        AuditEvent(action=a, user_id=u, backend=b, bucket=k, outcome=s, ts=ts(t), detail={"i": i})
        for i, (a, u, b, k, s, t) in enumerate(DATASET, start=1)
    ]
    assert await audit_repository(runtime).insert_batch(events) == list(range(1, len(events) + 1))


async def fetch(http, stowage, **params):
    async with http.get(stowage.dashboard_url + "/api/admin/audit", params=params, headers=ADMIN) as r:
        assert r.status == 200, await r.text()
        body = await r.json()
    return [e["id"] for e in body["events"]], body["total"], body["events"]


@pytest.fixture
async def api(stowage_factory):
    async with stowage_factory(plugins=[AUTH_PLUGIN]) as stowage, aiohttp.ClientSession() as http:
        await seed(stowage.runtime)
        yield http, stowage


async def test_lists_newest_first_with_ties_broken_by_id(api) -> None:
    http, stowage = api
    ids, total, events = await fetch(http, stowage)
    assert total == 6
    assert ids == [5, 3, 4, 2, 1, 6]  # ids 2 and 4 share a timestamp: higher id first
    assert events[0] == {
        "id": 5,
        "timestamp": "2026-04-02T00:00:00Z",
        "action": "object.upload",
        "user_id": "alice",
        "backend": "b2",
        "bucket": "k1",
        "status": "error",
        "detail": '{"i":5}',
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "share."}, [3, 2]),  # a prefix: not "shares.listed", not "share_x"
        ({"action": "share"}, [3, 4, 2, 6]),
        ({"action": "share_"}, [6]),  # "_" is literal, not a LIKE wildcard
        ({"action": "%"}, []),
        ({"user": "alice"}, [5, 2, 1]),
        ({"user": "ali"}, []),  # exact, not a prefix
        ({"backend": "b1"}, [3, 2, 6]),
        ({"backend": "b1", "bucket": "k1"}, [2, 6]),
        ({"status": "denied"}, [3]),
        ({"from": "2026-04-01", "to": "2026-04-01"}, [3, 4, 2]),  # date-only: the whole UTC day
        ({"from": "2026-04-01T10:00:00Z", "to": "2026-04-01T10:00:00+00:00"}, [4, 2]),  # inclusive
        ({"from": "2026-04-01T12:00:00+02:00"}, [5, 3, 4, 2]),  # offsets are honoured
        ({"to": "2026-03-31T23:59:59.999Z"}, [1, 6]),
        ({"from": "not-a-date", "to": "2026-13-45"}, [5, 3, 4, 2, 1, 6]),  # unparsable: ignored
        ({"action": "share.", "user": "bob", "from": "2026-04-01"}, [3]),
    ],
)
async def test_filters(api, params, expected) -> None:
    http, stowage = api
    ids, total, _ = await fetch(http, stowage, **params)
    assert ids == expected
    assert total == len(expected)


async def test_paging_keeps_the_total(api) -> None:
    http, stowage = api
    pages = [await fetch(http, stowage, limit="2", offset=str(offset)) for offset in (0, 2, 4, 6)]
    assert [ids for ids, _, _ in pages] == [[5, 3], [4, 2], [1, 6], []]
    assert {total for _, total, _ in pages} == {6}
    ids, _, _ = await fetch(http, stowage, limit="2", offset="-5")  # negative offset: from the start
    assert ids == [5, 3]
    ids, total, _ = await fetch(http, stowage, offset=str(10**22))  # past every row (and SQLite's ints)
    assert ids == [] and total == 6


async def test_limit_clamp(stowage_factory) -> None:
    async with stowage_factory(plugins=[AUTH_PLUGIN]) as stowage, aiohttp.ClientSession() as http:
        base = datetime(2026, 1, 1, tzinfo=UTC)
        events = [AuditEvent(action="bulk.row", ts=base + timedelta(seconds=i)) for i in range(1005)]
        await audit_repository(stowage.runtime).insert_batch(events)
        for limit, count in (("", 200), ("5000", 200), ("1001", 200), ("0", 200), ("-3", 200), ("x", 200)):
            ids, total, _ = await fetch(http, stowage, **({"limit": limit} if limit else {}))
            assert (len(ids), total) == (count, 1005), limit
        ids, _, _ = await fetch(http, stowage, limit="1000")
        assert ids == list(range(1005, 5, -1))


@pytest.mark.parametrize("path", ["/api/admin/audit", "/api/admin/audit.csv"])
async def test_admin_only(stowage_factory, path) -> None:
    async with stowage_factory(plugins=[AUTH_PLUGIN]) as stowage, aiohttp.ClientSession() as http:
        async with http.get(stowage.dashboard_url + path) as r:
            assert r.status == 401
            assert (await r.json())["error"]["code"] == "unauthorized"
        for role in ("user", "readonly"):
            async with http.get(stowage.dashboard_url + path, headers={ROLE_HEADER: role}) as r:
                assert r.status == 403
                assert (await r.json())["error"]["code"] == "forbidden"
