"""The authenticator hook seen from a third-party plugin, and the quickstart step."""

from __future__ import annotations

import types

from stowage.core.contracts.accounts import users
from stowage.core.contracts.identity import Identity
from stowage.core.kernel.services import ServiceKey
from stowage.hooks import hookimpl
from stowage.plugins.auth_local import quickstart_admin
from tests.plugins.auth_local.helpers import Client, add_user


@hookimpl(tryfirst=True)
def _header_sso(request, runtime):
    user = request.headers.get("X-Test-User")
    if not user:
        return None
    return Identity(user_id=f"sso:{user}", username=user, role="readonly", source="sso")


ABSTAINED: ServiceKey[list[int]] = ServiceKey("test.abstained", provider="abstainer")


@hookimpl(tryfirst=True)
async def _async_abstainer(request, runtime):
    runtime.memo(ABSTAINED, list).append(1)
    return None


SSO = types.SimpleNamespace(stowage_authenticate=_header_sso)
ABSTAINER = types.SimpleNamespace(stowage_authenticate=_async_abstainer)


async def test_hook_stowage_authenticate(stowage_factory) -> None:
    async with (
        stowage_factory(plugins=[("sso", SSO), ("abstainer", ABSTAINER)]) as stowage,
        Client(stowage.dashboard_url) as browser,
    ):
        await add_user(stowage.runtime, "cookie-user", "admin")
        assert (await browser.login("cookie-user"))[0] == 200
        # The tryfirst SSO authenticator wins over the session cookie when its header is present.
        async with browser.http.get(stowage.dashboard_url + "/api/me", headers={"X-Test-User": "carol"}) as r:
            assert await r.json() == {
                "id": "sso:carol",
                "username": "carol",
                "role": "readonly",
                "identity_source": "sso",
                "must_change_pw": False,
            }
        # Without it, SSO returns None and the async abstainer's None passes on to the cookie.
        _, me, _ = await browser.call("GET", "/api/me")
        assert me["username"] == "cookie-user"
        assert len(stowage.runtime.get(ABSTAINED)) >= 2


async def test_quickstart_step_creates_the_admin_once(stowage_factory) -> None:
    async with stowage_factory() as stowage:
        runtime = stowage.runtime
        assert quickstart_admin in await runtime.hooks.quickstart_steps(runtime=runtime)
        args = types.SimpleNamespace(admin_username="admin", admin_password="")
        first = await quickstart_admin(runtime, args, lambda: "R" * 24)
        assert first == {"admin user": "admin", "admin password": "R" * 24}
        admin = await users(runtime).get_by_username("admin")
        assert admin is not None and admin.role == "admin" and not admin.must_change_pw
        again = await quickstart_admin(runtime, args, lambda: "S" * 24)
        assert again == {"admin user": "admin", "admin password": "(unchanged)"}
