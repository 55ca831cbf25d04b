"""Built-in ``s3proxy``: the S3 SigV4 proxy on its own listener (SPEC §2.8).

How the parts combine: ``classify`` names the operation, ``sigv4`` verifies the caller,
``credentials`` keeps the virtual credentials in memory (``credentials_api`` manages them),
``chunked`` decodes streaming bodies, ``outbound`` re-signs for the backend, ``forward`` moves the
bytes, ``app`` is the ASGI pipeline tying them together, ``metrics`` and ``s3errors`` report.

``write_guards`` and ``response_headers`` from their own ``stowage_startup``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stowage.core.config import parse_listen
from stowage.core.metrics import ScrapeGauge
from stowage.core.server import Listener
from stowage.hooks import hookimpl
from stowage.plugins.s3proxy.admin.credential_routes import credential_blueprints
from stowage.plugins.s3proxy.app import ProxyApp
from stowage.plugins.s3proxy.credentials import StoreCredentialCache, stowage_credential_lookup
from stowage.plugins.s3proxy.policy_setup import install_policies, policy_blueprints
from stowage.plugins.s3proxy.quickstart import quickstart_credential
from stowage.plugins.s3proxy.sigv4 import SigningKeyCache

if TYPE_CHECKING:
    from stowage.core.runtime import Runtime

__all__ = ["stowage_blueprints", "stowage_credential_lookup", "stowage_shutdown", "stowage_startup"]


@hookimpl
async def stowage_startup(runtime: Runtime) -> None:
    if not runtime.settings.s3_proxy.enabled:
        return
    signing_keys = SigningKeyCache()
    cache = StoreCredentialCache(runtime, signing_keys.clear)
    await cache.reload()
    runtime.services["credentials"] = cache
    runtime.registry.register(
        ScrapeGauge("stowage_s3_credential_cache_size", "Cached virtual credentials.", lambda: len(cache))
    )
    runtime.spawn(cache.run_periodic(), "s3proxy.credentials.reload")
    app = ProxyApp(runtime, cache, signing_keys)
    await install_policies(runtime, app)
    runtime.services["s3proxy"] = app
    listener = Listener("s3_proxy", parse_listen(runtime.settings.s3_proxy.listen, "s3_proxy.listen"), app)
    runtime.services.setdefault("listeners", []).append(listener)
    runtime.services.setdefault("quickstart_steps", []).append(quickstart_credential)


@hookimpl
async def stowage_shutdown(runtime: Runtime) -> None:
    app = runtime.services.pop("s3proxy", None)
    if app is not None:
        await app.forwarder.close()


@hookimpl
def stowage_blueprints(runtime: Runtime) -> list[Any]:
    if not runtime.settings.s3_proxy.enabled:
        return []
    return [*credential_blueprints(), *policy_blueprints()]
