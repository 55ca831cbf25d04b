"""Sign-in over real HTTP: cookies, CSRF, logout, lockout, the per-IP limiter, must-change-password."""

from __future__ import annotations

import asyncio

from stowage.core.contracts.accounts import users
from stowage.core.contracts.audit import AUDIT
from tests.plugins.auth_local.helpers import PASSWORD, Client, Recorder, add_user, cli, settings_path


async def test_create_admin_then_login_sets_both_cookies_and_csrf_guards_mutations(stowage_factory) -> None:
    async with stowage_factory() as stowage, Client(stowage.dashboard_url) as browser:
        config = settings_path(stowage)
        made = await asyncio.to_thread(
            cli,
            ["create-admin", "--username", "Root", "--password", PASSWORD, "--config", str(config)],
            config.parent,
        )
        assert made.returncode == 0, made.stderr
        assert made.stdout.startswith("created admin user Root (id=")

        status, body, response = await browser.login("root")  # usernames are case-insensitive
        assert status == 200
        assert body == {"status": "ok", "source": "local", "must_change_pw": False}
        cookies = {c.split("=", 1)[0]: c for c in response.headers.getall("Set-Cookie")}
        assert "HttpOnly" in cookies["stowage_session"]
        assert "HttpOnly" not in cookies["stowage_csrf"]
        for header in cookies.values():
            assert "Path=/" in header
            assert "SameSite=Lax" in header
            assert "Expires=" in header
            assert "Secure" not in header  # plain HTTP from an untrusted peer
        assert len(browser.cookie("stowage_session")) == 43  # 32 random bytes, base64url unpadded

        status, me, _ = await browser.call("GET", "/api/me")
        assert status == 200
        assert me["username"] == "Root"
        assert me["role"] == "admin"
        assert me["identity_source"] == "local"

        change = {"current_password": PASSWORD, "new_password": "another-long-password"}
        assert await browser.code("POST", "/api/me/password", change, csrf=False) == (403, "csrf_invalid")
        assert await browser.code("POST", "/api/me/password", change) == (200, "")

        status, body, _ = await browser.call("POST", "/auth/logout", csrf=False)
        assert (status, body) == (200, {"status": "ok"})
        assert await browser.code("GET", "/api/me") == (401, "unauthorized")
        user = await users(stowage.runtime).get_by_username("root")
        assert user is not None and user.last_login_at is not None


async def test_wrong_passwords_lock_the_account_until_an_admin_unlocks_it(stowage_factory) -> None:
    settings = {"auth": {"local": {"lockout": {"max_attempts": 3, "window": "15m"}}}}
    async with stowage_factory(settings) as stowage, Client(stowage.dashboard_url) as browser:
        admin = await add_user(stowage.runtime, "admin", "admin")
        victim = await add_user(stowage.runtime, "victim")
        for _ in range(3):
            assert (await browser.login("victim", "wrong-password"))[0] == 401
        status, body, _ = await browser.login("victim")  # right password, but locked
        assert status == 429
        assert body["error"] == {"code": "account_locked", "message": "account temporarily locked"}

        async with Client(stowage.dashboard_url) as operator:
            assert (await operator.login("admin"))[0] == 200
            assert await operator.code("POST", f"/api/admin/users/{victim.id}/unlock") == (200, "")
            assert await operator.code("POST", "/api/admin/users/nope/unlock") == (404, "not_found")
        assert (await browser.login("victim"))[0] == 200
        refreshed = await users(stowage.runtime).get(victim.id)
        assert refreshed is not None and refreshed.failed_attempts == 0 and refreshed.locked_until is None
        assert admin.role == "admin"


async def test_per_ip_login_limiter_answers_rate_limited(stowage_factory) -> None:
    async with (
        stowage_factory({"ratelimit": {"login_attempts": 2}}) as stowage,
        Client(stowage.dashboard_url) as b,
    ):
        # Empty passwords are refused before any hashing: cheap attempts that still count.
        assert (await b.login("someone", ""))[0] == 401
        assert (await b.login("someone", ""))[0] == 401
        status, body, response = await b.login("someone", "")
        assert status == 429
        assert body["error"]["code"] == "rate_limited"
        assert "Retry-After" not in response.headers


async def test_must_change_password_gate_until_the_password_changes(stowage_factory) -> None:
    async with stowage_factory() as stowage, Client(stowage.dashboard_url) as browser:
        await add_user(stowage.runtime, "fresh", "admin", must_change_pw=True)
        status, body, _ = await browser.login("fresh")
        assert body["must_change_pw"] is True
        assert await browser.code("GET", "/api/admin/users") == (403, "password_change_required")
        status, me, _ = await browser.call("GET", "/api/me")
        assert status == 200 and me["must_change_pw"] is True

        weak = {"current_password": PASSWORD, "new_password": "short"}
        status, body, _ = await browser.call("POST", "/api/me/password", weak)
        assert status == 400
        assert body["error"] == {
            "code": "weak_password",
            "message": "password must be at least 12 characters",
        }
        same = {"current_password": PASSWORD, "new_password": PASSWORD}
        assert await browser.code("POST", "/api/me/password", same) == (400, "weak_password")
        wrong = {"current_password": "not-my-password", "new_password": "a-brand-new-password"}
        assert await browser.code("POST", "/api/me/password", wrong) == (401, "invalid_credentials")

        good = {"current_password": PASSWORD, "new_password": "a-brand-new-password"}
        assert await browser.code("POST", "/api/me/password", good) == (200, "")
        assert await browser.code("GET", "/api/admin/users") == (200, "")


async def test_login_failures_are_uniform_and_audited_without_the_password(stowage_factory) -> None:
    async with stowage_factory() as stowage, Client(stowage.dashboard_url) as browser:
        audit = Recorder()
        stowage.runtime.replace(AUDIT, audit)
        user = await add_user(stowage.runtime, "alice")
        assert await browser.code(
            "POST", "/auth/login/local", {"username": "ghost", "password": "pw-secret-1"}
        ) == (401, "invalid_credentials")
        assert await browser.code("POST", "/auth/login/local", {"username": "", "password": "x"}) == (
            401,
            "invalid_credentials",
        )
        status, body, _ = await browser.call("POST", "/auth/login/local", b"not json")
        assert status == 400 and body["error"]["code"] == "bad_request"
        assert (await browser.login("alice", "pw-secret-2"))[0] == 401
        assert (await browser.login("alice"))[0] == 200
        assert (await browser.call("POST", "/auth/logout"))[0] == 200
        assert (await browser.call("POST", "/auth/logout"))[0] == 200  # no session: not audited

    assert audit.actions() == [
        "auth.login_failed",
        "auth.login_failed",
        "auth.login_failed",
        "auth.login",
        "auth.logout",
    ]
    failed = [e for e in audit.events if e.action == "auth.login_failed"]
    assert [e.detail for e in failed] == [
        {"username": "ghost", "reason": "unknown_user"},
        {"username": "", "reason": "empty"},
        {"username": "alice", "reason": "bad_password"},
    ]
    assert all(e.outcome == "denied" for e in failed)
    assert "pw-secret" not in repr(audit.events)
    login = audit.events[3]
    assert (login.user_id, login.detail) == (user.id, {"source": "local"})
    assert audit.events[4].user_id == user.id


async def test_auth_config_is_public(stowage_factory) -> None:
    async with stowage_factory() as stowage, Client(stowage.dashboard_url) as browser:
        status, body, _ = await browser.call("GET", "/api/auth/config")
        assert (status, body) == (200, {"modes": ["local"], "allow_self_registration": False})
