"""Pure rules for shares: codes and preview kinds (SHARE-6). Which types are active (SHARE-8) is
``stowage.core.web.objectserving``'s decision, re-exported here, shared with the object routes.

Object-key validation, download file names and the single ``Range`` form are the
objects API's own rules, re-exported from ``stowage.core.formats.s3names`` so shares and
the object browser can never disagree. Nothing here touches the request or the store.
"""

from __future__ import annotations

import posixpath
import re

from stowage.core.formats.s3names import content_disposition, key_problem, parse_range, safe_filename
from stowage.core.web.objectserving import is_active_type

__all__ = [
    "content_disposition",
    "is_active_type",
    "key_problem",
    "parse_range",
    "preview_kind",
    "safe_filename",
    "valid_code",
]

_CODE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_EXTENSION_KINDS = {
    "image": (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".bmp", ".ico", ".svg"),
    "video": (".mp4", ".webm", ".ogv", ".mov", ".m4v"),
    "audio": (".mp3", ".ogg", ".oga", ".wav", ".flac", ".m4a", ".aac", ".opus"),
    "pdf": (".pdf",),
    "text": (".txt", ".md", ".csv", ".log", ".json", ".yaml", ".yml", ".toml", ".ini", ".py", ".sh"),
}
_TEXT_TYPES = frozenset({"application/json", "application/x-yaml", "application/yaml", "application/toml"})


def valid_code(code: str) -> bool:
    """Codes are URL- and cookie-name-safe: 1-128 characters of base64url."""
    return _CODE.fullmatch(code) is not None


def _base_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _extension(key: str) -> str:
    return posixpath.splitext(key.lower())[1]


def preview_kind(content_type: str, key: str) -> str:
    """``image|video|audio|pdf|text|none``, by content type first, then by extension (SHARE-6)."""
    base = _base_type(content_type)
    major = base.split("/", 1)[0]
    if major in {"image", "video", "audio"}:
        return major
    if base == "application/pdf":
        return "pdf"
    if major == "text" or base in _TEXT_TYPES:
        return "text"
    ext = _extension(key)
    for kind, extensions in _EXTENSION_KINDS.items():
        if ext in extensions:
            return kind
    return "none"
