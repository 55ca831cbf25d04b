"""The owner's share API against a real rclone upstream."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from stowage.core.formats.timefmt import to_rfc3339
from tests.plugins.shares.support import ADMIN, ALICE, BOB, READER, share_env


@pytest.fixture
async def env(stowage_factory, rclone_upstream, s3_bucket, monkeypatch):
    async with share_env(stowage_factory, rclone_upstream, s3_bucket, monkeypatch) as e:
        e.put("docs/report.txt", b"hello share")
        yield e


async def test_create_returns_the_code_names_and_audits(env) -> None:
    expires = to_rfc3339(datetime.now(UTC) + timedelta(days=1))
    share = await env.create(key="docs/report.txt", expires_at=expires, max_downloads=3, password="pw")
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", share["id"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{14}", share["code"])
    assert share["url"] == share["path"] == f"/s/{share['code']}"
    assert share["backend_id"] == "main" and share["key"] == "docs/report.txt"
    assert share["created_by"] == "alice" and share["has_password"] is True
    assert share["max_downloads"] == 3 and share["download_count"] == 0
    assert share["revoked"] is False and share["disposition"] == "attachment"
    assert share["expires_at"] == expires
    assert "password" not in str(share).replace("has_password", "")
    row = await env.runtime.store.db.fetchone("SELECT password_hash FROM shares WHERE id = ?", (share["id"],))
    assert row["password_hash"].startswith("$argon2id$v=19$m=65536,t=3,p=2$")
    [event] = await env.audit.collected("share.create")
    assert event.user_id == "alice" and event.key == "docs/report.txt"
    assert event.detail == {
        "share_id": share["id"],
        "code": share["code"],
        "has_password": True,
        "max_downloads": 3,
    }


async def test_create_accepts_the_documented_aliases(env) -> None:
    share = await env.create(backend="main", backend_id=None, key="docs/report.txt", download_limit=2)
    assert share["backend_id"] == "main" and share["max_downloads"] == 2
    unlimited = await env.create(key="docs/report.txt", max_downloads=0, disposition="inline")
    assert "max_downloads" not in unlimited and "expires_at" not in unlimited
    assert unlimited["disposition"] == "inline" and unlimited["has_password"] is False


@pytest.mark.parametrize(
    ("body", "status", "code", "needle"),
    [
        ({"key": "a/../b"}, 400, "invalid_key", "invalid key"),
        ({"key": "bad\x01"}, 400, "invalid_key", "invalid key"),
        ({"key": "docs/report.txt", "expires_at": "tomorrow"}, 400, "bad_request", "expires_at"),
        ({"key": "docs/report.txt", "expires_at": "2001-01-01T00:00:00Z"}, 400, "bad_request", "future"),
        ({"key": "docs/report.txt", "max_downloads": -1}, 400, "bad_request", "max_downloads"),
        ({"key": "docs/report.txt", "max_downloads": "3"}, 400, "bad_request", "max_downloads"),
        ({"key": "docs/report.txt", "max_downloads": 10**30}, 400, "bad_request", "max_downloads"),
        ({"key": "docs/report.txt", "max_downloads": 2**63}, 400, "bad_request", "max_downloads"),
        ({"key": "docs/report.txt", "disposition": "evil"}, 400, "bad_request", "disposition"),
        ({"key": "docs/missing.txt"}, 400, "bad_request", "target object not reachable"),
        ({"key": "docs/report.txt", "backend_id": "nope"}, 502, "backend_error", "backend unavailable"),
        ({"key": "docs/report.txt", "bucket": ""}, 400, "bad_request", "bucket"),
    ],
)
async def test_create_rejects_invalid_input(env, body, status, code, needle) -> None:
    body = {"backend_id": "main", "bucket": env.bucket, **body}
    got, _, payload = await env.call("POST", "/api/shares", json=body, headers=ALICE)
    assert got == status, payload
    assert payload["error"]["code"] == code
    assert needle in payload["error"]["message"]
    if code == "bad_request":
        assert payload["error"]["message"].startswith("invalid share parameters: ")


async def test_create_limits_body_size_and_role(env) -> None:
    status, _, payload = await env.call(
        "POST",
        "/api/shares",
        data=b"{" + b" " * 5000 + b"}",
        headers={**ALICE, "Content-Type": "application/json"},
    )
    assert status == 413, payload
    status, _, payload = await env.call("POST", "/api/shares", json={"key": "x"}, headers=READER)
    assert status == 403 and payload["error"]["code"] == "forbidden"


async def test_list_is_own_newest_first_and_scope_all_is_admin_only(env) -> None:
    first = await env.create(key="docs/report.txt")
    env.clock.advance(1)
    second = await env.create(key="docs/report.txt")
    await env.create(key="docs/report.txt", headers=BOB)
    status, _, mine = await env.call("GET", "/api/shares", headers=ALICE)
    assert status == 200
    assert [s["id"] for s in mine["shares"]] == [second["id"], first["id"]]
    status, _, denied = await env.call("GET", "/api/shares?scope=all", headers=ALICE)
    assert status == 403 and denied["error"] == {"code": "forbidden", "message": "admin only"}
    status, _, everyone = await env.call("GET", "/api/shares?scope=all", headers=ADMIN)
    assert status == 200 and len(everyone["shares"]) == 3
    status, _, readonly = await env.call("GET", "/api/shares", headers=READER)
    assert status == 200 and readonly == {"shares": []}


async def test_revoke_owner_only_idempotent_and_audited(env) -> None:
    share = await env.create(key="docs/report.txt")
    status, _, payload = await env.call("DELETE", f"/api/shares/{share['id']}", headers=BOB)
    assert status == 404 and payload["error"]["code"] == "not_found"
    status, _, _ = await env.call("DELETE", f"/api/shares/{share['id']}", headers=ALICE)
    assert status == 204
    status, _, _ = await env.call("DELETE", f"/api/shares/{share['id']}", headers=ALICE)
    assert status == 204
    status, _, _ = await env.call("DELETE", "/api/shares/unknown", headers=ADMIN)
    assert status == 404
    other = await env.create(key="docs/report.txt", headers=BOB)
    status, _, _ = await env.call("DELETE", f"/api/shares/{other['id']}", headers=ADMIN)
    assert status == 204
    _, _, listed = await env.call("GET", "/api/shares", headers=ALICE)
    assert listed["shares"][0]["revoked"] is True and "revoked_at" in listed["shares"][0]
    revokes = await env.audit.collected("share.revoke")
    assert [(e.user_id, e.detail) for e in revokes] == [
        ("alice", {"share_id": share["id"]}),
        ("root", {"share_id": other["id"]}),
    ]


async def test_public_url_makes_the_url_absolute(
    stowage_factory, rclone_upstream, s3_bucket, monkeypatch
) -> None:
    extra = {"server": {"public_url": "https://files.example.com/"}}
    async with share_env(stowage_factory, rclone_upstream, s3_bucket, monkeypatch, **extra) as env:
        env.put("a.txt", b"a")
        share = await env.create(key="a.txt")
        assert share["url"] == f"https://files.example.com/s/{share['code']}"
        assert share["path"] == f"/s/{share['code']}"
        _, _, listed = await env.call("GET", "/api/shares", headers=ALICE)
        assert listed["shares"][0]["url"] == share["url"]
