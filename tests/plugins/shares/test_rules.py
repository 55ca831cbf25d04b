"""Share rules: codes, active types, preview kinds, and the shared key/name/range rules as shares use them."""

from __future__ import annotations

import pytest

from stowage.plugins.shares.api import new_code
from stowage.plugins.shares.rules import (
    content_disposition,
    is_active_type,
    key_problem,
    parse_range,
    preview_kind,
    safe_filename,
    valid_code,
)


@pytest.mark.parametrize("key", ["a", "dir/file.txt", "tab\there", "ünïcödé/名前.txt", "x" * 1024, "a..b/c"])
def test_valid_keys(key: str) -> None:
    assert key_problem(key) == ""


@pytest.mark.parametrize(
    "key",
    [
        "",
        "x" * 1025,
        "nul\x00",
        "bell\x07",
        "del\x7f",
        "new\nline",
        "rtl\u202e.txt",
        "iso\u2066",
        "../up",
        "a/../b",
        "a/..",
    ],
)
def test_invalid_keys(key: str) -> None:
    assert key_problem(key) != ""


def test_safe_filename_strips_quotes_controls_and_bidi() -> None:
    assert safe_filename('dir/we"ird\\na\u202eme\x01.txt') == "weirdname.txt"
    assert safe_filename("dir/") == "dir"
    assert safe_filename('"\u202e"') == "download"


def test_content_disposition_adds_utf8_name_when_not_ascii() -> None:
    assert content_disposition("a/report.pdf", "attachment") == 'attachment; filename="report.pdf"'
    value = content_disposition("名前.txt", "inline")
    assert value.startswith("inline; filename=\"__.txt\"; filename*=UTF-8''%E5%90%8D%E5%89%8D.txt")


@pytest.mark.parametrize(
    ("content_type", "key", "active"),
    [
        ("image/svg+xml", "x.bin", True),
        ("text/html; charset=utf-8", "x", True),
        ("application/xhtml+xml", "x", True),
        ("application/xml", "x", True),
        ("text/xml", "x", True),
        ("application/octet-stream", "page.HTM", True),
        ("", "a.svg", True),
        ("image/png", "a.png", False),
        ("text/plain", "a.txt", False),
    ],
)
def test_active_types(content_type: str, key: str, active: bool) -> None:
    assert is_active_type(content_type, key) is active


@pytest.mark.parametrize(
    ("content_type", "key", "kind"),
    [
        ("image/png", "x", "image"),
        ("video/mp4", "x", "video"),
        ("audio/mpeg", "x", "audio"),
        ("application/pdf", "x", "pdf"),
        ("text/plain; charset=utf-8", "x", "text"),
        ("application/json", "x", "text"),
        ("application/octet-stream", "a.JPG", "image"),
        ("binary/octet-stream", "notes.md", "text"),
        ("application/octet-stream", "a.bin", "none"),
    ],
)
def test_preview_kind(content_type: str, key: str, kind: str) -> None:
    assert preview_kind(content_type, key) == kind


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, None)),
        ("bytes=-5", None),
        ("bytes=0-1,4-5", None),
        ("bytes=9-3", None),
        ("items=0-1", None),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int | None] | None) -> None:
    assert parse_range(header) == expected


def test_codes_are_14_base64url_characters() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 14 and valid_code(c) for c in codes)
    assert not valid_code("../x") and not valid_code("") and not valid_code("a" * 129)
