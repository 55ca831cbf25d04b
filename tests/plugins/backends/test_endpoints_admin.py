"""Admin backend API against the real rclone upstream: create, read, patch, delete, test."""

from __future__ import annotations

import sqlite3

from stowage.core.security.secretbox import SecretBox, decode_key
from tests.plugins.backends.endpoint_support import backend_body, closed_port_url, started

ROOT_KEY = "ab" * 32


async def test_backend_created_through_api_is_usable_at_once_and_its_secret_is_sealed(
    stowage_factory, rclone_upstream, s3_bucket
) -> None:
    async with started(stowage_factory, root_key=ROOT_KEY) as h:
        status, body = await h.api.call("POST", "/api/admin/backends", json=backend_body(rclone_upstream))
        assert status == 201
        assert body["id"] == "ui1" and body["source"] == "db" and body["secret_set"] is True
        assert body["path_style"] is True and body["type"] == "s3v4" and body["enabled"] is True
        assert "secret_key" not in body and rclone_upstream.secret_key not in str(body)

        # Live: the registry serves it without a restart, and it talks to the upstream.
        driver = h.registry().driver("ui1")
        assert type(driver).__module__.startswith("stowage.plugins.s3v4")  # the real driver
        buckets = await driver.list_buckets()
        assert s3_bucket in {b.name for b in buckets}
        status, listed = await h.api.call("GET", "/api/backends/ui1/buckets", role="readonly")
        assert status == 200 and s3_bucket in {b["name"] for b in listed["buckets"]}
        status, listed = await h.api.call("GET", "/api/backends", role="readonly")
        assert status == 200 and [b["id"] for b in listed["backends"]] == ["ui1"]
        db_path = h.runtime.settings.db.sqlite.path

    with sqlite3.connect(db_path) as db:
        (blob,) = db.execute("SELECT secret_key_enc FROM backends WHERE id = 'ui1'").fetchone()
    assert rclone_upstream.secret_key.encode() not in blob
    assert SecretBox(decode_key(ROOT_KEY)).unseal_text(blob) == rclone_upstream.secret_key
    assert all(rclone_upstream.secret_key not in text for text in h.api.bodies)


async def test_admin_list_merges_yaml_entries_and_db_rows_including_disabled(
    stowage_factory, rclone_upstream
) -> None:
    yaml = {
        "backends": [{"id": "fromyaml", "type": "s3v4", "endpoint": closed_port_url(), "path_style": True}]
    }
    async with started(stowage_factory, yaml) as h:
        assert (await h.api.call("POST", "/api/admin/backends", json=backend_body(rclone_upstream, "live")))[
            0
        ] == 201
        off = backend_body(rclone_upstream, "off", enabled=False)
        assert (await h.api.call("POST", "/api/admin/backends", json=off))[0] == 201
        assert h.registry().get("off") is None

        status, body = await h.api.call("GET", "/api/admin/backends")
        assert status == 200
        rows = {b["id"]: b for b in body["backends"]}
        assert list(rows) == ["fromyaml", "live", "off"]
        assert rows["fromyaml"]["source"] == "config" and "created_at" not in rows["fromyaml"]
        assert rows["off"]["enabled"] is False and rows["off"]["healthy"] is False
        assert (
            rows["live"]["created_at"].endswith("Z")
            and rows["live"]["access_key"] == rclone_upstream.access_key
        )
        expected = {"id", "name", "type", "endpoint", "region", "path_style", "access_key", "secret_set"}
        assert expected | {"enabled", "source", "healthy"} <= set(rows["live"])

        status, one = await h.api.call("GET", "/api/admin/backends/off")
        assert status == 200 and one["id"] == "off"
        assert (await h.api.call("GET", "/api/admin/backends/nope"))[0] == 404
        status, public = await h.api.call("GET", "/api/backends", role="user")
        assert [b["id"] for b in public["backends"]] == ["fromyaml", "live"]  # disabled rows are not live


async def test_patch_rebuilds_driver_keeps_secret_and_toggles_registration(
    stowage_factory, rclone_upstream, s3_bucket
) -> None:
    async with started(stowage_factory) as h:
        await h.api.call("POST", "/api/admin/backends", json=backend_body(rclone_upstream))
        before = h.registry().driver("ui1")

        status, body = await h.api.call(
            "PATCH", "/api/admin/backends/ui1", json={"name": "Renamed", "region": ""}
        )
        assert status == 200 and body["name"] == "Renamed" and body["secret_set"] is True
        after = h.registry().driver("ui1")
        assert after is not before  # rebuilt with the stored secret
        assert s3_bucket in {b.name for b in await after.list_buckets()}

        status, body = await h.api.call("PATCH", "/api/admin/backends/ui1", json={"enabled": False})
        assert status == 200 and body["enabled"] is False and h.registry().get("ui1") is None
        status, body = await h.api.call("PATCH", "/api/admin/backends/ui1", json={"enabled": True})
        assert status == 200 and h.registry().get("ui1") is not None
        assert s3_bucket in {b.name for b in await h.registry().driver("ui1").list_buckets()}

        # A wrong secret replaces the stored one: the rebuilt driver is refused by the upstream.
        status, _ = await h.api.call(
            "PATCH", "/api/admin/backends/ui1", json={"secret_key": "wrong-secret-0000"}
        )
        assert status == 200
        assert (await h.registry().driver("ui1").probe()).healthy is False

        assert (await h.api.call("PATCH", "/api/admin/backends/nope", json={"name": "x"}))[0] == 404
        status, body = await h.api.call("PATCH", "/api/admin/backends/ui1", json={"endpoint": "ftp://x"})
        assert status == 400 and body["error"]["code"] == "bad_request"


async def test_delete_unregisters_and_forgets_the_row(stowage_factory, rclone_upstream) -> None:
    async with started(stowage_factory) as h:
        await h.api.call("POST", "/api/admin/backends", json=backend_body(rclone_upstream))
        status, body = await h.api.call("DELETE", "/api/admin/backends/ui1")
        assert status == 204 and body is None
        assert h.registry().get("ui1") is None
        assert await h.runtime.store.backends.get("ui1") is None
        status, body = await h.api.call("DELETE", "/api/admin/backends/ui1")
        assert status == 404 and body["error"]["code"] == "not_found"


async def test_create_conflicts_id_taken_and_register_failed_rolls_back(
    stowage_factory, rclone_upstream
) -> None:
    async with started(stowage_factory) as h:
        assert (await h.api.call("POST", "/api/admin/backends", json=backend_body(rclone_upstream)))[0] == 201
        status, body = await h.api.call(
            "POST", "/api/admin/backends", json=backend_body(rclone_upstream, " UI1 ")
        )
        assert status == 409 and body["error"]["code"] == "id_taken"

        status, body = await h.api.call(
            "POST", "/api/admin/backends", json=backend_body(rclone_upstream, "weird", type="nosuchtype")
        )
        assert status == 409 and body["error"]["code"] == "register_failed"
        assert await h.runtime.store.backends.get("weird") is None  # rolled back
        assert h.registry().get("weird") is None


async def test_connection_test_probes_a_throwaway_driver(stowage_factory, rclone_upstream) -> None:
    async with started(stowage_factory) as h:
        status, body = await h.api.call(
            "POST", "/api/admin/backends/test", json=backend_body(rclone_upstream)
        )
        assert status == 200 and body["healthy"] is True and body["latency_ms"] >= 0 and "error" not in body
        down = backend_body(rclone_upstream, endpoint=closed_port_url())
        status, body = await h.api.call("POST", "/api/admin/backends/test", json=down)
        assert status == 200 and body["healthy"] is False and body["error"]
        assert h.registry().all() == []  # nothing registered
        assert await h.runtime.store.backends.list() == []


async def test_admin_routes_need_the_admin_role_and_bodies_are_capped(
    stowage_factory, rclone_upstream
) -> None:
    async with started(stowage_factory) as h:
        for role in ("user", "readonly"):
            for method, path in (
                ("GET", "/api/admin/backends"),
                ("POST", "/api/admin/backends"),
                ("POST", "/api/admin/backends/test"),
                ("GET", "/api/admin/backends/health"),
                ("PATCH", "/api/admin/backends/x"),
                ("DELETE", "/api/admin/backends/x"),
            ):
                status, body = await h.api.call(method, path, role=role, json={})
                assert (status, body["error"]["code"]) == (403, "forbidden"), (role, method, path)
        assert (await h.api.call("GET", "/api/admin/backends", role=""))[0] == 401
        big = backend_body(rclone_upstream, name="n" * 9000)
        status, body = await h.api.call("POST", "/api/admin/backends", json=big)
        assert status == 413 and body["error"]["code"] == "too_large"
