"""The proxy plugin's own service keys (per-runtime objects other modules of this plugin read).

Cross-plugin services (the credential cache, the backend registry …) have their keys in core next
to their Protocols; these are private to ``stowage.plugins.s3proxy``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stowage.core.kernel.services import ServiceKey

if TYPE_CHECKING:
    from stowage.core.kernel.server import Listener
    from stowage.plugins.s3proxy.app import ProxyApp
    from stowage.plugins.s3proxy.policycache import PolicyCache

__all__ = ["POLICIES", "PROXY_APP", "PROXY_LISTENER"]

PROXY_APP: ServiceKey[ProxyApp] = ServiceKey("s3proxy", provider="s3proxy")
"""The ASGI pipeline of the proxy listener."""

PROXY_LISTENER: ServiceKey[Listener] = ServiceKey("s3proxy.listener", provider="s3proxy")
"""The proxy's listener; its ``port`` is the bound one once the server started."""

POLICIES: ServiceKey[PolicyCache] = ServiceKey("s3proxy.policies", provider="s3proxy")
"""Anonymous bindings and CORS rules, cached for the proxy path."""
