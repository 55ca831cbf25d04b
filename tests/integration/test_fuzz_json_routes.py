"""Property: no generated JSON body makes any mutating dashboard route answer 5xx.

Routes are enumerated from the running Quart app's ``url_map`` (so a new route is fuzzed without
editing this file), called over real HTTP as a signed-in admin with the CSRF header, against a
real upstream. Hypothesis runs in a worker thread (its engine is synchronous); the Stowage under
test keeps serving on the test's event loop.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.plugins.auth_local.helpers import Client, add_user
from tests.plugins.s3proxy.proxyenv import ProxyEnv, proxy_env

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
SKIPPED = {"/auth/logout"}  # would end the fuzzing session itself
EXAMPLES_PER_ROUTE = 25

FIELDS = [
    "backend_id", "backend", "bucket", "key", "buckets", "username", "password", "new_password",
    "current_password", "role", "enabled", "email", "must_change_pw", "max_downloads",
    "download_limit", "expires_at", "disposition", "per_source_ip_rps", "mode", "description",
    "user_id", "id", "name", "type", "endpoint", "region", "path_style", "access_key", "secret_key",
    "access_key_env", "secret_key_env", "keys", "parts", "upload_id", "rules", "limit_bytes",
    "limit_objects", "soft_percent", "hard", "source", "destination", "dest_backend", "dest_bucket",
    "dest_key", "src_key", "version_id", "content_type", "metadata",
]  # fmt: skip
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", "up", "admin", "readonly", "2001-01-01T00:00:00Z", "2099-01-01T00:00:00Z",
                      "\r\nX-Evil: 1", "../../etc", "a" * 2000, "inline", "ReadOnly", "s3v4"])
)  # fmt: skip
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4),
    max_leaves=12,
)


def bodies(values: dict[str, str]) -> st.SearchStrategy[Any]:
    """Mostly a body every route would accept, with one to three fields replaced by generated
    values (so validation deep inside a route is reached); also random objects, non-objects and
    bytes that are not JSON."""
    template: dict[str, Any] = {
        "backend_id": "up", "bucket": values["bucket"], "key": "fuzz/k.txt", "buckets": [values["bucket"]],
        "username": "fuzzed", "password": "fuzzed-password-1", "new_password": "fuzzed-password-2",
        "role": "user", "name": "fuzzed-bucket", "mode": "ReadOnly", "per_source_ip_rps": 1,
        "max_downloads": 3, "expires_at": "2099-01-01T00:00:00Z", "disposition": "inline",
        "enabled": True, "keys": [{"key": "fuzz/none.txt"}], "limit_bytes": 1000,
    }  # fmt: skip
    mutated = st.dictionaries(st.sampled_from(FIELDS), _json, min_size=1, max_size=3).map(
        lambda changes: {**template, **changes}
    )
    return st.one_of(
        mutated,
        mutated,
        st.dictionaries(st.sampled_from(FIELDS), _json, max_size=6),
        _json,
        st.binary(max_size=64),
    )


def _fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values.get(m.group(1), "1"), rule)


def _routes(env: ProxyEnv) -> list[tuple[str, str]]:
    app = next(listener.app for listener in env.stowage.listeners if listener.name == "dashboard")
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(set(rule.methods or ()) & MUTATING):
            if rule.rule not in SKIPPED:
                found.append((method, rule.rule))
    return found


async def _fixtures(env: ProxyEnv, admin: Client) -> dict[str, str]:
    """Real ids for the path parameters, so the fuzz reaches past "not found"."""
    victim = await add_user(env.runtime, "victim")
    status, cred, _ = await admin.call(
        "POST", "/api/admin/s3-credentials", {"backend_id": "up", "buckets": [env.bucket]}
    )
    assert status == 201, cred
    client = env.client()
    await asyncio.to_thread(client.put_object, Bucket=env.bucket, Key="fuzz/k.txt", Body=b"k")
    status, share, _ = await admin.call(
        "POST", "/api/shares", {"backend_id": "up", "bucket": env.bucket, "key": "fuzz/k.txt"}
    )
    assert status == 201, share
    return {
        "backend_id": "up",
        "bid": "up",  # the S3 proxy's policy routes still name it so
        "bucket": env.bucket,
        "user_id": victim.id,
        "akid": cred["access_key"],
        "share_id": share["id"],
        "code": share["code"],
        "part": "1",
    }


async def test_generated_json_never_makes_a_mutating_route_fail_with_5xx(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    limits = {"ratelimit": {"api_per_minute": 0, "login_attempts": 100000, "share_per_minute": 100000}}
    async with (
        proxy_env(stowage_factory, rclone_upstream, monkeypatch, limits) as env,
        Client(env.stowage.dashboard_url) as admin,
    ):
        await add_user(env.runtime, "boss", "admin")
        assert (await admin.login("boss"))[0] == 200
        values = await _fixtures(env, admin)
        cookie = (
            f"stowage_session={admin.cookie('stowage_session')}; stowage_csrf={admin.cookie('stowage_csrf')}"
        )
        headers = {"Cookie": cookie, "X-CSRF-Token": admin.cookie("stowage_csrf")}
        routes = _routes(env)
        assert len(routes) >= 30  # the enumeration found the API, not an empty map
        await asyncio.to_thread(_fuzz, env.stowage.dashboard_url, routes, values, headers)


def _check_route(
    http: urllib3.PoolManager, method: str, url: str, headers: dict[str, str], values: dict[str, str]
) -> None:
    # A fresh connection each time: a server may close one whose body it did not read.
    sent = {**headers, "Content-Type": "application/json", "Connection": "close"}

    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=bodies(values))
    def one_route(body: Any) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = http.request(method, url, body=raw, headers=sent)
        # 501 not_supported is deliberate: the upstream (rclone) lacks the feature, e.g. versioning.
        deliberate = response.status == 501 and b'"code":"not_supported"' in response.data
        assert response.status < 500 or deliberate, (
            f"{method} {url} {raw[:300]!r} -> {response.status} {response.data[:300]!r}"
        )

    one_route()


def _fuzz(base: str, routes: list[tuple[str, str]], values: dict[str, str], headers: dict[str, str]) -> None:
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=30))
    failures: list[str] = []
    for method, rule in routes:
        try:
            _check_route(http, method, f"{base}{_fill(rule, values)}?key=fuzz/k.txt", headers, values)
        except AssertionError as exc:
            failures.append(str(exc).strip().splitlines()[0])
    assert not failures, "\n".join(failures)


pytestmark = pytest.mark.timeout(300)
