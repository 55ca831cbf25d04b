"""``/api/docs`` (issue 14 item 8): Swagger UI from the pinned package, under the dashboard's CSP,
rendering our document in a real headless Chromium with no CSP violation and no outside request."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.plugins.shares.test_page import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Records what the browser refused, before any page script runs.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


async def test_docs_page_and_assets_are_served_from_the_package_under_the_csp(stowage_factory) -> None:
    async with stowage_factory() as running, aiohttp.ClientSession() as http:
        base = running.dashboard_url
        async with http.get(f"{base}/api/docs") as response:
            page = await response.text()
            csp = response.headers["Content-Security-Policy"]
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "<script>" not in page and "http" not in page  # no inline script, no CDN
        async with http.get(f"{base}/api/docs/assets/swagger-ui-bundle.js") as response:
            assert response.status == 200 and len(await response.read()) > 500_000
        async with http.get(f"{base}/api/docs/init.js") as response:
            assert response.status == 200 and "SwaggerUIBundle" in await response.text()
        for probe in ("../__init__.py", "..%2F__init__.py", "nope.js", ".hidden"):
            async with http.get(f"{base}/api/docs/assets/{probe}") as response:
                assert response.status == 404, probe
                assert (await response.json())["error"]["code"] == "not_found"


@pytest.mark.browser
async def test_docs_render_in_headless_chromium_without_csp_violations(stowage_factory) -> None:
    playwright_api = pytest.importorskip("playwright.async_api", reason="pip install playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    async with stowage_factory() as running:
        base = running.dashboard_url
        requested: list[str] = []
        console_errors: list[str] = []
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                await page.add_init_script(WATCH_CSP)
                page.on("request", lambda request: requested.append(request.url))
                page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
                await page.goto(f"{base}/api/docs")
                await page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
                title = await page.text_content(".swagger-ui .info .title")
                await page.wait_for_selector('[data-path="/api/me/password"]', timeout=20_000)
                violations = await page.evaluate("window.__cspViolations")
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
            finally:
                await browser.close()
    assert title is not None and "Stowage dashboard API" in title
    assert violations == []
    assert not [m for m in console_errors if "Content Security Policy" in m], console_errors
    assert requested and all(url.startswith(base) for url in requested), requested
