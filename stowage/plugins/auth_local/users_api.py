"""The users admin API under ``/api/admin/users``; every route is admin-only."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_querystring, document_request, document_response

from stowage.core.contracts.accounts import UNCHANGED, User, UserFilter, at, users
from stowage.core.contracts.audit import audit_request
from stowage.core.contracts.credentials import owner_rights_changed
from stowage.core.contracts.identity import ROLES
from stowage.core.formats.timefmt import to_rfc3339
from stowage.core.kernel.errors import BadRequest, Forbidden, NotFound
from stowage.core.openapi import Ok, no_content
from stowage.core.security.passwords import hash_password
from stowage.core.web.authz import current_identity, requires
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.auth_local.dto import (
    NewUser,
    PasswordReset,
    UserList,
    UserListQuery,
    UserPatch,
    UserView,
)
from stowage.plugins.auth_local.local_users import check_policy, create_local_user
from stowage.plugins.auth_local.sessions import manager

__all__ = ["blueprint", "user_json"]

blueprint = Blueprint("auth_local_users", __name__, url_prefix="/api/admin/users")


def user_json(user: User) -> dict[str, Any]:
    """The API shape of a user; the password hash never leaves the server."""
    out: dict[str, Any] = {"id": user.id, "username": user.username}
    if user.email:
        out["email"] = user.email
    out.update(
        role=user.role,
        identity_source=user.identity_source,
        enabled=user.enabled,
        must_change_pw=user.must_change_pw,
        failed_attempts=user.failed_attempts,
    )
    if user.locked_until is not None:
        out["locked_until"] = to_rfc3339(user.locked_until)
    out["created_at"] = to_rfc3339(user.created_at)
    if user.last_login_at is not None:
        out["last_login_at"] = to_rfc3339(user.last_login_at)
    return out


def _filter() -> UserFilter:
    args = request.args
    try:
        limit = int(args.get("limit", "100"))
    except ValueError:
        limit = 100
    try:
        # Clamped to SQLite's integer range: an offset past every row is an empty page, not a 500.
        offset = min(max(0, int(args.get("offset", "0"))), 2**63 - 1)
    except ValueError:
        offset = 0
    enabled = {"true": True, "false": False}.get(args.get("enabled", "").lower())
    return UserFilter(
        query=args.get("query", "").strip(),
        role=args.get("role") or None,
        source=args.get("source") or None,
        enabled=enabled,
        limit=limit if 0 < limit <= 500 else 100,
        offset=offset,
    )


async def _target(user_id: str) -> User:
    user = await users(current_runtime()).get(user_id)
    if user is None:
        raise NotFound("user not found")
    return user


@blueprint.get("")
@document_querystring(UserListQuery)
@document_response(UserList)
@requires("admin")
async def list_users() -> Response:
    found = await users(current_runtime()).list(_filter())
    return jsonify({"users": [user_json(u) for u in found]})


@blueprint.post("")
@document_request(NewUser)
@document_response(UserView, 201)
@requires("admin")
async def create_user() -> Response:
    body = await read_json(4096)
    username, password, role = body.get("username"), body.get("password"), body.get("role")
    if not all(isinstance(v, str) and v for v in (username, password, role)):
        raise BadRequest("username, password and role are required")
    email = body.get("email")
    must_change = body.get("must_change_pw", True)
    if (email is not None and not isinstance(email, str)) or not isinstance(must_change, bool):
        raise BadRequest("email must be a string and must_change_pw a boolean")
    user = await create_local_user(
        current_runtime(), username=str(username), password=str(password), role=str(role),
        email=email, must_change_pw=must_change, created_by=current_identity().user_id,
    )  # fmt: skip
    audit_request("user.create", detail={"target": user.id, "username": user.username, "role": user.role})
    response = jsonify(user_json(user))
    response.status_code = 201
    return response


@blueprint.get("/<user_id>")
@document_response(UserView)
@requires("admin")
async def get_user(user_id: str) -> Response:
    return jsonify(user_json(await _target(user_id)))


@blueprint.patch("/<user_id>")
@document_request(UserPatch)
@document_response(UserView)
@requires("admin")
async def patch_user(user_id: str) -> Response:
    body = await read_json(4096)
    role, enabled, email = (
        body.get("role", UNCHANGED),
        body.get("enabled", UNCHANGED),
        body.get("email", UNCHANGED),
    )
    if role is not UNCHANGED and role not in ROLES:
        raise BadRequest("invalid role")
    if enabled is not UNCHANGED and not isinstance(enabled, bool):
        raise BadRequest("enabled must be a boolean")
    if email is not UNCHANGED and not isinstance(email, str):
        raise BadRequest("email must be a string")
    before = await _target(user_id)
    if role is not UNCHANGED and role != before.role and user_id == current_identity().user_id:
        raise Forbidden("you cannot change your own role", code="self_role_change")
    updated = await users(current_runtime()).update(user_id, role=role, enabled=enabled, email=email)
    if updated is None:
        raise NotFound("user not found")
    # Role and enabled take effect on the user's next request, on the dashboard
    # and through the user's S3 credentials.
    manager(current_runtime()).forget_user(user_id)
    if updated.role != before.role or updated.enabled != before.enabled:
        await owner_rights_changed(current_runtime())
    fields = sorted(k for k in ("role", "enabled", "email") if k in body)
    audit_request("user.update", detail={"target": user_id, "fields": fields})
    return jsonify(user_json(updated))


@blueprint.post("/<user_id>/reset-password")
@document_request(PasswordReset)
@document_response(Ok)
@requires("admin")
async def reset_password(user_id: str) -> Response:
    runtime = current_runtime()
    body = await read_json(4096)
    password = body.get("new_password")
    if not isinstance(password, str) or not password:
        raise BadRequest("new_password is required")
    target = await _target(user_id)
    check_policy(runtime, password)
    me = current_identity()
    is_self = target.id == me.user_id
    await users(runtime).set_password(
        target.id, await hash_password(password), must_change_pw=not is_self, now=at(runtime.clock())
    )
    await manager(runtime).end_for_user(target.id, keep=me.session_id if is_self else "")
    audit_request("user.reset_password", detail={"target": target.id})
    return jsonify({"status": "ok"})


@blueprint.post("/<user_id>/unlock")
@document_response(Ok)
@requires("admin")
async def unlock_user(user_id: str) -> Response:
    if not await users(current_runtime()).unlock(user_id):
        raise NotFound("user not found")
    audit_request("user.unlock", detail={"target": user_id})
    return jsonify({"status": "ok"})


@blueprint.delete("/<user_id>")
@no_content
@requires("admin")
async def delete_user(user_id: str) -> Response:
    runtime = current_runtime()
    if user_id == current_identity().user_id:
        raise BadRequest("you cannot delete yourself", code="self_delete")
    removal = await users(runtime).delete(user_id, now=at(runtime.clock()))
    if removal is None:
        raise NotFound("user not found")
    await manager(runtime).end_for_user(user_id)
    await owner_rights_changed(runtime)
    audit_request(
        "user.delete",
        detail={
            "target": user_id,
            "credentials_deleted": list(removal.credentials_deleted),
            "shares_revoked": removal.shares_revoked,
        },
    )
    return Response(status=204)  # what went with the account is in the audit event
