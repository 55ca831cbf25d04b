"""Relaying an upstream response to the client through the request's ``Responder``.

The head is filtered to what S3 clients may see and carries the proxy's request id (the upstream's
id stays findable as ``x-amz-id-2``). A whole small upstream error body is rewritten to name the
proxy's request id too. Bodies stream back with back-pressure; when the client goes away
mid-body, the upstream response is closed (the connection is dropped, not drained).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import aiohttp

from stowage.plugins.s3proxy.outbound import effective_status, filter_response_headers
from stowage.plugins.s3proxy.s3errors import InternalError, with_request_id

if TYPE_CHECKING:
    from stowage.plugins.s3proxy.request import ProxyRequest, Receive
    from stowage.plugins.s3proxy.responder import Responder

__all__ = ["ERROR_BODY_LIMIT", "READ_SIZE", "relay"]

READ_SIZE = 256 * 1024
ERROR_BODY_LIMIT = 64 * 1024  # upstream error bodies up to this size get the proxy's RequestId
WATCH_DISCONNECT_ABOVE = 1 << 20  # bytes; smaller bodies finish before a watcher would matter
_NO_BODY_STATUSES = frozenset({204, 304})


async def relay(
    req: ProxyRequest, response: aiohttp.ClientResponse, receive: Receive, responder: Responder
) -> None:
    """Send ``response`` to the client; the caller releases it afterwards."""
    status = effective_status(response.raw_headers, response.status)
    headers = filter_response_headers(response.raw_headers, status)
    headers.append((b"x-amz-request-id", req.request_id.encode()))
    # The upstream's id stays findable (its logs) without contradicting ours.
    upstream_id = response.headers.get("x-amz-request-id")
    if upstream_id:
        headers.append((b"x-amz-id-2", upstream_id.encode("latin-1")))
    first = b""
    if status >= 400 and req.method != "HEAD":
        first, whole = await _prefetch(response, ERROR_BODY_LIMIT)
        if whole:
            body = with_request_id(first, req.request_id)
            headers = [(name, value) for name, value in headers if name != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await responder.send_whole(status, headers, body)
            return
    size = response.content_length
    if req.method == "HEAD" or size == 0 or status in _NO_BODY_STATUSES:
        await responder.send_whole(status, headers, b"")  # the head ends this response
        return
    watcher: asyncio.Task[None] | None = None
    if size is None or size > WATCH_DISCONNECT_ABOVE:
        watcher = asyncio.ensure_future(_wait_disconnect(receive))
    try:
        if not await responder.stream(
            status, headers, first, response.content.iter_chunked(READ_SIZE), watcher
        ):
            response.close()
            req.result = "client-gone"
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


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
