"""Built-in ``s3proxy``: the S3 SigV4 proxy on its own listener (SPEC §2.8).

How the parts combine: ``classify`` names the operation, ``sigv4`` verifies the caller,
``credentials`` keeps the virtual credentials in memory (``credentials_api`` manages them),
``chunked`` decodes streaming bodies, ``outbound`` re-signs for the backend, ``forward`` moves the
bytes, ``app`` is the ASGI pipeline tying them together, ``metrics`` and ``s3errors`` report.
Policy plugins (quotas, anonymous reads, CORS, POST Object) extend ``ProxyApp.pre_auth``,
``write_guards`` and ``response_headers`` from their own ``stowage_startup``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stowage.core.contracts.credentials import CREDENTIALS
from stowage.core.kernel.config import parse_listen
from stowage.core.kernel.metrics import ScrapeGauge
from stowage.core.kernel.server import Listener
from stowage.hooks import hookimpl
from stowage.plugins.s3proxy.app import ProxyApp
from stowage.plugins.s3proxy.credentials import StoreCredentialCache, stowage_credential_lookup
from stowage.plugins.s3proxy.credentials_api import credential_blueprints
from stowage.plugins.s3proxy.keys import PROXY_APP, PROXY_LISTENER
from stowage.plugins.s3proxy.policies import install_policies, policy_blueprints
from stowage.plugins.s3proxy.quickstart import quickstart_credential
from stowage.plugins.s3proxy.sigv4 import SigningKeyCache

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime
    from stowage.core.tooling.quickstart import QuickstartStep

__all__ = [
    "stowage_blueprints",
    "stowage_credential_lookup",
    "stowage_listeners",
    "stowage_quickstart_steps",
    "stowage_shutdown",
    "stowage_startup",
]


@hookimpl
async def stowage_startup(runtime: Runtime) -> None:
    if not runtime.settings.s3_proxy.enabled:
        return
    signing_keys = SigningKeyCache()
    cache = StoreCredentialCache(runtime, signing_keys.clear)
    await cache.reload()
    runtime.provide(CREDENTIALS, cache)
    runtime.registry.register(
        ScrapeGauge("stowage_s3_credential_cache_size", "Cached virtual credentials.", lambda: len(cache))
    )
    runtime.spawn(cache.run_periodic(), "s3proxy.credentials.reload")
    app = ProxyApp(runtime, cache, signing_keys)
    await install_policies(runtime, app)
    runtime.provide(PROXY_APP, app)
    listener = Listener("s3_proxy", parse_listen(runtime.settings.s3_proxy.listen, "s3_proxy.listen"), app)
    runtime.provide(PROXY_LISTENER, listener)


@hookimpl
def stowage_listeners(runtime: Runtime) -> list[Listener]:
    listener = runtime.find(PROXY_LISTENER)
    return [listener] if listener is not None else []


@hookimpl
def stowage_quickstart_steps(runtime: Runtime) -> list[QuickstartStep]:
    return [quickstart_credential] if runtime.find(PROXY_APP) is not None else []


@hookimpl
async def stowage_shutdown(runtime: Runtime) -> None:
    runtime.withdraw(PROXY_LISTENER)
    app = runtime.withdraw(PROXY_APP)
    if app is not None:
        await app.forwarder.close()


@hookimpl
def stowage_blueprints(runtime: Runtime) -> list[Any]:
    if not runtime.settings.s3_proxy.enabled:
        return []
    return [*credential_blueprints(), *policy_blueprints()]
