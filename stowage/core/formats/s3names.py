"""Bucket names, object keys, download file names and the ``Range`` subset every HTTP surface shares.

The storage API and share links use the same rules.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from stowage.core.kernel.errors import BadRequest

__all__ = [
    "check_bucket",
    "check_bucket_name",
    "check_key",
    "content_disposition",
    "is_bucket_name",
    "key_problem",
    "parse_range",
    "safe_filename",
]

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Existing buckets may predate today's rules (uppercase, underscores): accept those on access.
_BUCKET_ANY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_SINGLE_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def check_bucket_name(name: str) -> str:
    """A name valid for a *new* bucket: 3-63 of ``[a-z0-9.-]``, no ``-``/``.`` at either end."""
    if not _BUCKET_NAME.fullmatch(name):
        raise BadRequest(
            "bucket names are 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a "
            "letter or digit",
            code="invalid_bucket_name",
        )
    return name


def check_bucket(name: str, code: str = "invalid_bucket") -> str:
    """A plausible *existing* bucket name (keeps junk out of upstream URLs)."""
    if not _BUCKET_ANY.fullmatch(name):
        raise BadRequest("invalid bucket name", code=code)
    return name


def is_bucket_name(name: str) -> bool:
    """Whether ``name`` can name an S3 bucket, including legacy names (uppercase, ``_``, ≤255 chars).

    The same rule as :func:`check_bucket`, as a predicate for callers with their own error type
    (the S3 proxy answers XML, credential minting JSON).
    """
    return _BUCKET_ANY.fullmatch(name) is not None


def key_problem(key: str) -> str:
    """Why ``key`` is not acceptable, or ``""`` when it is."""
    size = len(key.encode("utf-8", "surrogatepass"))
    if not 1 <= size <= 1024:
        return "keys are 1-1024 bytes"
    for char in key:
        if (char < " " and char != "\t") or char == "\x7f":
            return "keys cannot contain control characters"
        if char in _BIDI:
            return "keys cannot contain bidirectional override characters"
    if ".." in key.split("/"):
        return "keys cannot contain a '..' segment"
    return ""


def check_key(key: str) -> str:
    """``key`` when valid; 400 ``invalid_key`` otherwise."""
    problem = key_problem(key)
    if problem:
        raise BadRequest(problem, code="invalid_key")
    return key


def safe_filename(key: str) -> str:
    """The key's basename without quotes, backslashes, control or bidi characters."""
    base = key.rstrip("/").rsplit("/", 1)[-1]
    kept = "".join(
        c for c in base if c not in '"\\' and c not in _BIDI and unicodedata.category(c) not in ("Cc", "Cf")
    )
    return kept.strip() or "download"


def content_disposition(key: str, disposition: str = "attachment") -> str:
    """``attachment|inline; filename="…"`` plus an RFC 5987 ``filename*`` for non-ASCII names
    (header values travel as latin-1, so the plain ``filename`` is an ASCII fallback)."""
    kind = "inline" if disposition == "inline" else "attachment"
    name = safe_filename(key)
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    header = f'{kind}; filename="{ascii_name}"'
    if ascii_name != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def parse_range(header: str | None) -> tuple[int, int | None] | None:
    """``(start, end|None)`` for a single ``bytes=a-b`` / ``bytes=a-``; ``None`` for no header, a
    suffix range, several ranges or anything malformed (the whole object is sent then)."""
    match = _SINGLE_RANGE.fullmatch((header or "").strip())
    if match is None:
        return None
    start, end = int(match[1]), int(match[2]) if match[2] else None
    if end is not None and end < start:
        return None
    return start, end
