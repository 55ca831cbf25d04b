"""Installing the proxy's policies (CORS, POST Object, anonymous reads, quotas) and mounting the
proxy's admin routes.

``install_policies(runtime, app)`` (called once from the plugin's ``stowage_startup``) loads the
``PolicyCache`` and installs, in pipeline order, CORS (preflights first, and response headers) →
POST Object → anonymous reads → quotas (write guard and after-upstream accounting).
``policy_blueprints()`` returns the admin routes for anonymous bindings, bucket CORS and the
merged views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stowage.plugins.s3proxy.admin.merged_views import views_blueprint
from stowage.plugins.s3proxy.admin.policy_routes import policy_api_blueprints
from stowage.plugins.s3proxy.anonymous import AnonymousPolicy
from stowage.plugins.s3proxy.cors import CorsPolicy
from stowage.plugins.s3proxy.keys import POLICIES
from stowage.plugins.s3proxy.policycache import PolicyCache
from stowage.plugins.s3proxy.postobject.upload import PostObjectPolicy
from stowage.plugins.s3proxy.quota_policy import QuotaPolicy

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.s3proxy.app import ProxyApp

__all__ = ["install_policies", "policy_blueprints"]


async def install_policies(runtime: Runtime, app: ProxyApp) -> PolicyCache:
    """Load the policy cache (reloaded every 30 s) and install every policy on ``app``."""
    cache = PolicyCache(runtime)
    await cache.reload()
    runtime.provide(POLICIES, cache)
    runtime.spawn(cache.run_periodic(), "s3proxy.policies.reload")
    app.install(
        [
            CorsPolicy(cache),
            PostObjectPolicy(runtime, app.resolver, app.forwarder),
            AnonymousPolicy(runtime, cache, app.metrics, app.forward),
            QuotaPolicy(runtime),
        ]
    )
    return cache


def policy_blueprints() -> list[Any]:
    """Admin routes of the proxy policies (mounted only while the proxy is enabled)."""
    return [*policy_api_blueprints(), views_blueprint()]
