"""An in-process dashboard client: the Quart app's test client, signed in with a real session.

It goes through everything a browser request does (the access pipeline, the login route, session
and CSRF cookies) without a socket, so a plugin's routes can be tested quickly; use the real
listener (``RunningStowage.dashboard_url``) when the wire itself matters.
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from typing import Any

from stowage.core.contracts.accounts import at, users
from stowage.core.kernel.runtime import Runtime
from stowage.core.security.passwords import hash_password

__all__ = ["ApiClient", "signed_in_client"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiClient:
    """Requests against the dashboard app as one signed-in user; mutations carry the CSRF token."""

    def __init__(self, test_client: Any, csrf_token: str, user_id: str) -> None:
        self.test_client = test_client
        self.csrf_token = csrf_token
        self.user_id = user_id

    async def request(self, method: str, path: str, *, json: Any = None, **kwargs: Any) -> Any:
        """One request; returns Quart's test ``Response`` (``status_code``, ``await get_json()``)."""
        headers = dict(kwargs.pop("headers", None) or {})
        if method.upper() not in SAFE_METHODS:
            headers.setdefault("X-CSRF-Token", self.csrf_token)
        if json is not None:
            kwargs["json"] = json
        return await self.test_client.open(path, method=method.upper(), headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", path, **kwargs)


async def signed_in_client(
    runtime: Runtime, app: Any, *, role: str = "admin", username: str = ""
) -> ApiClient:
    """Create a local user with ``role`` and sign it in through ``POST /auth/login/local``.

    Needs the built-in ``auth_local`` plugin and ``local`` in ``auth.modes`` (the defaults).
    """
    username = username or f"test-{role}-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    user = await users(runtime).create(
        username=username,
        password_hash=await hash_password(password),
        role=role,
        now=at(runtime.clock()),
        must_change_pw=False,
    )
    client = app.test_client()
    response = await client.post("/auth/login/local", json={"username": username, "password": password})
    if response.status_code != 200:
        raise AssertionError(f"test sign-in failed: {response.status_code} {await response.get_data()!r}")
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        cookies.load(header)
    if "stowage_csrf" not in cookies:
        raise AssertionError("test sign-in set no CSRF cookie")
    return ApiClient(client, cookies["stowage_csrf"].value, user.id)
