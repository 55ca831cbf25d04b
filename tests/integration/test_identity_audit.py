"""Identity and audit together, with the real plugins: who did what shows up in the audit API."""

from __future__ import annotations

from stowage.core.contracts.audit import AUDIT
from tests.plugins.auth_local.helpers import PASSWORD, Client, add_user


async def test_audit_log_shows_logins_failures_and_user_creation_with_actor_ip_and_request_id(
    stowage_factory,
) -> None:
    settings = {"server": {"trusted_proxies": ["127.0.0.1"]}}
    async with stowage_factory(settings) as stowage, Client(stowage.dashboard_url) as admin:
        boss = await add_user(stowage.runtime, "boss", "admin")
        admin.http.headers["X-Forwarded-For"] = "198.51.100.7"
        status, _, _ = await admin.login("boss", "not the password")
        assert status == 401
        status, _, _ = await admin.login("boss")
        assert status == 200
        status, created, response = await admin.call(
            "POST",
            "/api/admin/users",
            {"username": "carol", "password": PASSWORD + "!", "role": "user"},
        )
        assert status == 201, created
        create_request_id = response.headers["X-Request-Id"]
        await stowage.runtime.get(AUDIT).flush()
        status, listing, _ = await admin.call("GET", "/api/admin/audit?limit=50")
        assert status == 200
    events = {e["action"]: e for e in listing["events"]}
    assert {"auth.login", "auth.login_failed", "user.create"} <= set(events)
    login = events["auth.login"]
    assert login["user_id"] == boss.id
    assert login["ip"] == "198.51.100.7"
    assert login["request_id"]
    failed = events["auth.login_failed"]
    assert failed["status"] == "denied"
    assert "not the password" not in str(failed)
    assert failed["ip"] == "198.51.100.7"
    created_event = events["user.create"]
    assert created_event["user_id"] == boss.id  # the acting admin
    assert created_event["request_id"] == create_request_id
    assert created_event["ip"] == "198.51.100.7"
    assert created["id"] in created_event["detail"]
