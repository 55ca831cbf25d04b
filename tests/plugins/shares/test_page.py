"""The recipient page ``/s/<code>`` (SHARE-9): plain HTTP checks, then a real headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.plugins.shares.support import ALICE, cookie_from, share_env

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5d1b1a90000000049454e44ae426082"
)


@pytest.fixture
async def env(stowage_factory, rclone_upstream, s3_bucket, monkeypatch):
    async with share_env(stowage_factory, rclone_upstream, s3_bucket, monkeypatch) as e:
        yield e


async def test_page_shows_details_and_previews_without_counting(env) -> None:
    env.put("notes/readme.txt", b"<b>hello</b> & welcome\n" * 3, "text/plain")
    share = await env.create(key="notes/readme.txt")
    status, headers, html = await env.call("GET", f"/s/{share['code']}")
    page = html.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]  # the strict global CSP
    assert "<script" not in page
    assert "readme.txt" in page and "unlimited" in page and "never" in page
    assert f'href="/s/{share["code"]}/raw"' in page
    assert "&lt;b&gt;hello&lt;/b&gt; &amp; welcome" in page  # server-side text preview, escaped
    _, _, info = await env.call("GET", f"/s/{share['code']}/info")
    assert info["download_count"] == 0  # neither the page nor its text preview counted


async def test_capped_links_get_no_preview(env) -> None:
    env.put("pic.png", PNG_1PX, "image/png")
    share = await env.create(key="pic.png", max_downloads=2)
    _, _, html = await env.call("GET", f"/s/{share['code']}")
    page = html.decode()
    assert "<img" not in page and "No preview" in page and ">2<" in page
    uncapped = await env.create(key="pic.png")
    _, _, html = await env.call("GET", f"/s/{uncapped['code']}")
    assert f'<img src="/s/{uncapped["code"]}/raw?inline=1"' in html.decode()


async def test_password_form_sets_the_cookie_and_redirects(env) -> None:
    env.put("secret.txt", b"classified", "text/plain")
    share = await env.create(key="secret.txt", password="open sesame")
    code = share["code"]
    status, _, html = await env.call("GET", f"/s/{code}")
    assert status == 401 and b'<form method="post"' in html and b"secret.txt" not in html
    status, _, html = await env.call("POST", f"/s/{code}", data={"password": "wrong"})
    assert status == 401 and b"Wrong password" in html
    status, headers, _ = await env.call("POST", f"/s/{code}", data={"password": "open sesame"})
    assert status == 303 and headers["Location"] == f"/s/{code}"
    cookie = cookie_from(headers, f"stowage_unlock_{code}")
    status, _, html = await env.call(
        "GET", f"/s/{code}", headers={"Cookie": f"stowage_unlock_{code}={cookie}"}
    )
    assert status == 200 and b"secret.txt" in html and b"classified" in html
    events = [e for e in await env.audit.collected("share.") if e.action != "share.create"]
    results = [(e.action, e.detail["result"], e.detail.get("via")) for e in events]
    assert results == [
        ("share.info", "password_required", "page"),
        ("share.unlock", "password_mismatch", "page"),
        ("share.unlock", "ok", "page"),
        ("share.info", "ok", "page"),
    ]


async def test_unavailable_shares_get_one_generic_page(env) -> None:
    env.put("a.txt", b"a")
    share = await env.create(key="a.txt", max_downloads=1)
    await env.call("GET", f"/s/{share['code']}/raw")
    revoked = await env.create(key="a.txt")
    await env.call("DELETE", f"/api/shares/{revoked['id']}", headers=ALICE)
    pages = {}
    for code in (share["code"], revoked["code"], "AAAAAAAAAAAAAA"):
        status, headers, html = await env.call("GET", f"/s/{code}")
        pages[status] = html
        assert headers["Content-Type"].startswith("text/html")
        assert b"no longer available" in html
    assert set(pages) == {410, 404}
    assert pages[410] == pages[404]  # which case it was stays in the audit log


@pytest.mark.browser
async def test_recipient_page_in_headless_chromium(env) -> None:
    """Chromium shows the name, takes the password and downloads byte-identical content."""
    playwright_api = pytest.importorskip("playwright.async_api", reason="pip install playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    data = bytes(range(256)) * 4096 + b"tail"
    env.put("reports/q3 results.bin", data)
    share = await env.create(key="reports/q3 results.bin", password="hunter2hunter2", max_downloads=5)
    ARTIFACTS.mkdir(exist_ok=True)
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(accept_downloads=True, java_script_enabled=False)
            page = await context.new_page()
            await page.goto(f"{env.base}/s/{share['code']}")
            await page.fill("#password", "wrong one")
            await page.click("button[type=submit]")
            assert await page.is_visible("#wrong-password")
            await page.fill("#password", "hunter2hunter2")
            await page.click("button[type=submit]")
            assert (await page.text_content("#file-name")) == "q3 results.bin"
            assert (await page.text_content("#downloads-left")) == "5"
            await page.screenshot(path=str(ARTIFACTS / "share-recipient-page.png"), full_page=True)
            async with page.expect_download() as waiting:
                await page.click("#download")
            download = await waiting.value
            assert download.suggested_filename == "q3 results.bin"
            assert Path(await download.path()).read_bytes() == data
        finally:
            await browser.close()
    _, _, info = await env.call(
        "GET", f"/s/{share['code']}/raw", headers={"Range": "bytes=0-0"}
    )  # still locked for a client without the cookie
    assert info["error"]["code"] == "password_required"
    row = await env.runtime.store.db.fetchone(
        "SELECT download_count FROM shares WHERE id = ?", (share["id"],)
    )
    assert row["download_count"] == 1
