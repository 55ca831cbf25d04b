"""The recipient page ``/s/<code>`` (SHARE-9): server-rendered HTML that works without JavaScript.

``GET /s/<code>`` shows the name, size, expiry, downloads left, a preview and a download link;
for a locked share it shows a password form that posts to ``POST /s/<code>``, which sets the unlock
cookie and redirects (303) back. Audited as ``share.info`` / ``share.unlock`` with
``detail.via = "page"``.

Previews (a deliberate choice): only for links *without* a download cap, so viewing never uses up a
capped download. Images, video and audio load from ``/raw?inline=1`` and so count like any ``/raw``
request (video and audio use ``preload="none"``: nothing loads until play is pressed); text is read
server-side (first 64 KiB) and does not count; PDFs get an "open" link instead of a frame, because
``/raw`` answers with ``X-Frame-Options: DENY`` and a sandbox CSP.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from quart import Blueprint, Response, g, render_template

from stowage.core.contracts.shares import Share
from stowage.core.formats.timefmt import to_rfc3339
from stowage.core.kernel.errors import ApiError, Unauthorized
from stowage.core.openapi import hidden
from stowage.core.web.request_context import current_runtime, read_body
from stowage.plugins.shares.gate import RESULTS, audit_access, open_share, rate_limit
from stowage.plugins.shares.objects import TEXT_PREVIEW_BYTES, head, read_prefix
from stowage.plugins.shares.public import password_matches
from stowage.plugins.shares.rules import preview_kind, safe_filename
from stowage.plugins.shares.unlock import set_unlock_cookie

__all__ = ["human_size", "share_page"]

share_page = Blueprint("shares_page", __name__, template_folder="templates")


def human_size(size: int) -> str:
    """``1.5 MiB``-style size for people."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover - the loop always returns


async def _html(template: str, http_status: int, **context: Any) -> Response:
    response = Response(await render_template(template, **context), status=http_status)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    return response


async def _unavailable(status: int) -> Response:
    """One generic page for 404/410 (which code it was stays in the audit log), 429, and failures."""
    return await _html("share_unavailable.html", status, status=status)


async def _locked(share: Share, *, wrong: bool) -> Response:
    return await _html("share_locked.html", 401, code=share.code, wrong=wrong)


async def _preview(share: Share, kind: str, size: int) -> dict[str, Any]:
    if share.capped or kind == "none":
        return {"kind": "none"}
    if kind != "text":
        return {"kind": kind}
    try:
        data = await read_prefix(current_runtime(), share, size)
    except ApiError:
        return {"kind": "none"}
    return {"kind": "text", "text": data.decode("utf-8", "replace"), "cut": size > TEXT_PREVIEW_BYTES}


async def _guarded(action: str, code: str, body: Any) -> Response:
    """Run a page view: rate limit, then audit its result and render failures as HTML."""
    try:
        rate_limit(current_runtime())
    except ApiError:
        return await _unavailable(429)
    try:
        response: Response = await body()
    except ApiError as exc:
        if exc.code in RESULTS:
            audit_access(action, code, exc.code, via="page")
        if exc.code in {"password_required", "password_mismatch"}:
            return await _locked(g.share, wrong=exc.code == "password_mismatch")
        return await _unavailable(exc.http_status)
    audit_access(action, code, "ok", via="page")
    return response


@share_page.get("/s/<code>")
@hidden
async def view_share(code: str) -> Response:
    """The recipient page."""

    async def body() -> Response:
        runtime = current_runtime()
        share = await open_share(runtime, code)
        info = await head(runtime, share)
        kind = preview_kind(info.content_type, share.key)
        return await _html(
            "share_page.html",
            200,
            share=share,
            name=safe_filename(share.key),
            size=human_size(info.size),
            size_bytes=info.size,
            expires=to_rfc3339(share.expires_at) if share.expires_at else "",
            left=share.downloads_left,
            raw=f"/s/{share.code}/raw",
            preview=await _preview(share, kind, info.size),
            capped_kind=kind if share.capped else "none",
        )

    return await _guarded("share.info", code, body)


@share_page.post("/s/<code>")
@hidden
async def unlock_form(code: str) -> Response:
    """The password form: check it, set the unlock cookie, 303 back to the page."""

    async def body() -> Response:
        runtime = current_runtime()
        share = await open_share(runtime, code, unlocked=False)
        form = parse_qs((await read_body(4096)).decode("utf-8", "replace"))
        if not await password_matches(share, (form.get("password") or [""])[0]):
            raise Unauthorized("wrong password", code="password_mismatch")
        response = Response("", status=303, headers={"Location": f"/s/{share.code}"})
        if share.has_password:
            set_unlock_cookie(response, runtime, share.code)
        return response

    return await _guarded("share.unlock", code, body)
