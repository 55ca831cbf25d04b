"""Session semantics: idle timeout, hard lifetime, revocation on disable and password change, static admin."""

from __future__ import annotations

import asyncio
import time

import pytest

from stowage.core.contracts.accounts import sessions
from stowage.core.security.passwords import verify_password_sync
from stowage.plugins.auth_local.sessions import manager
from tests.plugins.auth_local.helpers import PASSWORD, Client, add_user, clean_env, cli

SHORT = {"auth": {"session": {"lifetime": "1h", "idle_timeout": "10m"}}}


async def test_session_past_idle_timeout_is_refused(stowage_factory) -> None:
    async with stowage_factory(SHORT) as stowage, Client(stowage.dashboard_url) as browser:
        now = [time.time()]
        stowage.runtime.clock = lambda: now[0]
        await add_user(stowage.runtime, "idler")
        assert (await browser.login("idler"))[0] == 200
        session_id = browser.cookie("stowage_session")
        now[0] += 9 * 60
        assert (await browser.call("GET", "/api/me"))[0] == 200
        now[0] += 11 * 60  # idle longer than 10 minutes since the last request
        status, _, response = await browser.call("GET", "/api/me")
        assert status == 401
        assert any(c.startswith("stowage_session=;") for c in response.headers.getall("Set-Cookie"))
        assert await sessions(stowage.runtime).get(session_id) is None


async def test_session_past_lifetime_is_refused_although_in_constant_use(stowage_factory) -> None:
    async with stowage_factory(SHORT) as stowage, Client(stowage.dashboard_url) as browser:
        now = [time.time()]
        stowage.runtime.clock = lambda: now[0]
        await add_user(stowage.runtime, "busy")
        assert (await browser.login("busy"))[0] == 200
        for _ in range(6):  # 54 minutes of activity, never idle for more than 9
            now[0] += 9 * 60
            assert (await browser.call("GET", "/api/me"))[0] == 200
        now[0] += 7 * 60  # 61 minutes after sign-in: past the hard cap
        assert (await browser.call("GET", "/api/me"))[0] == 401


async def test_touches_are_coalesced_and_expired_sessions_purged(stowage_factory) -> None:
    async with stowage_factory(SHORT) as stowage, Client(stowage.dashboard_url) as browser:
        now = [time.time()]
        stowage.runtime.clock = lambda: now[0]
        await add_user(stowage.runtime, "toucher")
        assert (await browser.login("toucher"))[0] == 200
        session_id = browser.cookie("stowage_session")
        created = (await sessions(stowage.runtime).get(session_id)).last_seen_at
        now[0] += 60
        assert (await browser.call("GET", "/api/me"))[0] == 200
        assert (await sessions(stowage.runtime).get(session_id)).last_seen_at == created  # not yet written
        await manager(stowage.runtime).flush()
        assert (await sessions(stowage.runtime).get(session_id)).last_seen_at.timestamp() == pytest.approx(
            now[0]
        )
        now[0] += 11 * 60
        assert await manager(stowage.runtime).purge() == 1
        assert await sessions(stowage.runtime).get(session_id) is None


async def test_disabled_user_loses_access_on_next_request(stowage_factory) -> None:
    async with (
        stowage_factory() as stowage,
        Client(stowage.dashboard_url) as admin,
        Client(stowage.dashboard_url) as worker,
    ):
        await add_user(stowage.runtime, "boss", "admin")
        staff = await add_user(stowage.runtime, "staff")
        assert (await admin.login("boss"))[0] == 200
        assert (await worker.login("staff"))[0] == 200
        assert (await worker.call("GET", "/api/me"))[0] == 200  # identity now cached
        assert await admin.code("PATCH", f"/api/admin/users/{staff.id}", {"enabled": False}) == (200, "")
        assert await worker.code("GET", "/api/me") == (401, "unauthorized")
        assert (await worker.login("staff"))[0] == 401


async def test_password_change_deletes_other_sessions(stowage_factory) -> None:
    async with (
        stowage_factory() as stowage,
        Client(stowage.dashboard_url) as laptop,
        Client(stowage.dashboard_url) as phone,
    ):
        await add_user(stowage.runtime, "owner")
        assert (await laptop.login("owner"))[0] == 200
        assert (await phone.login("owner"))[0] == 200
        change = {"current_password": PASSWORD, "new_password": "an-even-longer-password"}
        assert await laptop.code("POST", "/api/me/password", change) == (200, "")
        assert await phone.code("GET", "/api/me") == (401, "unauthorized")
        assert (await laptop.call("GET", "/api/me"))[0] == 200


async def test_static_admin_logs_in_and_cannot_change_its_password(
    stowage_factory, monkeypatch, tmp_path
) -> None:
    hashed = await asyncio.to_thread(cli, ["hash-password", "--password", "break-glass-password"], tmp_path)
    assert hashed.returncode == 0, hashed.stderr
    monkeypatch.setenv("TEST_STATIC_ADMIN_HASH", hashed.stdout.strip())
    settings = {
        "auth": {
            "modes": ["local", "static"],
            "static": {"username": "rescue", "password_hash_env": "TEST_STATIC_ADMIN_HASH"},
        }
    }
    async with stowage_factory(settings) as stowage, Client(stowage.dashboard_url) as browser:
        assert (await browser.login("rescue", "wrong-password-here"))[0] == 401
        status, body, _ = await browser.login("rescue", "break-glass-password")
        assert (status, body) == (200, {"status": "ok", "source": "static", "must_change_pw": False})
        status, me, _ = await browser.call("GET", "/api/me")
        assert me == {
            "id": "static",
            "username": "rescue",
            "role": "admin",
            "identity_source": "static",
            "must_change_pw": False,
        }
        assert (await browser.call("GET", "/api/admin/users"))[0] == 200
        change = {"current_password": "break-glass-password", "new_password": "another-password-1"}
        assert await browser.code("POST", "/api/me/password", change) == (400, "static_user")
        _, config, _ = await browser.call("GET", "/api/auth/config")
        assert config["modes"] == ["local", "static"]


async def test_static_admin_with_empty_env_stops_start_up(stowage_factory, monkeypatch) -> None:
    monkeypatch.setenv("TEST_EMPTY_HASH", "")
    settings = {
        "auth": {"static": {"enabled": True, "username": "x", "password_hash_env": "TEST_EMPTY_HASH"}}
    }
    with pytest.raises(Exception, match="env TEST_EMPTY_HASH is empty; static auth needs the argon2id hash"):
        async with stowage_factory(settings):
            pass


def test_hash_password_reads_stdin_and_its_output_verifies(tmp_path) -> None:
    result = cli(["hash-password"], tmp_path, stdin="typed-at-the-prompt\n", env=clean_env())
    assert result.returncode == 0, result.stderr
    assert verify_password_sync("typed-at-the-prompt", result.stdout.strip())
    assert not verify_password_sync("typed-at-the-prompt\n", result.stdout.strip())
