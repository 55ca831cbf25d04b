"""A client's ``X-Request-Id`` is echoed and audited only when it is a plain id; anything else is
replaced by a fresh id before it reaches a header or the audit log."""

from __future__ import annotations

import re

import aiohttp
import pytest

from stowage.core.contracts.audit import AUDIT
from stowage.core.formats.ids import accept_request_id

FRESH = re.compile(r"[0-9a-f]{16}")


@pytest.mark.parametrize(
    "inbound",
    ["<script>alert(1)</script>", "a b", "x" * 129, "ünïcode", 'quo"te', "semi;colon", "=cmd|' /C calc'!A0"],
)
async def test_unsafe_request_ids_are_replaced_in_the_response_and_the_audit_log(
    stowage_factory, inbound
) -> None:
    async with stowage_factory() as stowage, aiohttp.ClientSession() as http:
        async with http.post(
            stowage.dashboard_url + "/auth/login/local",
            json={"username": "nobody", "password": "wrong-password"},
            headers={"X-Request-Id": inbound},
        ) as response:
            assert response.status == 401
            echoed = response.headers["X-Request-Id"]
        await stowage.runtime.get(AUDIT).flush()
        rows = await stowage.runtime.store.db.fetchall(
            "SELECT request_id FROM audit_events WHERE action = 'auth.login_failed'"
        )
    assert FRESH.fullmatch(echoed) and echoed != inbound
    assert [row["request_id"] for row in rows] == [echoed]


async def test_plain_request_ids_are_kept(stowage_factory) -> None:
    inbound = "0f8fad5b-d9cb-469f-a165-70867728950e"
    async with stowage_factory() as stowage, aiohttp.ClientSession() as http:
        async with http.post(
            stowage.dashboard_url + "/auth/login/local",
            json={"username": "nobody", "password": "wrong-password"},
            headers={"X-Request-Id": inbound},
        ) as response:
            assert response.headers["X-Request-Id"] == inbound
        await stowage.runtime.get(AUDIT).flush()
        rows = await stowage.runtime.store.db.fetchall("SELECT request_id FROM audit_events")
    assert [row["request_id"] for row in rows] == [inbound]
    assert accept_request_id("req-42.a:b_C") == "req-42.a:b_C"
