"""The S3 proxy as a plain ASGI app: the request pipeline from first byte to audit row (PROXY-3).

classify (refusing paths the upstream could read differently) → pre-auth handlers (CORS
preflight, POST Object, anonymous reads — added by policy plugins) → SigV4 or SigV2 (header or
presigned) → credential → rate limits → owner rights → the proxy's own answers for in-scope
ACL/CORS/configuration reads and CreateBucket (``synthesized.py``) → tenant operation rules →
synthesised ListBuckets → scope (bucket and copy source) → write guards (quota) → forward
(``forward.py``) → metrics, log, audit. No Quart on this path: it owns no framework globals.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from stowage.core.contracts.audit import AuditEvent, AuditRecorder, drops_without_looking, recorder
from stowage.core.contracts.backends import BackendRegistry, backend_registry
from stowage.core.contracts.credentials import READ_METHODS
from stowage.core.formats.ids import new_request_id
from stowage.core.security.ratelimit import TokenBucketLimiter
from stowage.plugins.s3proxy.classify import (
    Classified,
    check_addressing,
    check_tenant,
    classify,
    parse_copy_source,
)
from stowage.plugins.s3proxy.forward import UPSTREAM_QUERY, ClientGone, Forwarder
from stowage.plugins.s3proxy.metrics import ProxyMetrics
from stowage.plugins.s3proxy.s3errors import (
    AccessDenied,
    AuthError,
    InternalError,
    InvalidAccessKeyId,
    S3Error,
    SlowDown,
    render_error,
    xml_text,
)
from stowage.plugins.s3proxy.sigv2 import ParsedV2, SigV2Disabled, is_sigv2, parse_sigv2, verify_sigv2
from stowage.plugins.s3proxy.sigv4 import ParsedAuth, SigningKeyCache, parse_request, verify
from stowage.plugins.s3proxy.synthesized import answer_synthesized, synthesized_operation

if TYPE_CHECKING:
    from stowage.core.contracts.credentials import CredentialCache, VirtualCredential
    from stowage.core.kernel.runtime import Runtime

__all__ = ["ProxyApp", "ProxyRequest"]

log = logging.getLogger("stowage.s3proxy")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
PreAuthHandler = Callable[["ProxyApp", "ProxyRequest", Receive, Send], Awaitable[bool]]
WriteGuard = Callable[["ProxyRequest", int], Awaitable[None]]
AfterUpstream = Callable[["ProxyRequest", int], Awaitable[None]]
_REDACT = re.compile(
    r"((?:X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId)=)[^&]*", re.IGNORECASE
)
_WRITE_OPERATIONS = frozenset({"PutObject", "UploadPart"})


class ProxyRequest:
    """Everything one request accumulates on its way through the pipeline."""

    __slots__ = (
        "access_key",
        "auth_mode",
        "backend_id",
        "bytes_in",
        "bytes_out",
        "classified",
        "client_ip",
        "completed",
        "credential",
        "headers",
        "hmap",
        "method",
        "raw_path",
        "raw_query",
        "request_id",
        "result",
        "scope",
        "started",
        "status",
        "user_agent",
    )

    def __init__(self, scope: Scope, client_ip: str) -> None:
        self.scope = scope
        self.request_id = new_request_id()
        self.method: str = scope["method"]
        self.raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        self.raw_query: bytes = scope.get("query_string", b"")
        self.headers: list[tuple[bytes, bytes]] = scope["headers"]
        hmap: dict[bytes, bytes] = {}
        for name, value in self.headers:
            hmap[name] = hmap[name] + b"," + value if name in hmap else value
        self.hmap = hmap
        self.client_ip = client_ip
        self.user_agent = hmap.get(b"user-agent", b"").decode("latin-1")
        self.started = time.perf_counter()
        self.classified: Classified | None = None
        self.credential: VirtualCredential | None = None
        self.auth_mode = "signed"
        self.access_key = ""
        self.backend_id = ""
        self.result = "ok"
        self.status = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.completed = False

    @property
    def operation(self) -> str:
        return self.classified.operation if self.classified else "Unknown"

    @property
    def bucket(self) -> str:
        return self.classified.bucket if self.classified else ""

    @property
    def key(self) -> str:
        return self.classified.key if self.classified else ""


class ProxyApp:
    """The ASGI application behind ``s3_proxy.listen``."""

    def __init__(self, runtime: Runtime, credentials: CredentialCache, signing_keys: SigningKeyCache) -> None:
        settings = runtime.settings.s3_proxy
        self.runtime = runtime
        self.credentials = credentials
        self.signing_keys = signing_keys
        self.metrics = ProxyMetrics(runtime.registry)
        self.forwarder = Forwarder(runtime, self.metrics)
        self.host_suffixes = settings.host_suffixes
        self.sigv2 = settings.sigv2
        self.global_limit = TokenBucketLimiter(settings.global_rps) if settings.global_rps > 0 else None
        self.key_limit = TokenBucketLimiter(settings.per_key_rps) if settings.per_key_rps > 0 else None
        self.pre_auth: list[PreAuthHandler] = []
        self.write_guards: list[WriteGuard] = []
        self.response_headers: list[Callable[[ProxyRequest], list[tuple[bytes, bytes]]]] = []
        # Called with the upstream status once its response headers arrived, before relaying.
        self.after_upstream: list[AfterUpstream] = []
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(runtime.started_at))
        # audit.durability: sync — the last body message waits for the request's audit row
        self.audit_sync = runtime.settings.audit.durability == "sync"

    # Resolved on first use (every plugin has started by then), then a plain attribute read.
    @cached_property
    def backends(self) -> BackendRegistry:
        return backend_registry(self.runtime)

    @cached_property
    def audit(self) -> AuditRecorder:
        return recorder(self.runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        client = scope.get("client") or ("", 0)
        runtime = self.runtime
        client_ip = client[0]
        if scope["headers"]:
            hmap_probe = dict(scope["headers"])
            xff, xri = hmap_probe.get(b"x-forwarded-for"), hmap_probe.get(b"x-real-ip")
            if xff or xri:
                client_ip = runtime.trusted_proxies.client_ip(
                    client[0], xff.decode("latin-1") if xff else None, xri.decode("latin-1") if xri else None
                )
        req = ProxyRequest(scope, client_ip)
        self.metrics.inflight += 1
        try:
            await self._handle(req, receive, send)
        except S3Error as error:
            await self.send_error(req, error, send)
        except ClientGone:
            req.result = "client-gone"
        except Exception:
            log.exception("proxy request failed", extra={"request_id": req.request_id})
            await self.send_error(req, InternalError(status=500, result="upstream-error"), send)
        finally:
            self.metrics.inflight -= 1
            self.complete(req)

    async def _handle(self, req: ProxyRequest, receive: Receive, send: Send) -> None:
        content_type = req.hmap.get(b"content-type", b"").decode("latin-1")
        host = req.hmap.get(b"host", b"").decode("latin-1")
        req.classified = classify(
            req.method,
            host,
            req.raw_path,
            req.raw_query,
            content_type=content_type,
            host_suffixes=self.host_suffixes,
        )
        check_addressing(req.classified, req.raw_query)
        for handler in self.pre_auth:
            if await handler(self, req, receive, send):
                return
        credential = await self.authenticate(req)
        if credential.read_only and req.method not in READ_METHODS:
            raise AccessDenied("the credential's owner may only read", result="owner-read-only")
        synthesized = synthesized_operation(req)
        if synthesized is not None and await answer_synthesized(
            self, req, credential, synthesized, receive, send
        ):
            return
        classified = req.classified
        check_tenant(classified)
        if classified.operation == "ListBuckets":
            await self._list_buckets(req, credential, send)
            return
        self.check_scope(req, credential, classified.bucket)
        copy_source = req.hmap.get(b"x-amz-copy-source")
        if copy_source is not None:
            self.check_scope(req, credential, parse_copy_source(copy_source).bucket)
        req.backend_id = credential.backend_id
        backend = self.backends.get(credential.backend_id)
        if backend is None:
            raise InternalError(
                f'backend "{credential.backend_id}": not registered', result="backend-unavailable"
            )
        await self.forwarder.forward(self, req, backend, receive, send)

    async def authenticate(self, req: ProxyRequest) -> VirtualCredential:
        """SigV4 or SigV2 (header or presigned) → credential → limits; raises the S3 auth errors."""
        try:
            parsed: ParsedAuth | ParsedV2
            if is_sigv2(req.hmap.get(b"authorization"), req.raw_query):  # one prefix test for SigV4
                parsed = self._parse_sigv2(req)
            else:
                parsed = parse_request(req.method, req.raw_path, req.raw_query, req.headers)
            req.auth_mode = parsed.mode
            req.access_key = parsed.access_key_id
            credential = self.credentials.get(parsed.access_key_id)
            if credential is None:
                credential = await self.runtime.hooks.credential_lookup(
                    access_key_id=parsed.access_key_id, runtime=self.runtime
                )
                if credential is not None and not credential.usable(_utc(self.runtime.clock())):
                    credential = None
            if credential is None:
                raise InvalidAccessKeyId()
            if isinstance(parsed, ParsedV2):
                verified = verify_sigv2(parsed, credential.secret_key, now=self.runtime.clock())
                _adopt_sigv2_query(req, parsed)
            else:
                verified = verify(
                    parsed, credential.secret_key, now=self.runtime.clock(), cache=self.signing_keys
                )
        except AuthError as error:
            self.metrics.auth_failure(error.result)
            raise
        req.scope["stowage.auth"] = verified
        req.credential = credential
        if self.global_limit is not None and not self.global_limit.allow():
            raise SlowDown()
        if self.key_limit is not None and not self.key_limit.allow(credential.access_key):
            raise SlowDown()
        return credential

    def _parse_sigv2(self, req: ProxyRequest) -> ParsedV2:
        if not self.sigv2:
            raise SigV2Disabled()
        classified = req.classified
        prefix = b""
        if classified is not None and classified.virtual_hosted and classified.bucket:
            # a virtual-hosted request's path lacks the bucket, which SigV2's canonical resource names
            prefix = b"/" + classified.bucket.encode("utf-8", "surrogateescape")
        return parse_sigv2(req.method, req.raw_path, req.raw_query, req.headers, bucket_prefix=prefix)

    def check_scope(self, req: ProxyRequest, credential: VirtualCredential, bucket: str) -> None:
        if bucket and not credential.allows_bucket(bucket):
            self.metrics.scope_violation()
            raise AccessDenied(
                "credential is not scoped to this bucket", result="scope-violation", bucket=bucket
            )

    async def run_write_guards(self, req: ProxyRequest, incoming: int) -> None:
        if req.operation in _WRITE_OPERATIONS:
            for guard in self.write_guards:
                await guard(req, incoming)

    async def _list_buckets(self, req: ProxyRequest, credential: VirtualCredential, send: Send) -> None:
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
        await self.send_simple(req, 200, body, send, content_type=b"application/xml")

    async def send_simple(
        self,
        req: ProxyRequest,
        status: int,
        body: bytes,
        send: Send,
        *,
        content_type: bytes = b"application/xml",
    ) -> None:
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"x-amz-request-id", req.request_id.encode()),
            *self.extra_headers(req),
        ]
        req.status = status
        req.bytes_out += len(body)
        self.complete(req)
        if self.audit_sync:
            await self.audit_committed()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def extra_headers(self, req: ProxyRequest) -> list[tuple[bytes, bytes]]:
        out: list[tuple[bytes, bytes]] = []
        for provider in self.response_headers:
            out.extend(provider(req))
        return out

    async def send_error(self, req: ProxyRequest, error: S3Error, send: Send) -> None:
        req.result = error.result
        if req.status:  # the response already started: nothing more can be said
            return
        rendered = render_error(
            error,
            request_id=req.request_id,
            resource=req.scope.get("path", "/"),
            bucket=error.bucket or req.bucket or None,
        )
        req.status = rendered.status
        headers = rendered.headers + self.extra_headers(req)
        req.bytes_out += len(rendered.body)
        self.complete(req)
        try:
            if self.audit_sync:
                await self.audit_committed()
            await send({"type": "http.response.start", "status": rendered.status, "headers": headers})
            await send({"type": "http.response.body", "body": rendered.body, "more_body": False})
        except Exception:  # the client is gone
            return

    def complete(self, req: ProxyRequest) -> None:
        """Record metrics, log and audit once, before the client can see the response end.

        Called before the client can have the whole response (before the last body bytes, or
        before the head when that ends the response), so anyone who saw a response finish (a
        script reading the audit log next) finds its audit event already accepted — with
        ``audit.durability: sync``, committed (``audit_committed``); the ``finally`` of
        ``__call__`` covers requests that never got that far.
        """
        if not req.completed:
            req.completed = True
            self._finish(req)

    async def audit_committed(self) -> None:
        """Wait until the audit events recorded so far (this request's included) are committed."""
        await self.audit.flush()

    def _finish(self, req: ProxyRequest) -> None:
        status = req.status or 499
        seconds = time.perf_counter() - req.started
        operation = req.operation
        self.metrics.observe(
            method=req.method,
            operation=operation,
            status=status,
            result=req.result,
            auth_mode=req.auth_mode,
            seconds=seconds,
            bytes_in=req.bytes_in,
            bytes_out=req.bytes_out,
        )
        if status >= 400 and log.isEnabledFor(logging.INFO):
            path = _REDACT.sub(
                r"\1REDACTED", req.scope.get("path", "") + "?" + req.raw_query.decode("latin-1")
            )
            log.info(
                "s3 request",
                extra={
                    "method": req.method,
                    "host": req.hmap.get(b"host", b"").decode("latin-1"),
                    "path": path.rstrip("?"),
                    "status": status,
                    "operation": operation,
                    "result": req.result,
                    "auth_mode": req.auth_mode,
                    "latency_ms": round(seconds * 1000, 3),
                    "request_id": req.request_id,
                },
            )
        if req.scope.get("stowage.skip_audit"):  # e.g. CORS preflights (CORS-2: no audit)
            return
        audit = self.audit
        outcome = "ok" if status < 400 else ("denied" if status < 500 else "error")
        if drops_without_looking(audit, origin="proxy", method=req.method, outcome=outcome):
            return  # sampled out for certain: don't build the event
        detail: dict[str, Any] = {"auth_mode": req.auth_mode, "result": req.result}
        if req.access_key:
            detail["access_key"] = req.access_key
        if req.credential is not None:
            detail["source"] = req.credential.source
        elif req.auth_mode == "anonymous":
            detail["source"] = "anonymous"
        audit.record(
            AuditEvent(
                action="s3.proxy." + operation.lower(),
                outcome=outcome,
                backend=req.backend_id,
                bucket=req.bucket,
                key=req.key,
                request_id=req.request_id,
                ip=req.client_ip,
                user_agent=req.user_agent,
                detail=detail,
                origin="proxy",
                method=req.method,
            )
        )


def _adopt_sigv2_query(req: ProxyRequest, parsed: ParsedV2) -> None:
    """A SigV2 presigned URL's signed header parameters become headers; the upstream query loses them."""
    if parsed.mode != "presigned-v2":
        return
    for name, value in parsed.added_headers:
        req.headers.append((name, value))
        req.hmap[name] = value
    req.scope[UPSTREAM_QUERY] = parsed.upstream_query


def _utc(timestamp: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
