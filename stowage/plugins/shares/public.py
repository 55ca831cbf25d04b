"""The public JSON endpoints for recipients and API clients.

``GET /s/<code>/info`` (audited ``share.info``), ``POST /s/<code>/unlock`` (``share.unlock``) and
``GET /s/<code>/raw`` (``share.access``), each behind the per-IP share limiter.
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_querystring, document_request, document_response

from stowage.core.contracts.shares import Share
from stowage.core.kernel.errors import Unauthorized
from stowage.core.openapi import also_errors, raw_response
from stowage.core.security.passwords import verify_password
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.shares import dto
from stowage.plugins.shares.dto import info_json
from stowage.plugins.shares.gate import open_share, public_endpoint
from stowage.plugins.shares.objects import head, serve_raw
from stowage.plugins.shares.rules import parse_range
from stowage.plugins.shares.unlock import set_unlock_cookie

__all__ = ["password_matches", "public_shares"]

public_shares = Blueprint("shares_public", __name__)


async def password_matches(share: Share, password: object) -> bool:
    """True when ``password`` opens ``share`` (always, for a share without a password)."""
    if not share.has_password:
        return True
    if not isinstance(password, str) or not password:
        return False
    return await verify_password(password, share.password_hash)


async def _info_response(share: Share) -> Response:
    info = await head(current_runtime(), share)
    response = jsonify(info_json(share, info))
    response.headers["Cache-Control"] = "no-store"
    return response


@public_shares.get("/s/<code>/info")
@document_response(dto.ShareInfo)
@public_endpoint("share.info")
async def share_info(code: str) -> Response:
    """What the recipient is about to download; never counts a download (SHARE-6)."""
    share = await open_share(current_runtime(), code)
    return await _info_response(share)


@public_shares.post("/s/<code>/unlock")
@document_request(dto.ShareUnlock)
@document_response(dto.ShareInfo)
@public_endpoint("share.unlock")
async def share_unlock(code: str) -> Response:
    """Check ``{"password"}``; on success set the unlock cookie and return the info (SHARE-7)."""
    runtime = current_runtime()
    share = await open_share(runtime, code, unlocked=False)
    body = await read_json(4096)
    if not await password_matches(share, body.get("password")):
        raise Unauthorized("wrong password", code="password_mismatch")
    response = await _info_response(share)
    if share.has_password:
        set_unlock_cookie(response, runtime, share.code)
    return response


@public_shares.route("/s/<code>/raw", methods=["GET", "HEAD"])
@document_querystring(dto.RawQuery)
@raw_response("*/*", 200, "The object bytes (stored Content-Type); each GET counts one download.")
@raw_response("*/*", 206, "The requested byte range.")
@also_errors(416)
@public_endpoint("share.access")
async def share_raw(code: str) -> Response:
    """Stream the object; each successful GET counts one download (SHARE-8)."""
    runtime = current_runtime()
    share = await open_share(runtime, code)
    return await serve_raw(
        runtime,
        share,
        inline=request.args.get("inline", "") in {"1", "true"},
        byte_range=parse_range(request.headers.get("Range")),
        count=request.method != "HEAD",
    )
