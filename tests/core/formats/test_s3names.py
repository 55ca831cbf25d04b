"""Input rules of the storage API: bucket names, object keys and ranges."""

from __future__ import annotations

import pytest

from stowage.core.formats.s3names import (
    check_bucket_name,
    content_disposition,
    key_problem,
    parse_range,
    safe_filename,
)
from stowage.core.kernel.errors import BadRequest


@pytest.mark.parametrize("name", ["abc", "a.b-c", "0" * 63, "my.bucket.1"])
def test_valid_bucket_names(name: str) -> None:
    assert check_bucket_name(name) == name


@pytest.mark.parametrize("name", ["ab", "0" * 64, "-ab", "ab-", ".ab", "ab.", "Abc", "a_b", "a b"])
def test_invalid_bucket_names(name: str) -> None:
    with pytest.raises(BadRequest) as caught:
        check_bucket_name(name)
    assert caught.value.code == "invalid_bucket_name"


@pytest.mark.parametrize("key", ["a", "a/b/c", "tab\there", "ü" * 512, "a/..b/c", "..."])
def test_valid_keys(key: str) -> None:
    assert key_problem(key) == ""


@pytest.mark.parametrize(
    "key",
    ["", "x" * 1025, "ü" * 513, "nul\x00", "cr\r", "del\x7f", "\u202a", "\u2069", "..", "a/../b", "a/.."],
)
def test_invalid_keys(key: str) -> None:
    assert key_problem(key)


def test_safe_filename() -> None:
    assert safe_filename('dir/a"b\\c\u202ed\x01e.txt') == "abcde.txt"
    assert safe_filename("dir/") == "dir"
    assert safe_filename('"\u202e"') == "download"
    assert content_disposition("x/report.pdf") == 'attachment; filename="report.pdf"'
    assert content_disposition("r\u00e9sum\u00e9.pdf", "inline") == (
        "inline; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, None)),
        ("bytes=-5", None),
        ("bytes=0-1,3-4", None),
        ("bytes=9-1", None),
        ("lines=0-1", None),
        (None, None),
        ("", None),
    ],
)
def test_parse_range(header, expected) -> None:
    assert parse_range(header) == expected
