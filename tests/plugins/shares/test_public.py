"""The public share endpoints against a real rclone upstream."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from stowage.core.formats.timefmt import to_rfc3339
from stowage.plugins.shares.objects import RAW_CSP
from tests.plugins.shares.support import ALICE, cookie_from, share_env

BODY = bytes(range(256)) * 40  # 10 KiB


@pytest.fixture
async def env(stowage_factory, rclone_upstream, s3_bucket, monkeypatch):
    async with share_env(stowage_factory, rclone_upstream, s3_bucket, monkeypatch) as e:
        e.put("files/data.bin", BODY)
        yield e


async def test_info_and_raw_serve_the_object_and_count(env) -> None:
    share = await env.create(key="files/data.bin", max_downloads=5)
    status, headers, info = await env.call("GET", f"/s/{share['code']}/info")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert info["name"] == "data.bin" and info["size"] == len(BODY)
    assert info["downloads_left"] == 5 and info["download_count"] == 0
    assert info["preview_kind"] == "none" and info["raw_url"] == f"/s/{share['code']}/raw"
    status, headers, body = await env.call("GET", f"/s/{share['code']}/raw")
    assert status == 200 and body == BODY
    assert headers["Content-Length"] == str(len(BODY))
    assert headers["Content-Disposition"] == 'attachment; filename="data.bin"'
    assert headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == RAW_CSP and headers["Accept-Ranges"] == "bytes"
    status, headers, body = await env.call("HEAD", f"/s/{share['code']}/raw")
    assert status == 200 and body == b"" and headers["Content-Length"] == str(len(BODY))
    _, _, info = await env.call("GET", f"/s/{share['code']}/info")
    assert info["download_count"] == 1 and info["downloads_left"] == 4  # HEAD sent no bytes: no count


async def test_max_downloads_3_under_20_concurrent_raw_requests_serves_exactly_3(env) -> None:
    share = await env.create(key="files/data.bin", max_downloads=3)
    results = await asyncio.gather(*(env.call("GET", f"/s/{share['code']}/raw") for _ in range(20)))
    served = [body for status, _, body in results if status == 200]
    refused = [body for status, _, body in results if status != 200]
    assert len(served) == 3 and all(body == BODY for body in served)
    assert len(refused) == 17
    assert all(status == 410 for status, _, _ in results if status != 200)
    assert all(body["error"]["code"] == "exhausted" for body in refused)
    row = await env.runtime.store.db.fetchone(
        "SELECT download_count FROM shares WHERE id = ?", (share["id"],)
    )
    assert row["download_count"] == 3
    status, _, payload = await env.call("GET", f"/s/{share['code']}/raw")
    assert (status, payload["error"]["code"]) == (410, "exhausted")
    assert payload["error"]["message"] == "this share link is no longer available"


async def test_expired_revoked_and_unknown(env) -> None:
    expires = to_rfc3339(datetime.fromtimestamp(env.clock() + 60, UTC))
    soon = await env.create(key="files/data.bin", expires_at=expires)
    status, _, _ = await env.call("GET", f"/s/{soon['code']}/info")
    assert status == 200
    env.clock.advance(61)
    for path in ("info", "raw"):
        status, _, payload = await env.call("GET", f"/s/{soon['code']}/{path}")
        assert (status, payload["error"]["code"]) == (410, "expired")
    revoked = await env.create(key="files/data.bin")
    await env.call("DELETE", f"/api/shares/{revoked['id']}", headers=ALICE)
    status, _, payload = await env.call("GET", f"/s/{revoked['code']}/raw")
    assert (status, payload["error"]["code"]) == (410, "revoked")
    for code in ("AAAAAAAAAAAAAA", "bad..code"):
        status, _, payload = await env.call("GET", f"/s/{code}/raw")
        assert (status, payload["error"]["code"]) == (404, "not_found")


async def test_password_required_mismatch_and_cookie_bound_to_its_code(env) -> None:
    one = await env.create(key="files/data.bin", password="correct horse")
    two = await env.create(key="files/data.bin", password="correct horse")
    status, _, payload = await env.call("GET", f"/s/{one['code']}/raw")
    assert (status, payload["error"]["code"]) == (401, "password_required")
    status, _, payload = await env.call("POST", f"/s/{one['code']}/unlock", json={"password": "wrong"})
    assert (status, payload["error"]) == (401, {"code": "password_mismatch", "message": "wrong password"})
    status, _, payload = await env.call("POST", f"/s/{one['code']}/unlock", json={})
    assert (status, payload["error"]["code"]) == (401, "password_mismatch")
    status, headers, info = await env.call(
        "POST", f"/s/{one['code']}/unlock", json={"password": "correct horse"}
    )
    assert status == 200 and info["name"] == "data.bin"
    [set_cookie] = headers.getall("Set-Cookie")
    assert f"stowage_unlock_{one['code']}=" in set_cookie
    for attribute in (f"Path=/s/{one['code']}", "HttpOnly", "SameSite=Lax", "Max-Age=1800"):
        assert attribute in set_cookie
    assert "Secure" not in set_cookie
    value = cookie_from(headers, f"stowage_unlock_{one['code']}")
    expiry, _, mac = value.partition(".")
    assert expiry.isdigit() and len(mac) == 43
    status, _, body = await env.call(
        "GET", f"/s/{one['code']}/raw", headers={"Cookie": f"stowage_unlock_{one['code']}={value}"}
    )
    assert status == 200 and body == BODY
    # Replayed under the other code's cookie name (the browser would send it for that path too).
    status, _, payload = await env.call(
        "GET", f"/s/{two['code']}/raw", headers={"Cookie": f"stowage_unlock_{two['code']}={value}"}
    )
    assert (status, payload["error"]["code"]) == (401, "password_required")
    tampered = f"{int(expiry) + 999}.{mac}"
    status, _, _ = await env.call(
        "GET", f"/s/{one['code']}/raw", headers={"Cookie": f"stowage_unlock_{one['code']}={tampered}"}
    )
    assert status == 401
    env.clock.advance(1801)
    status, _, payload = await env.call(
        "GET", f"/s/{one['code']}/raw", headers={"Cookie": f"stowage_unlock_{one['code']}={value}"}
    )
    assert (status, payload["error"]["code"]) == (401, "password_required")


async def test_range_request_gets_206_and_unsatisfiable_gets_416(env) -> None:
    share = await env.create(key="files/data.bin", max_downloads=2)
    code = share["code"]
    status, headers, body = await env.call("GET", f"/s/{code}/raw", headers={"Range": "bytes=100-299"})
    assert status == 206 and body == BODY[100:300]
    assert headers["Content-Range"] == f"bytes 100-299/{len(BODY)}" and headers["Content-Length"] == "200"
    status, headers, payload = await env.call("GET", f"/s/{code}/raw", headers={"Range": "bytes=99999-"})
    assert (status, payload["error"]["code"]) == (416, "bad_range")
    assert headers["Content-Range"] == f"bytes */{len(BODY)}"
    status, _, body = await env.call("GET", f"/s/{code}/raw", headers={"Range": "bytes=-5"})
    assert status == 200 and body == BODY  # suffix ranges are ignored
    row = await env.runtime.store.db.fetchone(
        "SELECT download_count FROM shares WHERE id = ?", (share["id"],)
    )
    assert row["download_count"] == 2  # the 416 cost nothing


@pytest.mark.parametrize(
    ("key", "content_type"),
    [("page.html", "text/html"), ("logo.svg", "image/svg+xml"), ("x.bin", "image/svg+xml"), ("f.xml", "")],
)
async def test_active_content_is_always_an_attachment_with_the_sandbox_csp(env, key, content_type) -> None:
    env.put(
        key,
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        content_type or "application/octet-stream",
    )
    share = await env.create(key=key, disposition="inline")
    status, headers, _ = await env.call("GET", f"/s/{share['code']}/raw?inline=1")
    assert status == 200
    assert headers["Content-Disposition"].startswith("attachment;")
    assert (
        headers["Content-Security-Policy"]
        == "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_inline_is_honoured_for_passive_types(env) -> None:
    env.put("pic.png", b"\x89PNG fake", "image/png")
    share = await env.create(key="pic.png")
    _, headers, _ = await env.call("GET", f"/s/{share['code']}/raw?inline=1")
    assert headers["Content-Disposition"] == 'inline; filename="pic.png"'
    _, headers, _ = await env.call("GET", f"/s/{share['code']}/raw")
    assert headers["Content-Disposition"] == 'attachment; filename="pic.png"'


async def test_public_accesses_are_audited_with_their_result(env) -> None:
    share = await env.create(key="files/data.bin", password="pw", max_downloads=1)
    code = share["code"]
    await env.call("GET", f"/s/{code}/info")
    await env.call("POST", f"/s/{code}/unlock", json={"password": "nope"})
    _, headers, _ = await env.call("POST", f"/s/{code}/unlock", json={"password": "pw"})
    cookie = {"Cookie": f"stowage_unlock_{code}={cookie_from(headers, f'stowage_unlock_{code}')}"}
    await env.call("GET", f"/s/{code}/raw", headers=cookie)
    await env.call("GET", f"/s/{code}/raw", headers=cookie)
    await env.call("GET", "/s/AAAAAAAAAAAAAA/info")
    events = [e for e in await env.audit.collected("share.") if e.action != "share.create"]
    got = [(e.action, e.detail["result"], e.outcome) for e in events]
    assert got == [
        ("share.info", "password_required", "denied"),
        ("share.unlock", "password_mismatch", "denied"),
        ("share.unlock", "ok", "ok"),
        ("share.access", "ok", "ok"),
        ("share.access", "exhausted", "denied"),
        ("share.info", "not_found", "denied"),
    ]
    assert all(e.user_id == "" for e in events)
    assert events[3].detail == {"share_id": share["id"], "code": code, "result": "ok"}
    assert (events[3].backend, events[3].bucket, events[3].key) == ("main", env.bucket, "files/data.bin")
    assert events[5].detail == {"share_id": "", "code": "AAAAAAAAAAAAAA", "result": "not_found"}


async def test_per_ip_share_limiter_answers_429(
    stowage_factory, rclone_upstream, s3_bucket, monkeypatch
) -> None:
    async with share_env(
        stowage_factory, rclone_upstream, s3_bucket, monkeypatch, ratelimit={"share_per_minute": 10}
    ) as env:
        env.put("a.txt", b"a")
        share = await env.create(key="a.txt")
        paths = [f"/s/{share['code']}/info", f"/s/{share['code']}/raw", "/s/AAAAAAAAAAAAAA/info"] * 4
        statuses = [(await env.call("GET", path))[0] for path in paths[:10]]
        assert 429 not in statuses
        status, headers, payload = await env.call("GET", f"/s/{share['code']}/info")
        assert (status, payload["error"]["code"]) == (429, "rate_limited")
        assert "Retry-After" not in headers
        status, _, _ = await env.call("GET", f"/s/{share['code']}")
        assert status == 429
        status, _, _ = await env.call("GET", "/api/shares", headers=ALICE)
        assert status == 200  # the API is not behind the share limiter
        env.clock.advance(61)
        status, _, _ = await env.call("GET", f"/s/{share['code']}/info")
        assert status == 200
