"""``ProxyApp``: the S3 proxy as a plain ASGI app, one request from first byte to audit event.

The pipeline, top to bottom (:meth:`ProxyApp.handle`): classify the request (refusing paths the
upstream could read differently) → the policies' pre-auth stage (CORS preflight, POST Object,
anonymous reads) → the credential resolver (SigV4 or SigV2, header or presigned) → rate limits →
owner rights → the proxy's own answers for in-scope ACL/CORS/configuration reads and CreateBucket
(``synthesized.py``) → tenant operation rules → the synthesised ListBuckets → bucket and copy
source scope → :meth:`ProxyApp.forward`: header checks, the request body, the policies' write
guards, the upstream request (``forward.py``), the policies' after-upstream stage, and the relay
(``relay.py``). Every byte to the client goes through the request's ``Responder``, which also
records metrics, log and audit. No Quart on this path: it owns no framework globals.
"""

from __future__ import annotations

import logging
import time
from functools import cached_property
from typing import TYPE_CHECKING

from stowage.core.contracts.backends import BackendRegistry, backend_registry
from stowage.core.contracts.credentials import READ_METHODS
from stowage.plugins.s3proxy.amzheaders import api_name, check_amz_headers
from stowage.plugins.s3proxy.authentication import CredentialResolver
from stowage.plugins.s3proxy.classify import check_addressing, check_tenant, classify, parse_copy_source
from stowage.plugins.s3proxy.forward import ClientGone, Forwarder
from stowage.plugins.s3proxy.metrics import ProxyMetrics
from stowage.plugins.s3proxy.policy import PolicyChain
from stowage.plugins.s3proxy.recording import RequestRecorder
from stowage.plugins.s3proxy.relay import relay
from stowage.plugins.s3proxy.request import ProxyRequest
from stowage.plugins.s3proxy.responder import Responder
from stowage.plugins.s3proxy.s3errors import AccessDenied, InternalError, S3Error, xml_text
from stowage.plugins.s3proxy.synthesized import answer_synthesized, synthesized_operation

if TYPE_CHECKING:
    from stowage.core.contracts.backends import RegisteredBackend
    from stowage.core.contracts.credentials import CredentialCache, VirtualCredential
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.s3proxy.policy import ProxyPolicy
    from stowage.plugins.s3proxy.request import Receive, Scope, Send
    from stowage.plugins.s3proxy.sigv4 import SigningKeyCache

__all__ = ["ProxyApp"]

log = logging.getLogger("stowage.s3proxy")

_WRITE_OPERATIONS = frozenset({"PutObject", "UploadPart"})


class ProxyApp:
    """The ASGI application behind ``s3_proxy.listen``."""

    def __init__(self, runtime: Runtime, credentials: CredentialCache, signing_keys: SigningKeyCache) -> None:
        self.runtime = runtime
        self.metrics = ProxyMetrics(runtime.registry)
        self.forwarder = Forwarder(runtime, self.metrics)
        self.resolver = CredentialResolver(runtime, credentials, signing_keys, self.metrics)
        self.recorder = RequestRecorder(runtime, self.metrics)
        self.host_suffixes = runtime.settings.s3_proxy.host_suffixes
        self.policies = PolicyChain()
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(runtime.started_at))

    def install(self, policies: list[ProxyPolicy]) -> None:
        """Install ``policies`` in the pipeline, in this order (called once at startup)."""
        self.policies = PolicyChain(policies)

    # Resolved on first use (every plugin has started by then), then a plain attribute read.
    @cached_property
    def backends(self) -> BackendRegistry:
        return backend_registry(self.runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        client = scope.get("client") or ("", 0)
        client_ip = client[0]
        if scope["headers"]:
            last_values = dict(scope["headers"])  # the last value of a repeated header wins here
            xff, xri = last_values.get(b"x-forwarded-for"), last_values.get(b"x-real-ip")
            if xff or xri:
                client_ip = self.runtime.trusted_proxies.client_ip(
                    client[0], xff.decode("latin-1") if xff else None, xri.decode("latin-1") if xri else None
                )
        req = ProxyRequest(scope, client_ip)
        responder = Responder(req, send, self.recorder, self.policies.header_sources)
        self.metrics.inflight += 1
        try:
            await self.handle(req, receive, responder)
        except S3Error as error:
            await responder.send_error(error)
        except ClientGone:
            req.result = "client-gone"
        except Exception:
            log.exception("proxy request failed", extra={"request_id": req.request_id})
            await responder.send_error(InternalError(status=500, result="upstream-error"))
        finally:
            self.metrics.inflight -= 1
            responder.complete()

    async def handle(self, req: ProxyRequest, receive: Receive, responder: Responder) -> None:
        """The pipeline; raises ``S3Error`` for the caller to answer."""
        headers_by_name = req.headers_by_name
        req.classified = classify(
            req.method,
            headers_by_name.get(b"host", b"").decode("latin-1"),
            req.raw_path,
            req.raw_query,
            content_type=headers_by_name.get(b"content-type", b"").decode("latin-1"),
            host_suffixes=self.host_suffixes,
        )
        check_addressing(req.classified, req.raw_query)
        for pre_auth in self.policies.pre_auth:
            if await pre_auth(req, receive, responder):
                return
        resolver = self.resolver
        credential = await resolver.from_request(req)
        resolver.admit(credential)
        if credential.read_only and req.method not in READ_METHODS:
            raise AccessDenied("the credential's owner may only read", result="owner-read-only")
        synthesized = synthesized_operation(req)
        if synthesized is not None and await answer_synthesized(
            self.forwarder, req, credential, synthesized, receive, responder
        ):
            return
        classified = req.classified
        check_tenant(classified)
        if classified.operation == "ListBuckets":
            await self._list_buckets(credential, responder)
            return
        resolver.check_scope(credential, classified.bucket)
        copy_source = headers_by_name.get(b"x-amz-copy-source")
        if copy_source is not None:
            resolver.check_scope(credential, parse_copy_source(copy_source).bucket)
        req.backend_id = credential.backend_id
        backend = self.backends.get(credential.backend_id)
        if backend is None:
            raise InternalError(
                f'backend "{credential.backend_id}": not registered', result="backend-unavailable"
            )
        await self.forward(req, backend, receive, responder)

    async def forward(
        self, req: ProxyRequest, backend: RegisteredBackend, receive: Receive, responder: Responder
    ) -> None:
        """Send the authorised request to ``backend`` and relay the answer (anonymous reads enter here)."""
        copy_source = req.headers_by_name.get(b"x-amz-copy-source")
        assert req.classified is not None
        check_amz_headers(api_name(req.classified, copy_source is not None), req.headers, req.bucket or None)
        forwarder = self.forwarder
        body, length, decoded = forwarder.request_body(req, receive)
        if length:
            await self._guard_writes(req, length)
        elif copy_source is not None and self.policies.write_guards:
            await self._guard_writes(req, await forwarder.copy_size(req, backend, copy_source))
        response = await forwarder.send(req, backend, body, length, decoded)
        try:
            for after_upstream in self.policies.after_upstream:
                await after_upstream(req, response.status)
            await relay(req, response, receive, responder)
        finally:
            response.release()

    async def _guard_writes(self, req: ProxyRequest, incoming: int) -> None:
        if req.operation in _WRITE_OPERATIONS:
            for guard in self.policies.write_guards:
                await guard(req, incoming)

    async def _list_buckets(self, credential: VirtualCredential, responder: Responder) -> None:
        entries = "".join(
            f"<Bucket><Name>{xml_text(name)}</Name><CreationDate>{self.started_at}</CreationDate></Bucket>"
            for name in credential.buckets
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            "<Owner><ID>stowage</ID><DisplayName>stowage</DisplayName></Owner>"
            f"<Buckets>{entries}</Buckets></ListAllMyBucketsResult>"
        ).encode()
        await responder.send_simple(200, body)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
