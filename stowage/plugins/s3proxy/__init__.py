"""Built-in ``s3proxy``: the S3 SigV4 proxy on its own listener (``s3_proxy.listen``).

How the parts combine, in the order a request meets them (``app.ProxyApp`` reads top to bottom):

* ``request`` holds what one request accumulates (``ProxyRequest``); ``responder`` is the only
  writer to the client (``Responder``: start, stream, finish, errors) and completes each request
  once through ``recording`` (metrics, log line, audit event; ``audit.durability: sync`` ordering).
* ``classify`` names the operation and refuses ambiguous addressing.
* ``policy`` is the typed contract (``ProxyPolicy``: pre-auth, write guard, response headers,
  after-upstream) that ``cors``, ``postobject`` (browser form uploads), ``anonymous`` and
  ``quota_policy`` implement; ``policy_setup`` installs them, backed by ``policycache``.
* ``authentication`` resolves who signed (``CredentialResolver``: SigV4 in ``sigv4``, SigV2 in
  ``sigv2``, presigned URLs and POST forms) against ``credentials`` (the in-memory cache), then
  applies rate limits and bucket scope.
* ``synthesized`` answers in-scope ACL/CORS/configuration reads and CreateBucket itself.
* ``forward`` reads the request body (``chunked``, ``checksums``), re-signs it for the backend
  (``outbound``, ``amzheaders``, ``copysize``) and returns the upstream response, which ``relay``
  streams back through the responder.
* ``s3errors`` are the S3 XML errors, ``metrics`` the Prometheus families; ``admin`` holds the
  JSON routes that manage credentials, bindings and CORS rules on the dashboard listener.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stowage.core.contracts.credentials import CREDENTIALS
from stowage.core.kernel.config import parse_listen
from stowage.core.kernel.metrics import ScrapeGauge
from stowage.core.kernel.server import Listener
from stowage.hooks import hookimpl
from stowage.plugins.s3proxy.admin.credential_routes import credential_blueprints
from stowage.plugins.s3proxy.app import ProxyApp
from stowage.plugins.s3proxy.credentials import StoreCredentialCache, stowage_credential_lookup
from stowage.plugins.s3proxy.keys import PROXY_APP, PROXY_LISTENER
from stowage.plugins.s3proxy.policy_setup import install_policies, policy_blueprints
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
