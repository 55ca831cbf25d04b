"""Streaming reader of a browser POST Object form: fields first, then the ``file`` part.

Built on werkzeug's sans-IO multipart decoder fed from the ASGI ``receive`` channel. Text fields
are collected (names lower-cased; ≤64 fields, each ≤64 KiB, ≤1 MiB in total) until the part
named ``file``, whose bytes are then yielded chunk by chunk without being held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, Event, Field, File, MultipartDecoder, NeedData

from stowage.plugins.s3proxy.forward import ClientGone
from stowage.plugins.s3proxy.s3errors import MalformedPOSTRequest

__all__ = ["FIELDS_TOTAL_LIMIT", "FIELD_LIMIT", "MAX_FIELDS", "PostForm"]

MAX_FIELDS = 64
FIELD_LIMIT = 64 * 1024
FIELDS_TOTAL_LIMIT = 1024 * 1024
_DECODER_BUFFER = 2 * 1024 * 1024  # unparsed bytes the decoder may hold (part headers, one chunk)

Receive = Callable[[], Awaitable[dict[str, Any]]]


def _bad(message: str, result: str = "bad-form") -> MalformedPOSTRequest:
    return MalformedPOSTRequest(message, result=result)


class PostForm:
    """One form body. Call :meth:`read_fields`, then iterate :meth:`file_chunks`."""

    def __init__(self, receive: Receive, boundary: str) -> None:
        self._receive = receive
        self._decoder = MultipartDecoder(boundary.encode("latin-1"), _DECODER_BUFFER)
        self._complete = False
        self.bytes_in = 0
        self.filename = ""
        self.file_content_type = ""

    async def _next(self) -> Event:
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError as exc:
                raise _bad(f"malformed multipart body: {exc}", "bad-multipart") from None
            if not isinstance(event, NeedData):
                return event
            if self._complete:
                raise _bad("incomplete multipart body", "bad-multipart")
            await self._feed()

    async def _feed(self) -> None:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        body = message.get("body", b"")
        self.bytes_in += len(body)
        try:
            self._decoder.receive_data(body)
        except RequestEntityTooLarge:
            raise _bad("multipart part headers too large", "bad-multipart") from None
        if not message.get("more_body", False):
            self._complete = True
            self._decoder.receive_data(None)

    async def read_fields(self) -> dict[str, str]:
        """Text fields up to the ``file`` part; raises ``MalformedPOSTRequest`` on limits or no file."""
        fields: dict[str, str] = {}
        name: str | None = None
        value = bytearray()
        total = count = 0
        while True:
            event = await self._next()
            if isinstance(event, Field | File):
                part = (event.name or "").lower()
                if part == "file":
                    self.filename = event.filename or "" if isinstance(event, File) else ""
                    self.file_content_type = event.headers.get("content-type", "")
                    return fields
                count += 1
                if count > MAX_FIELDS:
                    raise _bad(f"form has more than {MAX_FIELDS} fields")
                name, value = part, bytearray()
            elif isinstance(event, Data) and name is not None:
                value += event.data
                total += len(event.data)
                if len(value) > FIELD_LIMIT or total > FIELDS_TOTAL_LIMIT:
                    raise _bad("form field too large")
                if not event.more_data:
                    fields.setdefault(name, value.decode("utf-8", "replace"))
                    name = None
            elif isinstance(event, Epilogue):
                raise _bad("form has no file field", "no-file")

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The ``file`` part's bytes as they arrive."""
        while True:
            event = await self._next()
            if isinstance(event, Data):
                if event.data:
                    yield bytes(event.data)
                if not event.more_data:
                    return
            elif isinstance(event, Epilogue | Field | File):
                return

    async def drain(self, limit: int = 4 * 1024 * 1024) -> None:
        """Read (and drop) what is left of the body, up to ``limit`` bytes, so the client sees our answer."""
        seen = 0
        while not self._complete and seen <= limit:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return
            seen += len(message.get("body", b""))
            self._complete = not message.get("more_body", False)
