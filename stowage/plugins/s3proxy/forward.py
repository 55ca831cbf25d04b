"""Forwarding a verified request to its backend and streaming the answer back (PROXY-13…PROXY-17).

Request bodies stream from the ASGI ``receive`` channel straight into one shared keep-alive
aiohttp session: aws-chunked bodies are verified and decoded chunk by chunk, signed plain bodies
are hashed on the way (SIGV4-5), and the upstream gets ``Content-Length`` (the decoded length
for aws-chunked). Responses stream back with back-pressure; when the client goes away mid-body,
the upstream response is released (the connection is dropped, not drained).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from stowage.core.security.netpolicy import GuardedResolver, NetworkPolicy
from stowage.plugins.s3proxy.amzheaders import api_name, check_amz_headers
from stowage.plugins.s3proxy.checksums import header_checksum
from stowage.plugins.s3proxy.chunked import (
    AwsChunkedDecoder,
    check_payload_hash,
    is_streaming,
    parse_decoded_length,
    parse_trailer_names,
    verify_body,
)
from stowage.plugins.s3proxy.copysize import copy_source_size
from stowage.plugins.s3proxy.outbound import UpstreamSigner, effective_status, filter_response_headers
from stowage.plugins.s3proxy.s3errors import (
    InternalError,
    InvalidRequest,
    MissingContentLength,
    S3Error,
    with_request_id,
)
from stowage.plugins.s3proxy.sigv4 import UNSIGNED_PAYLOAD

if TYPE_CHECKING:
    from stowage.core.contracts.backends import RegisteredBackend
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.s3proxy.app import ProxyApp, ProxyRequest
    from stowage.plugins.s3proxy.metrics import ProxyMetrics
    from stowage.plugins.s3proxy.sigv4 import VerifiedAuth

__all__ = ["Forwarder", "new_session"]

Receive = Callable[[], Awaitable[dict[str, Any]]]
UPSTREAM_QUERY = "stowage.upstream_query"
"""Scope key: the query to forward when it differs from the received one (SigV2 presigned URLs)."""
Send = Callable[[dict[str, Any]], Awaitable[None]]
READ_SIZE = 256 * 1024
ERROR_BODY_LIMIT = 64 * 1024  # upstream error bodies up to this size get the proxy's RequestId
WATCH_DISCONNECT_ABOVE = 1 << 20  # bytes; smaller bodies finish before a watcher would matter
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
_LENGTH_REQUIRED = frozenset({"PutObject", "UploadPart"})
_NO_BODY_STATUSES = frozenset({204, 304})


class ClientGone(Exception):
    """The client disconnected before the request body was complete."""


def new_session(policy: NetworkPolicy | None = None) -> aiohttp.ClientSession:
    """The shared upstream session: one keep-alive pool sized for concurrency (PROXY-16).

    With a ``policy``, every host name is resolved through it at connect time, so a backend whose
    name later resolves into ``backend_network.denied_networks`` (DNS rebinding) is not reached.
    """
    resolver = GuardedResolver(policy) if policy is not None else None
    connector = aiohttp.TCPConnector(
        limit=512, limit_per_host=256, keepalive_timeout=90, ttl_dns_cache=300, resolver=resolver
    )
    timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5, sock_read=60)
    return aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
    )


async def _receive_body(req: ProxyRequest, receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        body = message.get("body", b"")
        if body:
            req.bytes_in += len(body)
            yield body
        if not message.get("more_body", False):
            return


class Forwarder:
    def __init__(self, runtime: Runtime, metrics: ProxyMetrics) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.session: aiohttp.ClientSession | None = None
        self._signers: dict[str, tuple[object, UpstreamSigner]] = {}

    def open_session(self) -> aiohttp.ClientSession:
        """The shared session, created on first use with the backend network policy."""
        if self.session is None:
            self.session = new_session(NetworkPolicy(self.runtime.settings.backend_denied_networks))
        return self.session

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    def signer(self, backend: RegisteredBackend) -> UpstreamSigner:
        """One signer per backend, rebuilt when the registry replaces the backend's spec."""
        cached = self._signers.get(backend.spec.id)
        if cached is None or cached[0] is not backend.spec:
            spec = backend.spec
            signer = UpstreamSigner(spec.endpoint, spec.signing_region, spec.access_key, spec.secret_key)
            self._signers[spec.id] = (spec, signer)
            return signer
        return cached[1]

    async def upstream_status(
        self, backend: RegisteredBackend, method: str, bucket: str, key: str, raw_query: bytes = b""
    ) -> int:
        """Status of a body-less request the proxy makes itself (a HEAD before a synthesised answer)."""
        outbound = self.signer(backend).build(method, bucket, key, raw_query, (), now=time.time())
        if self.session is None:
            self.session = self.open_session()
        try:
            async with self.session.request(
                method,
                URL(outbound.url, encoded=True),
                headers=outbound.headers,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            ) as response:
                return response.status
        except Exception as exc:
            raise InternalError(
                f"upstream request failed: {type(exc).__name__}", result="upstream-error"
            ) from None

    def request_body(
        self, req: ProxyRequest, auth: VerifiedAuth, receive: Receive
    ) -> tuple[AsyncIterator[bytes] | bytes | None, int | None, bool]:
        """(body, upstream Content-Length, decoded?) for the inbound request."""
        hmap = req.hmap
        payload_hash = auth.payload_hash
        if is_streaming(payload_hash):
            decoded_length = parse_decoded_length(hmap.get(b"x-amz-decoded-content-length"))
            decoder = AwsChunkedDecoder(
                payload_hash,
                decoded_length,
                signing_key=auth.signing_key,
                seed_signature=auth.signature,
                amz_date=auth.amz_date,
                scope=auth.scope,
                declared_trailers=parse_trailer_names(hmap.get(b"x-amz-trailer")),
                checksum=header_checksum(hmap, req.operation),
            )
            return decoder.stream(_receive_body(req, receive)), decoded_length, True
        check_payload_hash(payload_hash)
        if b"x-amz-trailer" in hmap:  # trailers only exist in aws-chunked bodies: nothing would check them
            raise InvalidRequest("x-amz-trailer needs an aws-chunked body (Content-Encoding: aws-chunked)")
        length_header = hmap.get(b"content-length")
        if length_header is None:
            if b"transfer-encoding" in hmap or req.operation in _LENGTH_REQUIRED:
                raise MissingContentLength()
            return None, None, False
        try:
            length = int(length_header)
        except ValueError:
            raise InvalidRequest("invalid Content-Length", result="bad-request") from None
        checksum = header_checksum(hmap, req.operation)
        if length == 0:
            if checksum is not None:
                checksum.check_data(b"")
            return b"", 0, False
        body: AsyncIterator[bytes] = _receive_body(req, receive)
        signed_hash = payload_hash if payload_hash != UNSIGNED_PAYLOAD else None  # else 64 hex digits
        if signed_hash is not None or checksum is not None:
            body = verify_body(body, signed_hash, checksum)
        return body, length, False

    async def forward(
        self, app: ProxyApp, req: ProxyRequest, backend: RegisteredBackend, receive: Receive, send: Send
    ) -> None:
        auth: VerifiedAuth = req.scope["stowage.auth"]
        copy_source = req.hmap.get(b"x-amz-copy-source")
        assert req.classified is not None
        check_amz_headers(api_name(req.classified, copy_source is not None), req.headers, req.bucket or None)
        body, length, decoded = self.request_body(req, auth, receive)
        if length:
            await app.run_write_guards(req, length)
        elif copy_source is not None and app.write_guards:
            await app.run_write_guards(req, await self._copy_size(req, backend, copy_source))
        outbound = self.signer(backend).build(
            req.method,
            req.bucket,
            req.key,
            req.scope.get(UPSTREAM_QUERY, req.raw_query),
            req.headers,
            content_length=length,
            decoded_body=decoded,
            # The upstream checks our X-Amz-Date against its own wall clock, so outbound signing
            # uses real time; runtime.clock (injectable) governs only the proxy's own decisions.
            now=time.time(),
        )
        body_error: list[BaseException] = []
        data: Any = body
        if body is not None and not isinstance(body, bytes):
            data = _capture_errors(body, body_error)
        if self.session is None:
            self.session = self.open_session()
        started = time.perf_counter()
        try:
            response = await self.session.request(
                req.method,
                URL(outbound.url, encoded=True),
                headers=outbound.headers,
                data=data,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        except Exception as exc:
            if body_error:
                raise body_error[0] from None
            raise InternalError(
                f"upstream request failed: {type(exc).__name__}", result="upstream-error"
            ) from None
        if body_error:
            response.close()
            raise body_error[0]
        self.metrics.upstream(req.operation, time.perf_counter() - started)
        try:
            for hook in app.after_upstream:
                await hook(req, response.status)
            await self._relay(app, req, response, receive, send)
        finally:
            response.release()

    async def _copy_size(self, req: ProxyRequest, backend: RegisteredBackend, copy_source: bytes) -> int:
        """Bytes a CopyObject/UploadPartCopy will write (for the write guards): one upstream HEAD."""
        if self.session is None:
            self.session = self.open_session()
        return await copy_source_size(
            self.session,
            self.signer(backend),
            copy_source,
            req.headers,
            req.hmap.get(b"x-amz-copy-source-range") if req.operation == "UploadPart" else None,
        )

    async def _relay(
        self, app: ProxyApp, req: ProxyRequest, response: aiohttp.ClientResponse, receive: Receive, send: Send
    ) -> None:
        status = effective_status(response.raw_headers, response.status)
        headers = filter_response_headers(response.raw_headers, status)
        headers.append((b"x-amz-request-id", req.request_id.encode()))
        # The upstream's id stays findable (its logs) without contradicting ours.
        upstream_id = response.headers.get("x-amz-request-id")
        if upstream_id:
            headers.append((b"x-amz-id-2", upstream_id.encode("latin-1")))
        headers.extend(app.extra_headers(req))
        first = b""
        if status >= 400 and req.method != "HEAD":
            first, whole = await _prefetch(response, ERROR_BODY_LIMIT)
            if whole:
                await _send_error_body(app, req, status, headers, first, send)
                return
        req.status = status
        size = response.content_length
        sync = app.audit_sync
        if req.method == "HEAD" or size == 0 or status in _NO_BODY_STATUSES:
            # The head ends this response: with audit.durability: sync, commit the event first.
            app.complete(req)
            if sync:
                await app.audit_committed()
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if first:
            await send({"type": "http.response.body", "body": first, "more_body": True})
            req.bytes_out += len(first)
        watcher: asyncio.Task[None] | None = None
        if size is None or size > WATCH_DISCONNECT_ABOVE:
            watcher = asyncio.ensure_future(_wait_disconnect(receive))
        last = b""  # with audit.durability: sync, each read is sent one read late
        try:
            async for chunk in response.content.iter_chunked(READ_SIZE):
                if watcher is not None and watcher.done():
                    response.close()
                    req.result = "client-gone"
                    return
                if sync:
                    chunk, last = last, chunk
                    if not chunk:
                        continue
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                req.bytes_out += len(chunk)
            req.bytes_out += len(last)
            app.complete(req)
            if sync:  # the last bytes leave only once the audit event is committed
                await app.audit_committed()
            await send({"type": "http.response.body", "body": last, "more_body": False})
        except (aiohttp.ClientError, TimeoutError):
            response.close()
            req.result = "upstream-error"
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(BaseException):
                    await watcher


async def _prefetch(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of the body, and whether that was all of it (error bodies are small)."""
    size = response.content_length
    if size is not None and size > limit:
        return b"", False
    buffered = bytearray()
    try:
        while len(buffered) <= limit:
            piece = await response.content.read(limit + 1 - len(buffered))
            if not piece:
                return bytes(buffered), True
            buffered += piece
    except (aiohttp.ClientError, TimeoutError):
        raise InternalError("upstream error response was cut short", result="upstream-error") from None
    return bytes(buffered), False


async def _send_error_body(
    app: ProxyApp, req: ProxyRequest, status: int, headers: list[tuple[bytes, bytes]], body: bytes, send: Send
) -> None:
    """Relay a whole upstream error body with the proxy's request id in ``<RequestId>``."""
    body = with_request_id(body, req.request_id)
    headers = [(name, value) for name, value in headers if name != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    req.status = status
    await send({"type": "http.response.start", "status": status, "headers": headers})
    req.bytes_out += len(body)
    app.complete(req)
    if app.audit_sync:  # the body ends the response: commit its audit event first
        await app.audit_committed()
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _capture_errors(body: AsyncIterator[bytes], errors: list[BaseException]) -> AsyncIterator[bytes]:
    """Remember why a body stopped (bad chunk, client gone) so the caller reports that, not aiohttp's view."""
    try:
        async for piece in body:
            yield piece
    except (S3Error, ClientGone) as exc:
        errors.append(exc)
        raise
