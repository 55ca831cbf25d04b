"""The ``/api`` access pipeline and the role gates routes declare.

For every request under ``/api/`` (except routes marked ``@public``), in this order: ask the
``stowage_authenticate`` hook for an ``Identity`` (none ⇒ 401 ``unauthorized``) → CSRF for
cookie sessions on mutations (403 ``csrf_invalid``) → the must-change-password gate (403
``password_change_required``) → the per-session limiter (429 ``rate_limited``). Routes then
declare their role with ``@requires("any" | "writer" | "admin")``.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from quart import current_app, g, request

from stowage.core.contracts.identity import Identity
from stowage.core.kernel.errors import Forbidden, RateLimited, Unauthorized
from stowage.core.kernel.services import ServiceKey
from stowage.core.security.ratelimit import SlidingWindowLimiter

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["api_guard", "current_identity", "optional_identity", "public", "requires"]

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Paths a must-change-password session may still use.
PASSWORD_CHANGE_PATHS = frozenset({"/api/me", "/api/me/password"})


def public(view: F) -> F:
    """Mark an ``/api`` route as reachable without a session (e.g. ``/api/auth/config``)."""
    view._stowage_public = True  # type: ignore[attr-defined]
    return view


def requires(role: str) -> Callable[[F], F]:
    """Gate a route: ``any`` signed-in user, ``writer`` (admin or user), or ``admin``."""
    if role not in {"any", "writer", "admin"}:
        raise ValueError(f"unknown role gate {role!r}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            identity = current_identity()
            if role == "admin" and not identity.is_admin:
                raise Forbidden("insufficient privileges")
            if role == "writer" and not identity.is_writer:
                raise Forbidden("insufficient privileges")
            return await view(*args, **kwargs)

        wrapper._stowage_role = role  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def current_identity() -> Identity:
    """The request's identity; 401 ``unauthorized`` when there is none."""
    identity = getattr(g, "identity", None)
    if identity is None:
        raise Unauthorized("authentication required")
    return identity  # type: ignore[no-any-return]


def optional_identity() -> Identity | None:
    return getattr(g, "identity", None)


_API_SESSION_LIMITER: ServiceKey[SlidingWindowLimiter] = ServiceKey("ratelimit.api_session", provider="core")


def _session_limiter(runtime: Runtime) -> SlidingWindowLimiter:
    return runtime.memo(
        _API_SESSION_LIMITER, lambda: SlidingWindowLimiter(runtime.settings.ratelimit.api_per_minute, 60.0)
    )


async def api_guard(runtime: Runtime) -> None:
    """Run the pipeline for the current request (installed as a before-request handler)."""
    if not request.path.startswith("/api/"):
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "_stowage_public", False):
        return
    identity = await runtime.hooks.authenticate(request=request, runtime=runtime)
    if identity is None:
        raise Unauthorized("authentication required")
    g.identity = identity
    if identity.csrf_token and request.method not in SAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent or not hmac.compare_digest(sent.encode(), identity.csrf_token.encode()):
            raise Forbidden("csrf token missing or invalid", code="csrf_invalid")
    if identity.must_change_pw and request.path not in PASSWORD_CHANGE_PATHS:
        raise Forbidden("rotate your password before using the API", code="password_change_required")
    limited = identity.session_id and runtime.settings.ratelimit.api_per_minute > 0
    if limited and not _session_limiter(runtime).allow(identity.session_id):
        raise RateLimited(
            "too many requests on this session; slow down or wait a minute",
            headers={"Retry-After": "60"},
        )
