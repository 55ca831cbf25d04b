"""``POST /auth/login/local`` and ``POST /auth/logout``."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from quart import Blueprint, Response, g, jsonify, request
from quart_schema import document_request, document_response

from stowage.core.contracts.accounts import FLAG_MUST_CHANGE_PW, Session, at, users
from stowage.core.contracts.audit import audit_request
from stowage.core.kernel.errors import BadRequest, RateLimited, Unauthorized
from stowage.core.openapi import Ok
from stowage.core.security.passwords import DUMMY_HASH, verify_password
from stowage.core.security.ratelimit import LOGIN_LIMITER, SlidingWindowLimiter
from stowage.core.web.request_context import client_ip, current_runtime, is_https, read_json
from stowage.plugins.auth_local.dto import LoginRequest, LoginResult
from stowage.plugins.auth_local.phantoms import phantom_lockout
from stowage.plugins.auth_local.sessions import manager
from stowage.plugins.auth_local.static import STATIC_ID

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "blueprint", "login_limiter"]

SESSION_COOKIE = "stowage_session"
CSRF_COOKIE = "stowage_csrf"

blueprint = Blueprint("auth_local_login", __name__)


def login_limiter(runtime: Runtime) -> SlidingWindowLimiter:
    """The per-IP login limiter (RL-1), shared with any other login route (e.g. OIDC)."""
    rl = runtime.settings.ratelimit
    return runtime.memo(LOGIN_LIMITER, lambda: SlidingWindowLimiter(rl.login_attempts, rl.login_window))


def _set_cookies(response: Response, session: Session) -> None:
    for name, value, http_only in (
        (SESSION_COOKIE, session.id, True),
        (CSRF_COOKIE, session.csrf_token, False),
    ):
        response.set_cookie(
            name, value, expires=session.expires_at, path="/",
            httponly=http_only, samesite="Lax", secure=is_https(),
        )  # fmt: skip


def clear_cookies(response: Response) -> None:
    """Expire both session cookies in the browser."""
    for name, http_only in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.set_cookie(
            name, "", max_age=0, expires=0, path="/", httponly=http_only, samesite="Lax", secure=is_https()
        )


@blueprint.after_app_request
async def _clear_refused_cookies(response: Response) -> Response:
    # The authenticator refused a cookie (expired, deleted, disabled user): tell the browser too.
    if getattr(g, "stowage_clear_session", False):
        clear_cookies(response)
    return response


async def _refuse(username: str, reason: str, user_id: str = "", verify: bool = False) -> Unauthorized:
    if verify:  # flatten timing: unknown and disabled users cost one real verification
        await verify_password("not-the-password", DUMMY_HASH)
    # Failed logins are audited; the attempted password never is.
    audit_request(
        "auth.login_failed",
        outcome="denied",
        user_id=user_id,
        detail={"username": username, "reason": reason},
    )
    return Unauthorized("invalid credentials", code="invalid_credentials")


def _locked(username: str, user_id: str) -> RateLimited:
    audit_request("auth.login_failed", outcome="denied", user_id=user_id,
                  detail={"username": username, "reason": "locked"})  # fmt: skip
    return RateLimited("account temporarily locked", code="account_locked")


async def _start_session(runtime: Runtime, user_id: str, source: str, flags: int) -> Response:
    session = await manager(runtime).issue(
        user_id=user_id,
        source=source,
        flags=flags,
        ip=client_ip(),
        user_agent=request.headers.get("User-Agent", ""),
    )
    audit_request("auth.login", user_id=user_id, detail={"source": source})
    response = jsonify(
        {"status": "ok", "source": source, "must_change_pw": bool(flags & FLAG_MUST_CHANGE_PW)}
    )
    _set_cookies(response, session)
    return response


@blueprint.post("/auth/login/local")
@document_request(LoginRequest)
@document_response(LoginResult)
async def login_local() -> Response:
    runtime = current_runtime()
    if not login_limiter(runtime).allow(client_ip()):
        raise RateLimited("too many attempts; try again later")
    body = await read_json(4096)
    auth = runtime.settings.auth
    static = manager(runtime).static
    if "local" not in auth.modes and static is None:
        raise BadRequest("local login is not enabled", code="mode_disabled")
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise await _refuse(username if isinstance(username, str) else "", "empty")
    if static is not None and username == static.username:
        if not await verify_password(password, static.password_hash):
            raise await _refuse(username, "bad_password", STATIC_ID)
        return await _start_session(runtime, STATIC_ID, STATIC_ID, 0)
    return await _login_user(runtime, username, password)


async def _login_user(runtime: Runtime, username: str, password: str) -> Response:
    repo = users(runtime)
    user = await repo.get_by_username(username) if "local" in runtime.settings.auth.modes else None
    if user is None or not user.enabled or user.identity_source != "local" or not user.password_hash:
        # No usable account: lock the name like a real one, so 401-vs-429 names no account.
        reason = "unknown_user" if user is None else "disabled" if not user.enabled else "not_local"
        user_id = user.id if user is not None else ""
        phantoms, clock = phantom_lockout(runtime), runtime.clock()
        if phantoms.locked(username, clock):
            raise _locked(username, user_id)
        phantoms.fail(username, clock)
        raise await _refuse(username, reason, user_id, verify=True)
    now = at(runtime.clock())
    if user.locked_until is not None and user.locked_until > now:
        raise _locked(username, user.id)
    if not await verify_password(password, user.password_hash):
        local = runtime.settings.auth.local
        lock_until = now + timedelta(seconds=local.lockout_window)
        await repo.record_failure(user.id, max_attempts=local.lockout_max_attempts, lock_until=lock_until)
        raise await _refuse(username, "bad_password", user.id)
    await repo.record_login(user.id, now)
    return await _start_session(runtime, user.id, "local", FLAG_MUST_CHANGE_PW if user.must_change_pw else 0)


@blueprint.post("/auth/logout")
@document_response(Ok)
async def logout() -> Response:
    runtime = current_runtime()
    session_id = request.cookies.get(SESSION_COOKIE, "")
    ended = await manager(runtime).end(session_id) if session_id else None
    if ended is not None:
        audit_request("auth.logout", user_id=ended.user_id)
    response = jsonify({"status": "ok"})
    clear_cookies(response)
    return response
