"""The owner's share API: create, list and revoke."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_querystring, document_request, document_response

from stowage.core.contracts.audit import audit_request
from stowage.core.contracts.driver import DriverError
from stowage.core.contracts.shares import Share, ShareCodeTaken, share_store
from stowage.core.formats.ids import new_ulid
from stowage.core.formats.timefmt import parse_rfc3339
from stowage.core.kernel.errors import BadRequest, Forbidden, InternalError, NotFound
from stowage.core.openapi import no_content
from stowage.core.security.passwords import hash_password
from stowage.core.web.authz import current_identity, requires
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.shares import dto
from stowage.plugins.shares.dto import share_json
from stowage.plugins.shares.gate import now_utc
from stowage.plugins.shares.objects import driver_for
from stowage.plugins.shares.rules import key_problem

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["CODE_ATTEMPTS", "MAX_DOWNLOADS", "ShareInput", "new_code", "parse_create", "share_api"]

share_api = Blueprint("shares_api", __name__)
CODE_ATTEMPTS = 5
MAX_DOWNLOADS = 1_000_000_000
"""The largest download cap (SQLite stores it as a 64-bit integer; nobody needs more)."""


def new_code() -> str:
    """10 CSPRNG bytes, base64url without padding: 14 characters (SHARE-2)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(10)).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class ShareInput:
    """A validated create body."""

    backend_id: str
    bucket: str
    key: str
    expires_at: datetime | None
    password: str
    max_downloads: int | None
    disposition: str


def _invalid(what: str) -> BadRequest:
    return BadRequest(f"invalid share parameters: {what}")


def _either(body: dict[str, Any], name: str, alias: str) -> Any:
    """The code's field name wins; the alias the original documents is accepted too."""
    return body[name] if body.get(name) is not None else body.get(alias)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{name} is required")
    return value.strip()


def parse_create(body: dict[str, Any], now: datetime) -> ShareInput:
    """Validate a create body (SHARE-1); 400 ``invalid_key`` or ``bad_request`` naming the field."""
    backend_id = _text(_either(body, "backend_id", "backend"), "backend_id")
    bucket = _text(body.get("bucket"), "bucket")
    key = body.get("key")
    if not isinstance(key, str):
        raise _invalid("key is required")
    if problem := key_problem(key):
        raise BadRequest(f"invalid key: {problem}", code="invalid_key")
    expires_at = None
    if (raw_expiry := body.get("expires_at")) not in (None, ""):
        try:
            expires_at = parse_rfc3339(raw_expiry) if isinstance(raw_expiry, str) else None
        except ValueError:
            expires_at = None
        if expires_at is None:
            raise _invalid("expires_at must be an RFC 3339 timestamp")
        if expires_at <= now:
            raise _invalid("expires_at must be in the future")
    limit = _either(body, "max_downloads", "download_limit")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_DOWNLOADS
    ):
        raise _invalid(f"max_downloads must be a whole number from 0 to {MAX_DOWNLOADS}")
    disposition = body.get("disposition") or "attachment"
    if disposition not in {"attachment", "inline"}:
        raise _invalid("disposition must be attachment or inline")
    password = body.get("password") or ""
    if not isinstance(password, str):
        raise _invalid("password must be a string")
    return ShareInput(backend_id, bucket, key, expires_at, password, limit or None, disposition)


async def _insert(runtime: Runtime, share: Share) -> Share:
    """Insert with a fresh code, drawing again on a collision (at most ``CODE_ATTEMPTS`` times)."""
    for _ in range(CODE_ATTEMPTS):
        candidate = Share(**{**share.__dict__, "code": new_code()})
        try:
            await share_store(runtime).create(candidate)
        except ShareCodeTaken:
            continue
        return candidate
    raise InternalError("could not allocate a unique share code")


@share_api.post("/api/shares")
@document_request(dto.NewShare)
@document_response(dto.ShareView, 201)
@requires("writer")
async def create_share() -> tuple[Response, int]:
    runtime = current_runtime()
    identity = current_identity()
    now = now_utc(runtime)
    spec = parse_create(await read_json(4096), now)
    driver = driver_for(runtime, spec.backend_id)
    try:
        await driver.head_object(spec.bucket, spec.key)
    except DriverError:
        raise _invalid("target object not reachable") from None
    share = await _insert(
        runtime,
        Share(
            id=new_ulid(runtime.clock()),
            code="",
            backend_id=spec.backend_id,
            bucket=spec.bucket,
            key=spec.key,
            created_by=identity.user_id,
            created_at=now,
            expires_at=spec.expires_at,
            password_hash=await hash_password(spec.password) if spec.password else "",
            max_downloads=spec.max_downloads,
            disposition=spec.disposition,
        ),
    )
    detail = {
        "share_id": share.id,
        "code": share.code,
        "has_password": share.has_password,
        "max_downloads": share.max_downloads or 0,
    }
    audit_request("share.create", backend=share.backend_id, bucket=share.bucket, key=share.key, detail=detail)
    return jsonify(share_json(share, runtime.settings.server.public_url)), 201


@share_api.get("/api/shares")
@document_querystring(dto.ShareListQuery)
@document_response(dto.ShareList)
@requires("any")
async def list_shares() -> dict[str, Any]:
    """Own shares newest first; ``?scope=all`` lists everyone's (admin only)."""
    runtime = current_runtime()
    identity = current_identity()
    everyone = request.args.get("scope", "") == "all"
    if everyone and not identity.is_admin:
        raise Forbidden("admin only")
    shares = await share_store(runtime).list(None if everyone else identity.user_id)
    public_url = runtime.settings.server.public_url
    return {"shares": [share_json(share, public_url) for share in shares]}


@share_api.delete("/api/shares/<share_id>")
@no_content
@requires("writer")
async def revoke_share(share_id: str) -> tuple[str, int]:
    """Revoke; someone else's share is a 404 unless you are an admin; revoked already ⇒ no-op."""
    runtime = current_runtime()
    identity = current_identity()
    share: Share | None = await share_store(runtime).get(share_id)
    if share is None or (share.created_by != identity.user_id and not identity.is_admin):
        raise NotFound("share not found")
    if not share.revoked and await share_store(runtime).revoke(share.id, now_utc(runtime)):
        audit_request(
            "share.revoke",
            backend=share.backend_id,
            bucket=share.bucket,
            key=share.key,
            detail={"share_id": share.id},
        )
    return "", 204
