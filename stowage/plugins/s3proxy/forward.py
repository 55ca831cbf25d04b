"""``Forwarder``: the proxy's side of the upstream connection.

Request bodies stream from the ASGI ``receive`` channel straight into one shared keep-alive
aiohttp session: aws-chunked bodies are verified and decoded chunk by chunk, signed plain bodies
are hashed on the way (the signed ``x-amz-content-sha256`` must match), and the upstream gets
``Content-Length`` (the decoded length for aws-chunked). :meth:`Forwarder.send` returns the
upstream response to the pipeline, which relays it (``relay.py``) and releases it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NamedTuple

import aiohttp
from yarl import URL

from stowage.core.security.netpolicy import GuardedResolver, NetworkPolicy
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
from stowage.plugins.s3proxy.outbound import UpstreamSigner, filter_response_headers
from stowage.plugins.s3proxy.s3errors import InternalError, InvalidRequest, MissingContentLength, S3Error
from stowage.plugins.s3proxy.sigv4 import UNSIGNED_PAYLOAD

if TYPE_CHECKING:
    from stowage.core.contracts.backends import RegisteredBackend
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.s3proxy.metrics import ProxyMetrics
    from stowage.plugins.s3proxy.request import ProxyRequest, Receive
    from stowage.plugins.s3proxy.sigv4 import VerifiedAuth

__all__ = ["ClientGone", "Forwarder", "UpstreamAnswer", "new_session"]

RequestBody = tuple[AsyncIterator[bytes] | bytes | None, int | None, bool]
"""(body, upstream Content-Length, decoded from aws-chunked?)."""
_LENGTH_REQUIRED = frozenset({"PutObject", "UploadPart"})
_SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


class UpstreamAnswer(NamedTuple):
    """A whole upstream answer to a request the proxy made itself."""

    status: int
    headers: list[tuple[bytes, bytes]]
    """Response headers a client may see (``filter_response_headers``)."""
    body: bytes
    """The error body (status >= 300), else empty."""
    etag: str
    version_id: str


class ClientGone(Exception):
    """The client disconnected before the request body was complete."""


def new_session(policy: NetworkPolicy | None = None) -> aiohttp.ClientSession:
    """The shared upstream session: one keep-alive pool sized for many concurrent requests.

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
    """The shared upstream session and per-backend signers; one per proxy app."""

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
                skip_auto_headers=_SKIP_AUTO_HEADERS,
            ) as response:
                return response.status
        except Exception as exc:
            raise InternalError(
                f"upstream request failed: {type(exc).__name__}", result="upstream-error"
            ) from None

    def request_body(self, req: ProxyRequest, receive: Receive) -> RequestBody:
        """(body, upstream Content-Length, decoded?) for the inbound request, checked as it streams."""
        auth: VerifiedAuth | None = req.auth
        assert auth is not None, "the body is read only after authentication"
        headers_by_name = req.headers_by_name
        payload_hash = auth.payload_hash
        if is_streaming(payload_hash):
            decoded_length = parse_decoded_length(headers_by_name.get(b"x-amz-decoded-content-length"))
            decoder = AwsChunkedDecoder(
                payload_hash,
                decoded_length,
                signing_key=auth.signing_key,
                seed_signature=auth.signature,
                amz_date=auth.amz_date,
                scope=auth.scope,
                declared_trailers=parse_trailer_names(headers_by_name.get(b"x-amz-trailer")),
                checksum=header_checksum(headers_by_name, req.operation),
            )
            return decoder.stream(_receive_body(req, receive)), decoded_length, True
        check_payload_hash(payload_hash)
        if (
            b"x-amz-trailer" in headers_by_name
        ):  # trailers only exist in aws-chunked bodies: nothing would check them
            raise InvalidRequest("x-amz-trailer needs an aws-chunked body (Content-Encoding: aws-chunked)")
        length_header = headers_by_name.get(b"content-length")
        if length_header is None:
            if b"transfer-encoding" in headers_by_name or req.operation in _LENGTH_REQUIRED:
                raise MissingContentLength()
            return None, None, False
        try:
            length = int(length_header)
        except ValueError:
            raise InvalidRequest("invalid Content-Length", result="bad-request") from None
        checksum = header_checksum(headers_by_name, req.operation)
        if length == 0:
            if checksum is not None:
                checksum.check_data(b"")
            return b"", 0, False
        body: AsyncIterator[bytes] = _receive_body(req, receive)
        signed_hash = payload_hash if payload_hash != UNSIGNED_PAYLOAD else None  # else 64 hex digits
        if signed_hash is not None or checksum is not None:
            body = verify_body(body, signed_hash, checksum)
        return body, length, False

    async def send(
        self,
        req: ProxyRequest,
        backend: RegisteredBackend,
        body: AsyncIterator[bytes] | bytes | None,
        length: int | None,
        decoded: bool,
    ) -> aiohttp.ClientResponse:
        """Sign and send the request upstream; the caller relays and then releases the response.

        A body that stopped early (a bad chunk, the client gone) raises that reason, not aiohttp's.
        """
        outbound = self.signer(backend).build(
            req.method,
            req.bucket,
            req.key,
            req.upstream_query if req.upstream_query is not None else req.raw_query,
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
                skip_auto_headers=_SKIP_AUTO_HEADERS,
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
        return response

    async def copy_size(self, req: ProxyRequest, backend: RegisteredBackend, copy_source: bytes) -> int:
        """Bytes a CopyObject/UploadPartCopy will write (for the write guards): one upstream HEAD."""
        if self.session is None:
            self.session = self.open_session()
        return await copy_source_size(
            self.session,
            self.signer(backend),
            copy_source,
            req.headers,
            req.headers_by_name.get(b"x-amz-copy-source-range") if req.operation == "UploadPart" else None,
        )

    async def put_object(
        self,
        backend: RegisteredBackend,
        bucket: str,
        key: str,
        headers: list[tuple[bytes, bytes]],
        body: AsyncIterator[bytes],
        size: int,
    ) -> UpstreamAnswer:
        """One signed PUT of ``size`` bytes the proxy makes itself (a POST Object's file).

        The error body is read whole (error bodies are small); a success body is not read.
        """
        try:
            outbound = self.signer(backend).build(
                "PUT", bucket, key, b"", headers, content_length=size, now=self.runtime.clock()
            )
        except Exception:
            raise InternalError(
                "could not build the upstream request", status=500, result="build-error"
            ) from None
        try:
            async with self.open_session().put(
                URL(outbound.url, encoded=True),
                headers=outbound.headers,
                data=body,
                skip_auto_headers=_SKIP_AUTO_HEADERS,
            ) as response:
                return UpstreamAnswer(
                    response.status,
                    filter_response_headers(response.raw_headers, response.status),
                    await response.read() if response.status >= 300 else b"",
                    response.headers.get("ETag", ""),
                    response.headers.get("x-amz-version-id", ""),
                )
        except Exception as exc:
            raise InternalError(
                f"upstream request failed: {type(exc).__name__}", result="upstream-error"
            ) from None


async def _capture_errors(body: AsyncIterator[bytes], errors: list[BaseException]) -> AsyncIterator[bytes]:
    """Remember why a body stopped (bad chunk, client gone) so the caller reports that, not aiohttp's view."""
    try:
        async for piece in body:
            yield piece
    except (S3Error, ClientGone) as exc:
        errors.append(exc)
        raise
