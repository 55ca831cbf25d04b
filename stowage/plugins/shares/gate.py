"""The public gate every ``/s/<code>`` request passes: limit, resolve, check, audit.

Order: unknown code ⇒ 404 ``not_found``; revoked ⇒ 410 ``revoked``; expired ⇒ 410
``expired``; cap reached ⇒ 410 ``exhausted``; creator's account disabled ⇒ 410 ``suspended`` (a
link never outlives its creator's rights; re-enabling the account restores it); password set
and no valid unlock cookie ⇒ 401 ``password_required``. Every outcome is audited with
``detail.result`` (SHARE-10); the error code *is* the result name, so one table serves both.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from quart import g

from stowage.core.contracts.accounts import users
from stowage.core.contracts.audit import audit_request
from stowage.core.contracts.shares import STORE_SOURCE, Share
from stowage.core.kernel.errors import ApiError, NotFound, RateLimited, Unauthorized
from stowage.core.kernel.services import ServiceKey
from stowage.core.security.ratelimit import SlidingWindowLimiter
from stowage.core.web.request_context import client_ip, current_runtime
from stowage.plugins.shares.rules import valid_code
from stowage.plugins.shares.unlock import is_unlocked

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = [
    "GONE_MESSAGE",
    "RESULTS",
    "ShareGone",
    "audit_access",
    "check_available",
    "check_owner",
    "check_password",
    "now_utc",
    "open_share",
    "public_endpoint",
    "rate_limit",
    "resolve",
]

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
GONE_MESSAGE = "this share link is no longer available"
RESULTS = frozenset(
    {
        "ok",
        "password_required",
        "password_mismatch",
        "expired",
        "revoked",
        "exhausted",
        "suspended",
        "not_found",
    }
)
_LIMITER: ServiceKey[SlidingWindowLimiter] = ServiceKey("shares.limiter", provider="shares")


class ShareGone(ApiError):
    """410: the share is revoked, expired or exhausted (``code`` says which)."""

    status = 410
    default_code = "exhausted"
    default_message = GONE_MESSAGE


def now_utc(runtime: Runtime) -> datetime:
    """The Runtime's clock as an aware datetime: every share time decision goes through it."""
    return datetime.fromtimestamp(runtime.clock(), UTC)


def rate_limit(runtime: Runtime) -> None:
    """429 ``rate_limited`` (no Retry-After) past ``ratelimit.share_per_minute`` per client IP."""
    per_minute = runtime.settings.ratelimit.share_per_minute
    limiter = runtime.memo(
        _LIMITER, lambda: SlidingWindowLimiter(per_minute, 60.0, clock=lambda: runtime.clock())
    )
    if not limiter.allow(client_ip()):
        raise RateLimited("too many requests; try again later")


async def resolve(runtime: Runtime, code: str) -> Share:
    """The share for ``code`` through ``stowage_share_resolve``; 404 ``not_found`` when none."""
    share: Share | None = None
    if valid_code(code):
        share = await runtime.hooks.share_resolve(code=code, runtime=runtime)
    if share is None:
        raise NotFound("share not found")
    g.share = share
    return share


def check_available(runtime: Runtime, share: Share) -> None:
    reason = share.unavailable_reason(now_utc(runtime))
    if reason:
        raise ShareGone(code=reason)


async def check_owner(runtime: Runtime, share: Share) -> None:
    """410 ``suspended`` while the creator's local account is disabled (one indexed read; deleting
    the account revokes its shares outright)."""
    if share.source != STORE_SOURCE or getattr(runtime.store, "users", None) is None:
        return
    owner = await users(runtime).get(share.created_by)
    if owner is not None and not owner.enabled:
        raise ShareGone(code="suspended")


def check_password(runtime: Runtime, share: Share) -> None:
    if share.has_password and not is_unlocked(runtime, share.code):
        raise Unauthorized("this share link is password protected", code="password_required")


async def open_share(runtime: Runtime, code: str, *, unlocked: bool = True) -> Share:
    """Resolve and check ``code`` in SHARE-5 order; ``unlocked=False`` skips the password check."""
    share = await resolve(runtime, code)
    check_available(runtime, share)
    await check_owner(runtime, share)
    if unlocked:
        check_password(runtime, share)
    return share


def audit_access(action: str, code: str, result: str, **extra: str) -> None:
    """Audit one public access; the share (if resolved) comes from ``g.share``."""
    share: Share | None = getattr(g, "share", None)
    detail = {"share_id": share.id if share else "", "code": code, "result": result, **extra}
    audit_request(
        action,
        outcome="ok" if result == "ok" else "denied",
        backend=share.backend_id if share else "",
        bucket=share.bucket if share else "",
        key=share.key if share else "",
        detail=detail,
        user_id="",
    )


def public_endpoint(action: str) -> Callable[[F], F]:
    """Wrap a JSON ``/s/<code>/…`` view: rate limit, then audit ``action`` with its result."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        async def wrapper(code: str, **kwargs: Any) -> Any:
            rate_limit(current_runtime())
            try:
                response = await view(code, **kwargs)
            except ApiError as exc:
                if exc.code in RESULTS:
                    audit_access(action, code, exc.code)
                raise
            audit_access(action, code, "ok")
            return response

        return wrapper  # type: ignore[return-value]

    return decorate
