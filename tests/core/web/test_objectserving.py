"""The one decision on how object bytes reach a browser, shared by shares and the
object routes: each type class's headers."""

from __future__ import annotations

import pytest

from stowage.core.web.objectserving import OBJECT_CSP, is_active_type, object_headers


@pytest.mark.parametrize(
    ("content_type", "key"),
    [
        ("image/png", "a.png"),
        ("image/jpeg", "photo"),
        ("image/webp", "x"),
        ("text/plain; charset=utf-8", "notes.txt"),
        ("text/csv", "t.csv"),
        ("application/pdf", "doc.pdf"),
        ("audio/mpeg", "song.mp3"),
        ("video/mp4", "film.mp4"),
        ("application/octet-stream", "blob"),
        ("", "no-type"),
    ],
)
def test_passive_types_may_be_inline(content_type: str, key: str) -> None:
    assert is_active_type(content_type, key) is False
    headers = object_headers(content_type, key, inline=True)
    assert headers["Content-Disposition"].startswith("inline;")
    assert headers["Content-Type"] == (content_type or "application/octet-stream")
    assert object_headers(content_type, key, inline=False)["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("content_type", "key"),
    [
        ("text/html", "a"),
        ("TEXT/HTML; charset=utf-8", "a"),
        ("application/xhtml+xml", "a"),
        ("image/svg+xml", "a"),
        ("application/xml", "a"),
        ("text/xml", "a"),
        ("application/javascript", "a"),
        ("text/javascript", "a"),
        ("application/json", "a"),  # not on the allow-list: unknown means active
        ("application/x-unknown", "a"),
        ("multipart/x-mixed-replace; boundary=x", "a"),
        ("image/png", "page.html"),  # the name alone is enough
        ("text/plain", "x.SVG"),
        ("application/octet-stream", "app.js"),
    ],
)
def test_active_types_are_always_attachments(content_type: str, key: str) -> None:
    assert is_active_type(content_type, key) is True
    headers = object_headers(content_type, key, inline=True)
    assert headers["Content-Disposition"].startswith("attachment;")
    assert headers["Content-Type"] == content_type


@pytest.mark.parametrize(
    "content_type",
    ["text/plain, text/html", "text/plain\r\nX-Evil: 1", 'text/plain;charset="a,b"', "texthtml", "a/b c"],
)
def test_ambiguous_types_are_octet_stream_attachments(content_type: str) -> None:
    headers = object_headers(content_type, "f", inline=True)
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment;")


def test_every_response_is_sandboxed_unsniffed_and_uncached() -> None:
    for content_type, inline in (("image/png", True), ("text/html", False), ("", True)):
        headers = object_headers(content_type, "k", inline=inline)
        assert headers["Content-Security-Policy"] == OBJECT_CSP
        assert OBJECT_CSP.startswith("sandbox;") and "default-src 'none'" in OBJECT_CSP
        assert "script-src" not in OBJECT_CSP
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
