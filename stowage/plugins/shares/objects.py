"""Reaching a share's object through its backend driver, and streaming it to a recipient (SHARE-8).

The download counter is claimed by one conditional UPDATE *after* the upstream answered (so a
missing object or an unsatisfiable range costs no download) and *before* the first byte is sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from quart import Response

from stowage.core.contracts.backends import backend_registry
from stowage.core.contracts.driver import (
    BucketNotFound,
    DriverError,
    InvalidRange,
    ObjectBody,
    ObjectInfo,
    ObjectNotFound,
    StorageDriver,
)
from stowage.core.contracts.shares import STORE_SOURCE, Share, share_store
from stowage.core.kernel.errors import ApiError, BackendFailure, NotFound
from stowage.core.web.objectserving import OBJECT_CSP, object_headers
from stowage.plugins.shares.gate import ShareGone, now_utc

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["RAW_CSP", "TEXT_PREVIEW_BYTES", "driver_for", "head", "read_prefix", "serve_raw"]

RAW_CSP = OBJECT_CSP
TEXT_PREVIEW_BYTES = 64 * 1024


def driver_for(runtime: Runtime, backend_id: str) -> StorageDriver:
    """The backend's driver; 502 ``backend_error`` "backend unavailable" when it is not registered."""
    try:
        return backend_registry(runtime).driver(backend_id)
    except (KeyError, NotFound):
        raise BackendFailure("backend unavailable") from None


@contextlib.contextmanager
def upstream_errors() -> Iterator[None]:
    """Driver errors as API errors: not found ⇒ 404, unsatisfiable range ⇒ 416, else 502."""
    try:
        yield
    except InvalidRange as exc:
        raise ApiError(
            "requested range not satisfiable",
            code="bad_range",
            status=416,
            headers={"Content-Range": f"bytes */{max(exc.size, 0)}"},
        ) from None
    except (ObjectNotFound, BucketNotFound):
        raise NotFound("resource not found") from None
    except DriverError:
        raise BackendFailure("backend operation failed") from None


async def head(runtime: Runtime, share: Share) -> ObjectInfo:
    """HEAD the shared object (404 / 502 on failure)."""
    driver = driver_for(runtime, share.backend_id)
    with upstream_errors():
        return await driver.head_object(share.bucket, share.key)


async def read_prefix(runtime: Runtime, share: Share, size: int, limit: int = TEXT_PREVIEW_BYTES) -> bytes:
    """The first ``limit`` bytes of the object, read through the driver; never counts a download."""
    if size <= 0:
        return b""
    driver = driver_for(runtime, share.backend_id)
    with upstream_errors():
        body = await driver.get_object(share.bucket, share.key, byte_range=(0, min(size, limit) - 1))
        try:
            chunks = [chunk async for chunk in body.chunks]
        finally:
            await body.close()
    return b"".join(chunks)[:limit]


class _Stream:
    """Async iterator over an ``ObjectBody`` whose ``aclose()`` always releases the upstream.

    A class, not a generator: Quart closes the body on disconnect, and a generator that never
    started would skip its ``finally``.
    """

    def __init__(self, body: ObjectBody) -> None:
        self._body = body

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        return await self._body.chunks.__anext__()

    async def aclose(self) -> None:
        await self._body.close()


def _headers(share: Share, body: ObjectBody, inline: bool) -> dict[str, str]:
    info = body.info
    headers = object_headers(info.content_type, share.key, inline=inline or share.disposition == "inline")
    headers.update({"Content-Length": str(body.content_length), "Accept-Ranges": "bytes"})
    if info.etag:
        headers["ETag"] = info.etag
    if body.content_range is not None:
        start, end, total = body.content_range
        headers["Content-Range"] = f"bytes {start}-{end}/{total if total >= 0 else '*'}"
    return headers


async def _claim(runtime: Runtime, share: Share) -> bool:
    if share.source != STORE_SOURCE:  # the resolver that served it enforces its own limits
        return True
    claimed: bool = await share_store(runtime).claim_download(share.id, now_utc(runtime))
    return claimed


async def serve_raw(
    runtime: Runtime,
    share: Share,
    *,
    inline: bool,
    byte_range: tuple[int, int | None] | None,
    count: bool = True,
) -> Response:
    """Open the object, claim one download (410 ``exhausted`` when none is left), stream it.

    ``count=False`` (HEAD requests) answers the headers without claiming or sending a body.
    """
    driver = driver_for(runtime, share.backend_id)
    with upstream_errors():
        body = await driver.get_object(share.bucket, share.key, byte_range=byte_range)
    try:
        headers = _headers(share, body, inline)
        status = 206 if body.content_range is not None else 200
        if not count:
            await body.close()
            response = Response(b"", status=status, headers=headers)
            response.content_length = body.content_length
            return response
        if not await _claim(runtime, share):
            raise ShareGone(code="exhausted")
    except BaseException:
        await body.close()
        raise
    return Response(_Stream(body), status=status, headers=headers)
