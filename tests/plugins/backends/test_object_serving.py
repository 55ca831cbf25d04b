"""Object bytes on the dashboard origin: every type class's headers
from the object route against a real upstream, and upload content types that would split headers."""

from __future__ import annotations

import aiohttp
import pytest

from stowage.core.web.objectserving import OBJECT_CSP

CASES = [
    # (key, stored content type, disposition the browser gets for ?disposition=inline)
    ("pic.png", "image/png", "inline"),
    ("notes.txt", "text/plain", "inline"),
    ("doc.pdf", "application/pdf", "inline"),
    ("song.mp3", "audio/mpeg", "inline"),
    ("page.html", "text/html", "attachment"),
    ("drawing.svg", "image/svg+xml", "attachment"),
    ("app.js", "application/javascript", "attachment"),
    ("feed", "application/xml", "attachment"),
    ("data", "application/x-whatever", "attachment"),
    ("disguised.txt", "text/html; charset=utf-8", "attachment"),
    ("named.html", "image/png", "attachment"),
]


async def _upload(api, bucket: str, key: str, content_type: str) -> tuple[int, object]:
    form = aiohttp.FormData()
    form.add_field("key", key)
    form.add_field("content_type", content_type)
    form.add_field("file", b"<script>alert(1)</script>", filename="f", content_type="application/x-test")
    return await api.call("POST", f"/api/backends/main/buckets/{bucket}/object", data=form)


@pytest.mark.parametrize(("key", "content_type", "disposition"), CASES)
async def test_object_route_sandboxes_every_type(api, s3_bucket, key, content_type, disposition) -> None:
    assert (await _upload(api, s3_bucket, key, content_type))[0] == 201
    for params, expected in (
        ({"key": key, "disposition": "inline"}, disposition),
        ({"key": key}, "attachment"),
    ):
        async with api.request(
            "GET", f"/api/backends/main/buckets/{s3_bucket}/object", "readonly", params=params
        ) as r:
            assert r.status == 200
            assert r.headers["Content-Disposition"].startswith(expected + ";"), params
            assert r.headers["Content-Security-Policy"] == OBJECT_CSP
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Cache-Control"] == "no-store"
            assert r.headers["Content-Type"] == content_type
    # A range request is object bytes too.
    async with api.request(
        "GET",
        f"/api/backends/main/buckets/{s3_bucket}/object",
        params={"key": key, "disposition": "inline"},
        headers={"Range": "bytes=0-3"},
    ) as r:
        assert r.status == 206 and r.headers["Content-Security-Policy"] == OBJECT_CSP
        assert r.headers["Content-Disposition"].startswith(disposition + ";")


@pytest.mark.parametrize("content_type", ["text/plain\r\nX-Injected: 1", "text/html\n", "a\x00b", "x" * 300])
async def test_upload_content_type_with_controls_is_400(api, s3_bucket, content_type) -> None:
    status, body = await _upload(api, s3_bucket, "ct.txt", content_type)
    assert status == 400 and body["error"]["code"] == "bad_request"
    assert "content_type" in body["error"]["message"]
    status, _ = await api.call(
        "GET", f"/api/backends/main/buckets/{s3_bucket}/object/info", params={"key": "ct.txt"}
    )
    assert status == 404  # nothing was stored
