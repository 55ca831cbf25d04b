"""``GET /api/auth/config``, ``GET /api/me`` and ``POST /api/me/password``."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify
from quart_schema import document_request, document_response

from stowage.core.contracts.accounts import at, users
from stowage.core.contracts.identity import OIDC_LOGIN
from stowage.core.kernel.errors import BadRequest, Unauthorized
from stowage.core.openapi import Ok
from stowage.core.security.passwords import hash_password, verify_password
from stowage.core.web.authz import current_identity, public, requires
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.auth_local.dto import AuthConfig, Me, PasswordChange
from stowage.plugins.auth_local.local_users import check_policy
from stowage.plugins.auth_local.sessions import manager
from stowage.plugins.auth_local.static import STATIC_ID

__all__ = ["blueprint"]

blueprint = Blueprint("auth_local_me", __name__)


@blueprint.get("/api/auth/config")
@document_response(AuthConfig)
@public
async def auth_config() -> Response:
    runtime = current_runtime()
    # OIDC is listed only once a provider initialised (its plugin registers the service).
    modes = [m for m in runtime.settings.auth.modes if m != "oidc" or runtime.find(OIDC_LOGIN) is not None]
    return jsonify(
        {"modes": modes, "allow_self_registration": runtime.settings.auth.local.allow_self_registration}
    )


@blueprint.get("/api/me")
@document_response(Me)
@requires("any")
async def me() -> Response:
    identity = current_identity()
    body: dict[str, Any] = {
        "id": identity.user_id,
        "username": identity.username,
        "role": identity.role,
        "identity_source": identity.source,
        "must_change_pw": identity.must_change_pw,
    }
    if identity.email:
        body["email"] = identity.email
    return jsonify(body)


@blueprint.post("/api/me/password")
@document_request(PasswordChange)
@document_response(Ok)
@requires("any")
async def change_password() -> Response:
    runtime = current_runtime()
    identity = current_identity()
    body = await read_json(4096)
    if identity.source == STATIC_ID:
        raise BadRequest("the static user cannot change its password", code="static_user")
    if identity.source != "local":
        raise BadRequest("password is managed by the identity provider", code="not_local")
    current, new = body.get("current_password"), body.get("new_password")
    if not isinstance(current, str) or not isinstance(new, str):
        raise BadRequest("current_password and new_password are required")
    user = await users(runtime).get(identity.user_id)
    if user is None or not await verify_password(current, user.password_hash):
        raise Unauthorized("invalid credentials", code="invalid_credentials")
    check_policy(runtime, new)
    if runtime.settings.auth.local.prevent_reuse and new == current:
        raise BadRequest("new password must differ from current password", code="weak_password")
    await users(runtime).set_password(
        user.id, await hash_password(new), must_change_pw=False, now=at(runtime.clock())
    )
    sessions = manager(runtime)
    await sessions.end_for_user(user.id, keep=identity.session_id)
    if identity.session_id:
        await sessions.clear_must_change(identity.session_id)
    return jsonify({"status": "ok"})
