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
