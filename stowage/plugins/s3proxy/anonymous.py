"""Anonymous reads (``AnonymousPolicy``): unsigned requests to buckets with an anonymous binding.

Entered only when ``s3_proxy.anonymous_enabled`` is on and the request carries neither an
``Authorization`` header nor ``X-Amz-Signature`` in its query; otherwise the request falls through
to SigV4 (which answers 403 ``MissingAuthenticationToken`` for unsigned requests). Order: service
level or unbound bucket ⇒ 403 ``MissingAuthenticationToken``; operation or sub-resource not
allowed (``classify.check_anonymous``) ⇒ 403 ``AccessDenied``; per-source-IP token bucket
(binding rps, or ``s3_proxy.anonymous_rps`` when 0; burst ⌊2r⌋+1) ⇒ 503 ``SlowDown``; then the
request is forwarded with the backend's admin key to the binding's bucket.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from stowage.core.contracts.backends import backend_registry
from stowage.core.security.ratelimit import TokenBucketLimiter
from stowage.plugins.s3proxy.classify import check_anonymous, query_keys
from stowage.plugins.s3proxy.policy import ProxyPolicy
from stowage.plugins.s3proxy.s3errors import (
    AccessDenied,
    InternalError,
    MissingAuthenticationToken,
    S3Error,
    SlowDown,
)
from stowage.plugins.s3proxy.sigv4 import UNSIGNED_PAYLOAD, VerifiedAuth

if TYPE_CHECKING:
    from stowage.core.contracts.backends import RegisteredBackend
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.s3proxy.metrics import ProxyMetrics
    from stowage.plugins.s3proxy.policycache import PolicyCache
    from stowage.plugins.s3proxy.request import ProxyRequest, Receive
    from stowage.plugins.s3proxy.responder import Responder

__all__ = ["ANONYMOUS_AUTH", "AnonymousPolicy", "ForwardStep", "is_unsigned"]

ForwardStep = Callable[["ProxyRequest", "RegisteredBackend", "Receive", "Responder"], Awaitable[None]]
"""The pipeline's last stage (``ProxyApp.forward``): forward to a backend and relay the answer."""

ANONYMOUS_AUTH = VerifiedAuth(
    access_key_id="", mode="anonymous", signing_key=b"", signature="", amz_date="", scope="",
    payload_hash=UNSIGNED_PAYLOAD,
)  # fmt: skip
"""Stands in for a verified signature so the Forwarder treats the body as unsigned payload."""


def is_unsigned(req: ProxyRequest) -> bool:
    """No ``Authorization`` header and no ``X-Amz-Signature`` (SigV4) or ``Signature`` (SigV2) parameter."""
    if b"authorization" in req.headers_by_name:
        return False
    if b"signature" in req.raw_query.lower():
        return not any(key.lower() in ("x-amz-signature", "signature") for key in query_keys(req.raw_query))
    return True


class AnonymousPolicy(ProxyPolicy):
    """Unsigned reads of bound buckets, answered before auth and forwarded with the backend's key."""

    def __init__(
        self, runtime: Runtime, cache: PolicyCache, metrics: ProxyMetrics, forward: ForwardStep
    ) -> None:
        self.runtime = runtime
        self.cache = cache
        self.metrics = metrics
        self.forward = forward
        self.limiter: TokenBucketLimiter | None = None  # built on first use: the rate may be reconfigured

    async def pre_auth(self, req: ProxyRequest, receive: Receive, responder: Responder) -> bool:
        settings = self.runtime.settings.s3_proxy
        if not settings.anonymous_enabled or not is_unsigned(req):
            return False
        limiter = self.limiter
        if limiter is None:
            limiter = self.limiter = TokenBucketLimiter(settings.anonymous_rps)
        req.auth_mode = "anonymous"
        classified = req.classified
        assert classified is not None
        binding = self.cache.binding(classified.bucket) if classified.bucket else None
        try:
            if binding is None:
                raise MissingAuthenticationToken(result="missing-auth")
            check_anonymous(classified)
            rate = binding.per_source_ip_rps or settings.anonymous_rps
            if not limiter.allow(f"{binding.backend_id}\0{binding.bucket}\0{req.client_ip}", float(rate)):
                raise SlowDown()
        except S3Error as error:
            reason = error.result if isinstance(error, AccessDenied | SlowDown) else "unconfigured-bucket"
            self.metrics.anonymous_reject(reason)
            raise
        backend = backend_registry(self.runtime).get(binding.backend_id)
        if backend is None:
            raise InternalError(
                f'backend "{binding.backend_id}": not registered', result="backend-unavailable"
            )
        req.backend_id = binding.backend_id
        req.classified = dataclasses.replace(classified, bucket=binding.bucket)
        req.auth = ANONYMOUS_AUTH
        try:
            await self.forward(req, backend, receive, responder)
        finally:
            if req.status:
                self.metrics.anonymous_request(req.operation, req.status)
        return True
