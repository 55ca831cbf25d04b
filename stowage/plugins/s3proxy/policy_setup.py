"""Wiring of the proxy's policy extensions: CORS, POST Object, anonymous reads and quotas.

``install_policies(runtime, app)`` (called once from the plugin's ``stowage_startup``) builds the
``PolicyCache`` and registers, in PROXY-3 order, the pre-auth handlers (CORS preflight → POST
Object → anonymous), the quota write guard, the CORS response headers and the ``after_upstream``
quota accounting. ``policy_blueprints()`` returns the admin routes (API-22, API-49, API-50).

Quota accounting on the proxy: a PutObject/UploadPart whose upstream answered 2xx adds the
guarded length to the bucket's usage before the response is relayed. A successful DeleteObject /
DeleteObjects rescans the bucket (only when its usage is tracked) *before* the client sees the
answer, so a following upload is judged on the lowered usage; concurrent rescans of one bucket
coalesce (``QuotaTracker.recompute``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stowage.core.quotas import QuotaExceededError
from stowage.plugins.s3proxy.admin.merged_views import views_blueprint
from stowage.plugins.s3proxy.admin.policy_routes import policy_api_blueprints
from stowage.plugins.s3proxy.anonymous import anonymous_handler
from stowage.plugins.s3proxy.cors import cors_response_headers, preflight_handler
from stowage.plugins.s3proxy.policycache import PolicyCache
from stowage.plugins.s3proxy.postobject.upload import post_object_handler
from stowage.plugins.s3proxy.s3errors import QuotaExceeded

if TYPE_CHECKING:
    from stowage.core.runtime import Runtime
    from stowage.plugins.s3proxy.app import ProxyApp, ProxyRequest

__all__ = ["install_policies", "policy_blueprints"]

_INCOMING = "stowage.quota.incoming"
_OBJECTS = {"PutObject": 1, "UploadPart": 0}
_DELETES = frozenset({"DeleteObject", "DeleteObjects"})


async def install_policies(runtime: Runtime, app: ProxyApp) -> PolicyCache:
    """Load the policy cache (reloaded every 30 s) and register every policy extension on ``app``."""
    cache = PolicyCache(runtime)
    await cache.reload()
    runtime.services["s3proxy.policies"] = cache
    runtime.spawn(cache.run_periodic(), "s3proxy.policies.reload")
    app.pre_auth.extend([preflight_handler(cache), post_object_handler, anonymous_handler(cache)])
    app.response_headers.append(cors_response_headers(cache))

    async def quota_guard(req: ProxyRequest, incoming: int) -> None:
        quotas = runtime.services.get("quotas")
        if quotas is None:
            return
        req.scope[_INCOMING] = incoming
        try:
            await quotas.check(req.backend_id, req.bucket, incoming)
        except QuotaExceededError as exc:
            raise QuotaExceeded(str(exc), bucket=req.bucket) from None

    async def quota_account(req: ProxyRequest, status: int) -> None:
        quotas = runtime.services.get("quotas")
        if quotas is None or not 200 <= status < 300 or not req.backend_id:
            return
        operation = req.operation
        if operation in _OBJECTS and req.scope.get(_INCOMING):
            await quotas.record(req.backend_id, req.bucket, req.scope[_INCOMING], _OBJECTS[operation])
        elif operation in _DELETES:
            await quotas.refresh(req.backend_id, req.bucket)

    app.write_guards.append(quota_guard)
    app.after_upstream.append(quota_account)
    return cache


def policy_blueprints() -> list[Any]:
    """Admin routes of the proxy policies (mounted only while the proxy is enabled)."""
    return [*policy_api_blueprints(), views_blueprint()]
