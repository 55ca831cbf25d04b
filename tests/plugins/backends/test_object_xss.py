"""Stored XSS through the object route: a tenant's files opened by an admin in
a real headless Chromium never run as the dashboard."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from stowage.core.contracts.accounts import UserFilter, users
from tests.plugins.auth_local.helpers import PASSWORD, add_user
from tests.plugins.s3proxy.proxyenv import proxy_env
from tests.plugins.shares.test_page import CHROMIUM, CHROMIUM_ARGS

# What the tenant's evil.js does when it runs with the dashboard's origin: read the CSRF cookie
# and create an admin account. It also marks the window so a run is visible even if fetch fails.
EVIL_JS = """
(async () => {
  window.__pwned = true;
  document.title = "pwned";
  const csrf = (document.cookie.match(/stowage_csrf=([^;]+)/) || [])[1] || "";
  await fetch("/api/admin/users", {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
    body: JSON.stringify({username: "evil", password: "evil-password-0123456789", role: "admin",
                          must_change_pw: false}),
  });
})();
"""


def _evil_html(script_url: str) -> bytes:
    return (
        "<!doctype html><html><head><title>innocent</title>"
        f'<script src="{script_url}"></script>'
        f"<script>{EVIL_JS}</script></head><body><p id=body>hello</p></body></html>"
    ).encode()


async def _user_names(runtime: Any) -> set[str]:
    return {u.username for u in await users(runtime).list(UserFilter(limit=1000))}


@pytest.mark.browser
async def test_admin_opening_a_tenants_html_in_chromium_runs_nothing(
    stowage_factory, rclone_upstream, monkeypatch
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api", reason="pip install playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        await add_user(env.runtime, "boss", "admin")
        base = env.stowage.dashboard_url
        route = f"/api/backends/up/buckets/{env.bucket}/object"
        script_url = f"{route}?key=evil.js&disposition=inline"
        tenant = env.client()
        # The tenant's uploads go through the S3 proxy with its one-bucket virtual credential.
        uploads = {
            "evil.html": (_evil_html(script_url), "text/html"),
            "evil.js": (EVIL_JS.encode(), "application/javascript"),
            "evil.svg": (
                b'<svg xmlns="http://www.w3.org/2000/svg"><script>' + EVIL_JS.encode() + b"</script></svg>",
                "image/svg+xml",
            ),
            "evil.txt": (_evil_html(script_url), "text/plain"),  # sniffing bait
            "evil.bin": (_evil_html(script_url), "text/plain, text/html"),  # the browser takes the last
            "evil.xhtml": (_evil_html(script_url), "application/xhtml+xml"),
        }
        for key, (data, content_type) in uploads.items():
            await asyncio.to_thread(
                tenant.put_object, Bucket=env.bucket, Key=key, Body=data, ContentType=content_type
            )
        before = await _user_names(env.runtime)

        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(accept_downloads=True)
                login = await context.request.post(
                    f"{base}/auth/login/local", data={"username": "boss", "password": PASSWORD}
                )
                assert login.status == 200
                page = await context.new_page()
                downloads: list[str] = []
                page.on("download", lambda d: downloads.append(d.suggested_filename))
                rendered: dict[str, str] = {}
                for key in uploads:
                    try:
                        await page.goto(f"{base}{route}?key={key}&disposition=inline")
                    except playwright_api.Error:
                        continue  # navigation became a download: nothing was rendered
                    await page.wait_for_timeout(300)
                    assert await page.evaluate("window.__pwned === true") is False, key
                    assert await page.title() != "pwned", key
                    rendered[key] = await page.evaluate("document.body ? document.body.innerText : ''")
                await page.wait_for_timeout(500)
                # Only the plain-text file was shown, as text: its markup is visible, not parsed.
                assert set(rendered) == {"evil.txt"}
                assert "<script" in rendered["evil.txt"]
                assert sorted(downloads) == sorted(set(uploads) - {"evil.txt"})
                assert await _user_names(env.runtime) == before  # no admin was created

                # Control: the same payload, run as the dashboard, does create the admin — so the
                # checks above would have seen a successful attack.
                await page.goto(f"{base}/api/me")
                await page.evaluate(f"async () => {{ {EVIL_JS.replace('(async', 'await (async')} }}")
                for _ in range(50):
                    if "evil" in await _user_names(env.runtime):
                        break
                    await asyncio.sleep(0.1)
                assert "evil" in await _user_names(env.runtime)
            finally:
                await browser.close()
