"""The users admin API: role gates over the whole route table, the last-admin guard, CRUD rules."""

from __future__ import annotations

import re

from stowage.core.contracts.audit import AUDIT
from stowage.core.kernel.server import dashboard_listener
from tests.plugins.auth_local.helpers import Client, Recorder, add_user

SKIP_METHODS = {"HEAD", "OPTIONS"}


async def test_every_admin_route_refuses_users_readonly_and_anonymous(stowage_factory) -> None:
    async with stowage_factory() as stowage:
        app = (await dashboard_listener(stowage.runtime)).app
        routes = sorted(
            (method, re.sub(r"<[^>]+>", "nonexistent", rule.rule))
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/admin/")
            for method in rule.methods - SKIP_METHODS
        )
        assert ("DELETE", "/api/admin/users/nonexistent") in routes
        await add_user(stowage.runtime, "plain", "user")
        await add_user(stowage.runtime, "viewer", "readonly")
        async with (
            Client(stowage.dashboard_url) as user,
            Client(stowage.dashboard_url) as viewer,
            Client(stowage.dashboard_url) as anonymous,
        ):
            assert (await user.login("plain"))[0] == 200
            assert (await viewer.login("viewer"))[0] == 200
            for method, path in routes:
                assert await user.code(method, path, {}) == (403, "forbidden"), (method, path)
                assert await viewer.code(method, path, {}) == (403, "forbidden"), (method, path)
                assert await anonymous.code(method, path, {}) == (401, "unauthorized"), (method, path)


async def test_last_enabled_admin_cannot_be_demoted_disabled_or_deleted(stowage_factory) -> None:
    async with stowage_factory() as stowage, Client(stowage.dashboard_url) as browser:
        only = await add_user(stowage.runtime, "only", "admin")
        other = await add_user(stowage.runtime, "other", "admin")
        assert (await browser.login("other"))[0] == 200
        # Two admins: "other" may demote "only"; then "other" is the last one.
        assert await browser.code("PATCH", f"/api/admin/users/{only.id}", {"role": "user"}) == (200, "")
        assert await browser.code("PATCH", f"/api/admin/users/{other.id}", {"enabled": False}) == (
            409,
            "last_admin",
        )
        assert await browser.code("PATCH", f"/api/admin/users/{other.id}", {"role": "user"}) == (
            403,
            "self_role_change",
        )
        assert await browser.code("DELETE", f"/api/admin/users/{other.id}") == (400, "self_delete")

        # Guarded in the repository as well, whoever asks (e.g. the static admin).
        from stowage.core.contracts.accounts import LastAdmin, users

        repo = users(stowage.runtime)
        for change in ({"role": "readonly"}, {"enabled": False}):
            try:
                await repo.update(other.id, **change)
            except LastAdmin:
                pass
            else:
                raise AssertionError(f"{change} removed the last admin")
        try:
            await repo.delete(other.id)
        except LastAdmin:
            pass
        else:
            raise AssertionError("deleted the last admin")
        assert (await repo.get(other.id)).role == "admin"


async def test_user_crud_rules_and_audit(stowage_factory) -> None:
    async with stowage_factory() as stowage, Client(stowage.dashboard_url) as browser:
        audit = Recorder()
        stowage.runtime.replace(AUDIT, audit)
        admin = await add_user(stowage.runtime, "chief", "admin")
        assert (await browser.login("chief"))[0] == 200
        new = {"username": "Bob", "password": "bob-password-123", "role": "user", "email": "bob@example.com"}
        status, bob, _ = await browser.call("POST", "/api/admin/users", new)
        assert status == 201
        assert bob["must_change_pw"] is True
        assert bob["identity_source"] == "local"
        assert bob["email"] == "bob@example.com"
        assert "password_hash" not in bob
        assert len(bob["id"]) == 26

        dup = {**new, "username": "BOB", "email": "other@example.com"}
        assert await browser.code("POST", "/api/admin/users", dup) == (409, "username_taken")
        assert await browser.code(
            "POST", "/api/admin/users", {**new, "username": "rob", "email": "BOB@example.com"}
        ) == (409, "email_taken")
        assert await browser.code("POST", "/api/admin/users", {**new, "username": "x", "role": "god"}) == (
            400,
            "bad_request",
        )
        assert await browser.code(
            "POST", "/api/admin/users", {**new, "username": "x", "password": "short"}
        ) == (400, "weak_password")
        assert await browser.code("POST", "/api/admin/users", {"username": "x"}) == (400, "bad_request")

        _, listed, _ = await browser.call(
            "GET", "/api/admin/users?query=bo&role=user&enabled=true&limit=9999"
        )
        assert [u["username"] for u in listed["users"]] == ["Bob"]
        _, listed, _ = await browser.call("GET", "/api/admin/users")
        assert [u["username"] for u in listed["users"]] == ["Bob", "chief"]
        _, listed, _ = await browser.call("GET", "/api/admin/users?limit=1&offset=1")
        assert [u["username"] for u in listed["users"]] == ["chief"]
        status, listed, _ = await browser.call("GET", f"/api/admin/users?offset={10**22}")
        assert status == 200 and listed["users"] == []  # past every row, and past SQLite's integers

        status, got, _ = await browser.call("GET", f"/api/admin/users/{bob['id']}")
        assert status == 200 and got["username"] == "Bob"
        assert await browser.code("GET", "/api/admin/users/unknown") == (404, "not_found")
        assert await browser.code("PATCH", f"/api/admin/users/{bob['id']}", {"role": "boss"}) == (
            400,
            "bad_request",
        )
        status, patched, _ = await browser.call(
            "PATCH", f"/api/admin/users/{bob['id']}", {"email": "", "role": "readonly"}
        )
        assert status == 200 and "email" not in patched and patched["role"] == "readonly"

        reset = {"new_password": "reset-password-456"}
        assert await browser.code(
            "POST", f"/api/admin/users/{bob['id']}/reset-password", {"new_password": "x"}
        ) == (400, "weak_password")
        assert await browser.code("POST", f"/api/admin/users/{bob['id']}/reset-password", reset) == (200, "")
        status, _, _ = await browser.call("DELETE", f"/api/admin/users/{bob['id']}")
        assert status == 204
        assert await browser.code("DELETE", f"/api/admin/users/{bob['id']}") == (404, "not_found")

    assert [e.action for e in audit.events if e.action.startswith("user.")] == [
        "user.create",
        "user.update",
        "user.reset_password",
        "user.delete",
    ]
    update = next(e for e in audit.events if e.action == "user.update")
    assert update.user_id == admin.id
    assert update.detail == {"target": bob["id"], "fields": ["email", "role"]}
