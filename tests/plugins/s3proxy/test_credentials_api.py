"""Virtual-credential API (VC-1…VC-6, API-14, API-48) over real HTTP and a real SQLite file."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

import stowage.plugins.s3proxy as s3proxy_plugin
from stowage.core.contracts.audit import AUDIT, AuditEvent
from stowage.core.contracts.credentials import CREDENTIALS
from stowage.core.contracts.identity import Identity
from stowage.core.security.secretbox import SecretBox
from stowage.hooks import hookimpl
from stowage.plugins.s3proxy import credentials as credentials_module
from stowage.plugins.s3proxy.admin.credential_routes import credential_blueprints
from stowage.plugins.s3proxy.credentials import StoreCredentialCache

ROOT_KEY = "5f" * 32
ADMIN = "/api/admin/s3-credentials"
SELF = "/api/me/s3-credentials"
BACKENDS = [
    {"id": "minio", "type": "fake", "endpoint": "http://127.0.0.1:9", "path_style": True},
    {"id": "vhost", "type": "fake", "endpoint": "http://127.0.0.1:9", "path_style": False},
]
# The built-in audit plugin is disabled so the test recorder sees every event synchronously.
NO_AUDIT_PLUGIN = {"disabled": ["audit"]}
SETTINGS: dict[str, Any] = {
    "backends": BACKENDS,
    "s3_proxy": {"public_hostname": "s3.example.test"},
    "plugins": NO_AUDIT_PLUGIN,
}


class Recorder:
    """Captures audit events in memory."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    async def flush(self) -> None:
        return None

    def actions(self, action: str) -> list[AuditEvent]:
        return [e for e in self.events if e.action == action]


class FakeDriver:
    async def close(self) -> None:
        return None


class VcTestPlugin:
    """Header auth, an audit recorder, fake drivers, the credential cache and the routes."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.flushes = 0

    def flush_signing_keys(self) -> None:
        self.flushes += 1

    @hookimpl
    def stowage_authenticate(self, request: Any, runtime: Any) -> Identity | None:
        user = request.headers.get("X-Test-User")
        if not user:
            return None
        return Identity(user_id=user, username=user, role=request.headers.get("X-Test-Role", "user"))

    @hookimpl(tryfirst=True)
    async def stowage_startup(self, runtime: Any) -> None:
        if runtime.find(AUDIT) is None:
            runtime.provide(AUDIT, self.recorder)
        if not runtime.settings.s3_proxy.enabled:  # else the proxy plugin provides its own
            cache = StoreCredentialCache(runtime, self.flush_signing_keys)
            runtime.provide(CREDENTIALS, cache)
            await cache.reload()

    @hookimpl
    def stowage_storage_driver(self, backend: Any) -> FakeDriver | None:
        return FakeDriver() if backend.type == "fake" else None

    @hookimpl
    def stowage_blueprints(self, runtime: Any) -> Any:
        # When the proxy is enabled its own plugin mounts these.
        return None if runtime.settings.s3_proxy.enabled else credential_blueprints()


def vc_plugins(plugin: VcTestPlugin) -> list[tuple[str, object]]:
    """The test plugin, plus the default lookup hookimpl until the proxy plugin re-exports it."""
    plugins: list[tuple[str, object]] = [("vc_test", plugin)]
    if not hasattr(s3proxy_plugin, "stowage_credential_lookup"):
        plugins.insert(0, ("vc_store_lookup", credentials_module))
    return plugins


class Api:
    """A tiny client that signs in through the test headers."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def __call__(
        self, method: str, path: str, body: Any = None, *, user: str = "root", role: str = "admin"
    ) -> tuple[int, Any]:
        headers = {"X-Test-User": user, "X-Test-Role": role}
        async with self.http.request(method, self.base + path, json=body, headers=headers) as response:
            data = await response.json() if response.status != 204 else None
            return response.status, data


def cache_of(stowage: Any) -> StoreCredentialCache:
    cache = stowage.runtime.get(CREDENTIALS)
    assert isinstance(cache, StoreCredentialCache)
    return cache


async def test_mint_returns_secret_once_and_seals_it(stowage_factory) -> None:
    plugin = VcTestPlugin()
    async with (
        stowage_factory(SETTINGS, plugins=vc_plugins(plugin), root_key=ROOT_KEY) as stowage,
        aiohttp.ClientSession() as http,
    ):
        api = Api(http, stowage.dashboard_url)
        body = {"backend_id": "minio", "buckets": ["alpha", "beta"], "user_id": "u-7", "description": "ci"}
        status, created = await api("POST", ADMIN, body)
        assert status == 201, created
        assert re.fullmatch(r"AKIA[A-Z2-7]{16}", created["access_key"])
        assert re.fullmatch(r"[0-9a-f]{40}", created["secret_key"])
        assert created["buckets"] == ["alpha", "beta"]
        assert created["user_id"] == "u-7" and created["created_by"] == "root"
        assert created["enabled"] is True and "expires_at" not in created
        assert created["endpoint_url"] == "https://s3.example.test"
        assert created["bucket_urls"] == {
            "alpha": "https://s3.example.test/alpha",
            "beta": "https://s3.example.test/beta",
        }

        status, listed = await api("GET", ADMIN)
        assert status == 200
        assert [c["access_key"] for c in listed["credentials"]] == [created["access_key"]]
        assert "secret_key" not in listed["credentials"][0]

        row = await stowage.runtime.store.db.fetchone(
            "SELECT secret_key_enc, buckets FROM s3_credentials WHERE access_key = ?",
            (created["access_key"],),
        )
        assert row["buckets"] == '["alpha","beta"]'
        assert created["secret_key"].encode() not in bytes(row["secret_key_enc"])
        assert SecretBox(bytes.fromhex(ROOT_KEY)).unseal_text(row["secret_key_enc"]) == created["secret_key"]
        cached = cache_of(stowage).get(created["access_key"])
        assert cached is not None and cached.secret_key == created["secret_key"]

    (event,) = plugin.recorder.actions("s3_credential.create")
    assert event.user_id == "root" and event.backend == "minio"
    assert event.detail == {
        "access_key": created["access_key"],
        "buckets": ["alpha", "beta"],
        "description": "ci",
    }


async def test_list_is_ordered_and_bucket_urls_follow_path_style(stowage_factory) -> None:
    async with (
        stowage_factory(SETTINGS, plugins=vc_plugins(VcTestPlugin())) as stowage,
        aiohttp.ClientSession() as http,
    ):
        api = Api(http, stowage.dashboard_url)
        keys = [(await api("POST", ADMIN, {"backend_id": "vhost", "buckets": ["b"]}))[1] for _ in range(4)]
        assert keys[0]["bucket_urls"] == {"b": "https://b.s3.example.test"}
        _, listed = await api("GET", ADMIN)
        access_keys = [c["access_key"] for c in listed["credentials"]]
        assert access_keys == sorted(k["access_key"] for k in keys)


@pytest.mark.parametrize(
    ("s3_proxy", "operator", "expected"),
    [
        ({"endpoint_url": "https://proxy.example.test/"}, {}, "https://proxy.example.test"),
        ({}, {"proxy_url": "http://op.example.test:8080"}, "http://op.example.test:8080"),
        # nothing set: the proxy's listen address, never the packaged Kubernetes fallback
        ({"listen": ":8090"}, {}, "http://127.0.0.1:8090"),
        ({"listen": "127.0.0.5:9123"}, {}, "http://127.0.0.5:9123"),
        ({"listen": "[::]:9000"}, {}, "http://127.0.0.1:9000"),
        ({"listen": "[::1]:9001"}, {}, "http://[::1]:9001"),
        (
            {"listen": ":8090"},
            {"proxy_url": "http://stowage-proxy.stowage-system.svc.cluster.local:8080"},
            "http://127.0.0.1:8090",
        ),
    ],
)
async def test_endpoint_url_fallbacks(stowage_factory, s3_proxy, operator, expected) -> None:
    settings = {"backends": BACKENDS, "s3_proxy": s3_proxy, "operator": operator, "plugins": NO_AUDIT_PLUGIN}
    async with (
        stowage_factory(settings, plugins=vc_plugins(VcTestPlugin())) as stowage,
        aiohttp.ClientSession() as http,
    ):
        api = Api(http, stowage.dashboard_url)
        _, created = await api("POST", ADMIN, {"backend_id": "minio", "buckets": ["data"]})
        assert created["endpoint_url"] == expected
        assert created["bucket_urls"] == {"data": f"{expected}/data"}


async def test_endpoint_url_is_the_bound_proxy_listener(stowage_factory) -> None:
    settings = {
        "backends": BACKENDS,
        "s3_proxy": {"enabled": True, "listen": "127.0.0.1:0"},
        "plugins": NO_AUDIT_PLUGIN,
    }
    async with (
        stowage_factory(settings, plugins=vc_plugins(VcTestPlugin())) as stowage,
        aiohttp.ClientSession() as http,
    ):
        api = Api(http, stowage.dashboard_url)
        _, created = await api("POST", ADMIN, {"backend_id": "minio", "buckets": ["data"]})
        assert created["endpoint_url"] == stowage.url("s3_proxy").rstrip("/")
        assert not created["endpoint_url"].endswith(":0")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"buckets": ["a"]}, "backend_id is required"),
        ({"backend_id": "minio", "buckets": []}, "at least one bucket is required"),
        ({"backend_id": "minio"}, "buckets must be a list of bucket names"),
        (
            {"backend_id": "minio", "buckets": ["a"], "expires_at": "2030-01-01 00:00:00"},
            "expires_at must be RFC3339",
        ),
        ({"backend_id": "minio", "buckets": ["a"], "expires_at": "tomorrow"}, "expires_at must be RFC3339"),
        ({"backend_id": "nope", "buckets": ["a"]}, "unknown backend"),
        ({"backend_id": "minio", "buckets": ["alpha", "a/b"]}, "'a/b' is not a valid S3 bucket name"),
        ({"backend_id": "minio", "buckets": ["has space"]}, "'has space' is not a valid S3 bucket name"),
        ({"backend_id": "minio", "buckets": [".."]}, "'..' is not a valid S3 bucket name"),
        ({"backend_id": "minio", "buckets": ["x" * 256]}, f"{'x' * 256!r} is not a valid S3 bucket name"),
        (  # issue 11 item 17: a credential born expired is refused
            {"backend_id": "minio", "buckets": ["a"], "expires_at": "2001-01-01T00:00:00Z"},
            "expires_at must be in the future",
        ),
    ],
)
async def test_mint_validation_errors(stowage_factory, body, message) -> None:
    async with (
        stowage_factory(SETTINGS, plugins=vc_plugins(VcTestPlugin())) as stowage,
        aiohttp.ClientSession() as http,
    ):
        status, error = await Api(http, stowage.dashboard_url)("POST", ADMIN, body)
        assert status == 400
        assert error == {"error": {"code": "invalid_request", "message": message}}
        assert await stowage.runtime.store.db.fetchall("SELECT * FROM s3_credentials") == []


async def test_body_limits_and_authentication(stowage_factory) -> None:
    async with (
        stowage_factory(SETTINGS, plugins=vc_plugins(VcTestPlugin())) as stowage,
        aiohttp.ClientSession() as http,
    ):
        api = Api(http, stowage.dashboard_url)
        huge = {"backend_id": "minio", "buckets": ["a"], "description": "x" * (64 * 1024)}
        assert (await api("POST", ADMIN, huge))[0] == 413
        async with http.get(stowage.dashboard_url + ADMIN) as response:
            assert response.status == 401
        status, error = await api("GET", ADMIN, role="user")
        assert (status, error["error"]["code"]) == (403, "forbidden")


async def test_patch_and_delete(stowage_factory) -> None:
    plugin = VcTestPlugin()
    async with (
        stowage_factory(SETTINGS, plugins=vc_plugins(plugin)) as stowage,
        aiohttp.ClientSession() as http,
    ):
        api = Api(http, stowage.dashboard_url)
        _, created = await api("POST", ADMIN, {"backend_id": "minio", "buckets": ["a"], "description": "old"})
        key = created["access_key"]
        change = {"buckets": ["b", "c"], "description": "new", "expires_at": "2099-01-02T03:04:05+01:00"}
        status, patched = await api("PATCH", f"{ADMIN}/{key}", change, user="other-admin")
        assert status == 200, patched
        assert patched["buckets"] == ["b", "c"] and patched["description"] == "new"
        assert patched["expires_at"] == "2099-01-02T02:04:05Z"
        assert patched["updated_by"] == "other-admin" and "secret_key" not in patched
        status, patched = await api("PATCH", f"{ADMIN}/{key}", {"expires_at": ""})
        assert status == 200 and "expires_at" not in patched and patched["buckets"] == ["b", "c"]
        status, error = await api("PATCH", f"{ADMIN}/{key}", {"expires_at": "soon"})
        assert (status, error["error"]["message"]) == (400, "expires_at must be RFC3339")
        status, error = await api("PATCH", f"{ADMIN}/{key}", {"buckets": []})
        assert (status, error["error"]["code"]) == (400, "invalid_request")
        status, error = await api("PATCH", f"{ADMIN}/AKIAUNKNOWNUNKNOWN00", {"enabled": False})
        assert (status, error["error"]) == (404, {"code": "not_found", "message": "credential not found"})

        assert (await api("DELETE", f"{ADMIN}/{key}"))[0] == 204
        assert (await api("DELETE", f"{ADMIN}/{key}"))[0] == 404
        assert (await api("GET", ADMIN))[1] == {"credentials": []}

    updates = plugin.recorder.actions("s3_credential.update")
    assert updates[0].detail == {"access_key": key, "fields": ["buckets", "description", "expires_at"]}
    assert len(updates) == 2  # rejected patches are not audited
    (deleted,) = plugin.recorder.actions("s3_credential.delete")
    assert deleted.detail == {"access_key": key}


async def test_self_service_is_scoped_to_the_caller(stowage_factory) -> None:
    plugin = VcTestPlugin()
    async with (
        stowage_factory(SETTINGS, plugins=vc_plugins(plugin)) as stowage,
        aiohttp.ClientSession() as http,
    ):
        api = Api(http, stowage.dashboard_url)
        body = {"backend_id": "minio", "buckets": ["a"], "user_id": "bob"}
        status, alice_key = await api("POST", SELF, body, user="alice", role="user")
        assert status == 201 and alice_key["user_id"] == "alice" and alice_key["created_by"] == "alice"
        _, bob_key = await api("POST", SELF, body, user="bob", role="user")
        akid = alice_key["access_key"]

        _, alice_list = await api("GET", SELF, user="alice", role="user")
        assert [c["access_key"] for c in alice_list["credentials"]] == [akid]
        _, bob_list = await api("GET", SELF, user="bob", role="readonly")
        assert [c["access_key"] for c in bob_list["credentials"]] == [bob_key["access_key"]]
        _, everything = await api("GET", ADMIN)
        assert len(everything["credentials"]) == 2

        for method, payload in (("PATCH", {"enabled": False}), ("DELETE", None)):
            status, error = await api(method, f"{SELF}/{akid}", payload, user="bob", role="user")
            assert (status, error["error"]["message"]) == (404, "credential not found")
        assert cache_of(stowage).get(akid) is not None

        status, error = await api("POST", SELF, body, user="carol", role="readonly")
        assert (status, error["error"]["code"]) == (403, "forbidden")
        assert (await api("PATCH", f"{SELF}/{akid}", {"enabled": False}, user="alice", role="readonly"))[
            0
        ] == 403

        status, patched = await api(
            "PATCH", f"{SELF}/{akid}", {"description": "mine"}, user="alice", role="user"
        )
        assert status == 200 and patched["description"] == "mine"
        assert (await api("DELETE", f"{SELF}/{akid}", user="alice", role="user"))[0] == 204

    create = plugin.recorder.actions("s3_credential.create")[0]
    assert create.detail["self"] is True and create.user_id == "alice"
    assert plugin.recorder.actions("s3_credential.update")[0].detail["self"] is True
    assert plugin.recorder.actions("s3_credential.delete")[0].detail == {"access_key": akid, "self": True}


async def test_mutations_reach_the_cache_before_the_response(stowage_factory) -> None:
    plugin = VcTestPlugin()
    async with (
        stowage_factory(SETTINGS, plugins=vc_plugins(plugin)) as stowage,
        aiohttp.ClientSession() as http,
    ):
        api = Api(http, stowage.dashboard_url)
        cache = cache_of(stowage)
        _, created = await api("POST", ADMIN, {"backend_id": "minio", "buckets": ["a"]})
        key = created["access_key"]
        assert cache.get(key) is not None and len(cache) == 1
        flushes = plugin.flushes

        await api("PATCH", f"{ADMIN}/{key}", {"enabled": False})
        assert cache.get(key) is None and len(cache) == 0
        await api("PATCH", f"{ADMIN}/{key}", {"enabled": True, "buckets": ["z"]})
        cached = cache.get(key)
        assert cached is not None and cached.buckets == ("z",)
        await api("PATCH", f"{ADMIN}/{key}", {"expires_at": "2001-01-01T00:00:00Z"})
        assert cache.get(key) is None
        await api("PATCH", f"{ADMIN}/{key}", {"expires_at": ""})
        assert cache.get(key) is not None
        await api("DELETE", f"{ADMIN}/{key}")
        assert cache.get(key) is None
        assert plugin.flushes == flushes + 5  # the signing-key cache is flushed on every rebuild


async def test_mint_without_root_key_is_503(stowage_factory) -> None:
    async with (
        stowage_factory(SETTINGS, plugins=vc_plugins(VcTestPlugin()), root_key=None) as stowage,
        aiohttp.ClientSession() as http,
    ):
        status, error = await Api(http, stowage.dashboard_url)(
            "POST", ADMIN, {"backend_id": "minio", "buckets": ["a"]}
        )
        assert (status, error["error"]["code"]) == (503, "secret_key_unset")
