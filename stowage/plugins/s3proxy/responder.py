"""``Responder``: the only code that talks to a proxy request's ASGI ``send``.

It starts, streams and finishes the response, adds the policies' response headers to every head,
and completes the request (metrics, log, audit — :class:`RequestRecorder`) exactly once, *before*
the client can have the whole response: before the last body bytes, or before the head when the
head ends the response. So whoever saw a response finish (a script reading the audit log next)
finds its audit event already accepted, and with ``audit.durability: sync`` already committed.
Requests that never got that far are completed by the pipeline's ``finally`` (:meth:`complete`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stowage.plugins.s3proxy.s3errors import render_error

if TYPE_CHECKING:
    import asyncio
    from collections.abc import AsyncIterator

    from stowage.plugins.s3proxy.policy import HeaderSource
    from stowage.plugins.s3proxy.recording import RequestRecorder
    from stowage.plugins.s3proxy.request import ProxyRequest, Send
    from stowage.plugins.s3proxy.s3errors import S3Error

__all__ = ["Responder"]

Headers = list[tuple[bytes, bytes]]


class Responder:
    """One request's response: head, body, end, and the completion that must precede the end."""

    __slots__ = ("_header_sources", "_recorder", "_req", "_send")

    def __init__(
        self,
        req: ProxyRequest,
        send: Send,
        recorder: RequestRecorder,
        header_sources: tuple[HeaderSource, ...],
    ) -> None:
        self._req = req
        self._send = send
        self._recorder = recorder
        self._header_sources = header_sources

    def complete(self) -> None:
        """Record metrics, log and audit for the request, once."""
        req = self._req
        if not req.completed:
            req.completed = True
            self._recorder.record(req)

    def _add_policy_headers(self, headers: Headers) -> None:
        req = self._req
        for source in self._header_sources:
            headers.extend(source(req))

    async def stream(
        self,
        status: int,
        headers: Headers,
        first: bytes,
        chunks: AsyncIterator[bytes],
        disconnected: asyncio.Future[None] | None,
    ) -> bool:
        """Send the head, ``first`` and then ``chunks``, and end the response.

        Returns False, the response left open, once ``disconnected`` is done. With
        ``audit.durability: sync`` each chunk leaves one read late, so the last one can wait for
        the audit commit.
        """
        req, send = self._req, self._send
        req.status = status
        self._add_policy_headers(headers)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if first:
            await send({"type": "http.response.body", "body": first, "more_body": True})
            req.bytes_out += len(first)
        sync = self._recorder.audit_sync
        last = b""
        async for chunk in chunks:
            if disconnected is not None and disconnected.done():
                return False
            if sync:
                chunk, last = last, chunk
                if not chunk:
                    continue
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            req.bytes_out += len(chunk)
        req.bytes_out += len(last)
        self.complete()
        if sync and not req.skip_audit:
            await self._recorder.committed()
        await send({"type": "http.response.body", "body": last, "more_body": False})
        return True

    async def send_whole(self, status: int, headers: Headers, body: bytes) -> None:
        """A complete response in one go; ``headers`` already carry Content-Length and the request id."""
        req = self._req
        req.status = status
        self._add_policy_headers(headers)
        req.bytes_out += len(body)
        self.complete()
        if self._recorder.audit_sync and not req.skip_audit:
            await self._recorder.committed()
        await self._send({"type": "http.response.start", "status": status, "headers": headers})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def send_simple(
        self,
        status: int,
        body: bytes,
        *,
        content_type: bytes | None = b"application/xml",
        headers: Headers | None = None,
    ) -> None:
        """A complete response of the proxy's own, with Content-Length and the request id added."""
        out = headers if headers is not None else []
        if content_type is not None:
            out.append((b"content-type", content_type))
        out.append((b"content-length", str(len(body)).encode()))
        out.append((b"x-amz-request-id", self._req.request_id.encode()))
        await self.send_whole(status, out, body)

    async def send_error(self, error: S3Error) -> None:
        """The S3 XML error for ``error``, unless a response already started (nothing more can be said)."""
        req = self._req
        req.result = error.result
        if req.status:
            return
        rendered = render_error(
            error,
            request_id=req.request_id,
            resource=req.scope.get("path", "/"),
            bucket=error.bucket or req.bucket or None,
        )
        try:
            await self.send_whole(rendered.status, rendered.headers, rendered.body)
        except Exception:  # the client is gone
            return
