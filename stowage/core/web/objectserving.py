"""How object bytes are served to a browser: the one decision shared by share ``/raw`` and the
dashboard's object routes: object bytes never run as the dashboard.

Every response that carries object bytes gets a sandbox CSP (the document has no origin, so a
script in it can read no cookie and call no API), ``nosniff`` (the browser must not promote a
``text/plain`` object to HTML) and ``no-store``. Only *passive* types on an explicit allow-list may be
shown ``inline``; everything else — HTML, XHTML, SVG, XML, JavaScript, and any type this module
does not know — is forced to ``attachment`` whatever the caller asked for. A ``Content-Type`` the
browser might read differently from us (several values, odd characters) is served as
``application/octet-stream``.
"""

from __future__ import annotations

import posixpath
import re

from stowage.core.formats.s3names import content_disposition

__all__ = [
    "ACTIVE_EXTENSIONS",
    "OBJECT_CSP",
    "PASSIVE_TYPES",
    "base_type",
    "is_active_type",
    "object_headers",
]

OBJECT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""No script, no fetch, no form, no plugin, an opaque origin; inline styles and data: images only
so the browser's own image and media viewers still render."""

PASSIVE_TYPES = frozenset(
    {
        "application/octet-stream",
        "application/pdf",
        "image/apng",
        "image/avif",
        "image/bmp",
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/vnd.microsoft.icon",
        "image/webp",
        "image/x-icon",
        "text/csv",
        "text/plain",
    }
)
"""Types a browser renders without running anything; ``audio/*`` and ``video/*`` are passive too."""
_PASSIVE_MAJORS = frozenset({"audio", "video"})

ACTIVE_EXTENSIONS = frozenset(
    {".htm", ".html", ".js", ".mjs", ".shtml", ".svg", ".svgz", ".xht", ".xhtml", ".xml", ".xsl", ".xslt"}
)
"""Keys whose name alone makes a saved or sniffed copy dangerous: never inline, whatever the type."""

_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_MEDIA_TYPE = re.compile(rf'{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|"[^"\\,\r\n]*"))*[ \t]*')
_FALLBACK = "application/octet-stream"


def base_type(content_type: str) -> str:
    """``type/subtype`` lower-cased, parameters dropped."""
    return content_type.split(";", 1)[0].strip().lower()


def _well_formed(content_type: str) -> bool:
    # A browser splits a header on commas and takes the last type it understands, so
    # "text/plain, text/html" would be HTML to it while we saw text/plain: refuse such values.
    return _MEDIA_TYPE.fullmatch(content_type) is not None


def is_active_type(content_type: str, key: str) -> bool:
    """True unless the type is on the passive allow-list and the key's extension is harmless."""
    if posixpath.splitext(key.lower())[1] in ACTIVE_EXTENSIONS:
        return True
    if not content_type:
        return False  # served as application/octet-stream
    if not _well_formed(content_type):
        return True
    base = base_type(content_type)
    return base not in PASSIVE_TYPES and base.split("/", 1)[0] not in _PASSIVE_MAJORS


def object_headers(content_type: str, key: str, *, inline: bool) -> dict[str, str]:
    """The type, disposition and safety headers of a response carrying ``key``'s bytes.

    ``inline`` is what the caller asked for; it is honoured only for passive types.
    """
    served_type = content_type if content_type and _well_formed(content_type) else _FALLBACK
    disposition = "inline" if inline and not is_active_type(content_type, key) else "attachment"
    return {
        "Content-Type": served_type,
        "Content-Disposition": content_disposition(key, disposition),
        "Content-Security-Policy": OBJECT_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
