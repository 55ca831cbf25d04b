"""JSON shapes of shares: the owner's view (SHARE-2) and the recipient's ``/info`` (SHARE-6)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from stowage.core.contracts.driver import ObjectInfo
from stowage.core.contracts.shares import Share
from stowage.core.formats.timefmt import to_rfc3339
from stowage.plugins.shares.rules import preview_kind, safe_filename

__all__ = ["info_json", "share_json", "share_path"]


def share_path(code: str) -> str:
    return f"/s/{code}"


def share_json(share: Share, public_url: str = "") -> dict[str, Any]:
    """The SHARE-2 DTO with the code's field names; ``url`` is absolute when ``public_url`` is set."""
    path = share_path(share.code)
    out: dict[str, Any] = {
        "id": share.id,
        "code": share.code,
        "url": f"{public_url.rstrip('/')}{path}" if public_url else path,
        "path": path,
        "backend_id": share.backend_id,
        "bucket": share.bucket,
        "key": share.key,
        "created_by": share.created_by,
        "created_at": to_rfc3339(share.created_at),
    }
    if share.expires_at is not None:
        out["expires_at"] = to_rfc3339(share.expires_at)
    out["has_password"] = share.has_password
    if share.max_downloads:
        out["max_downloads"] = share.max_downloads
    out["download_count"] = share.download_count
    out["revoked"] = share.revoked
    if share.revoked_at is not None:
        out["revoked_at"] = to_rfc3339(share.revoked_at)
    if share.last_accessed_at is not None:
        out["last_accessed_at"] = to_rfc3339(share.last_accessed_at)
    out["disposition"] = share.disposition
    return out


def info_json(share: Share, info: ObjectInfo) -> dict[str, Any]:
    """The recipient's view of a share and its object (SHARE-6); optional fields omitted when empty."""
    out: dict[str, Any] = {"code": share.code, "name": safe_filename(share.key), "size": info.size}
    if info.content_type:
        out["content_type"] = info.content_type
    if info.etag:
        out["etag"] = info.etag
    if info.last_modified is not None:
        out["last_modified"] = to_rfc3339(info.last_modified)
    if share.expires_at is not None:
        out["expires_at"] = to_rfc3339(share.expires_at)
    out["has_password"] = share.has_password
    if share.max_downloads:
        out["max_downloads"] = share.max_downloads
    out["download_count"] = share.download_count
    if share.downloads_left is not None:
        out["downloads_left"] = share.downloads_left
    out["disposition"] = share.disposition
    out["preview_kind"] = preview_kind(info.content_type, share.key)
    out["raw_url"] = f"{share_path(share.code)}/raw"
    return out


# The same shapes as types, for the published API document (issue 14): routes declare them.


class NewShare(TypedDict):
    """``backend`` and ``download_limit`` are accepted as aliases of ``backend_id``/``max_downloads``."""

    backend_id: str
    bucket: str
    key: str
    expires_at: NotRequired[str]
    password: NotRequired[str]
    max_downloads: NotRequired[int]
    disposition: NotRequired[Literal["attachment", "inline"]]


class ShareView(TypedDict):
    """A share link as its owner sees it; empty optional fields are left out."""

    id: str
    code: str
    url: str
    path: str
    backend_id: str
    bucket: str
    key: str
    created_by: str
    created_at: str
    expires_at: NotRequired[str]
    has_password: bool
    max_downloads: NotRequired[int]
    download_count: int
    revoked: bool
    revoked_at: NotRequired[str]
    last_accessed_at: NotRequired[str]
    disposition: str


class ShareList(TypedDict):
    shares: list[ShareView]


class ShareListQuery(TypedDict, total=False):
    """``scope=all`` lists every user's links (admins only)."""

    scope: Literal["all", "mine"]


class ShareInfo(TypedDict):
    """What a recipient may know about a share and its object."""

    code: str
    name: str
    size: int
    content_type: NotRequired[str]
    etag: NotRequired[str]
    last_modified: NotRequired[str]
    expires_at: NotRequired[str]
    has_password: bool
    max_downloads: NotRequired[int]
    download_count: int
    downloads_left: NotRequired[int]
    disposition: str
    preview_kind: str
    raw_url: str


class ShareUnlock(TypedDict):
    password: str


class RawQuery(TypedDict, total=False):
    """``inline=1`` asks to show the object in the browser rather than download it."""

    inline: str
