"""How many bytes a CopyObject or UploadPartCopy will write: one HEAD of the copy source upstream.

A copy carries no body, so the write guards (the hard quota) would otherwise see zero bytes and let
any number of large copies through. The HEAD is signed with the backend's key, like the copy itself;
the copy source's SSE-C key headers become the HEAD's SSE-C headers (an SSE-C object cannot be
HEADed without them). ``x-amz-copy-source-range`` (UploadPartCopy) limits the count to the range.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import quote

import aiohttp
from yarl import URL

from stowage.core.formats.s3names import parse_range

from .classify import parse_copy_source
from .s3errors import InternalError

if TYPE_CHECKING:
    from .outbound import UpstreamSigner

__all__ = ["copy_source_size"]

_COPY_SSE_C_PREFIX = b"x-amz-copy-source-server-side-encryption-customer-"
_SSE_C_PREFIX = b"x-amz-server-side-encryption-customer-"


async def copy_source_size(
    session: aiohttp.ClientSession,
    signer: UpstreamSigner,
    copy_source: bytes,
    headers: list[tuple[bytes, bytes]],
    copy_range: bytes | None,
) -> int:
    """Bytes the copy would write; 0 when the upstream refuses the HEAD with a 4xx (it will refuse
    the copy the same way). Raises ``InternalError`` (502) when the size cannot be learnt."""
    source = parse_copy_source(copy_source)
    query = b"versionId=" + quote(source.version_id, safe="").encode() if source.version_id else b""
    head_headers = [
        (_SSE_C_PREFIX + name[len(_COPY_SSE_C_PREFIX) :], value)
        for name, value in headers
        if name.startswith(_COPY_SSE_C_PREFIX)
    ]
    outbound = signer.build("HEAD", source.bucket, source.key, query, head_headers, now=time.time())
    try:
        async with session.head(
            URL(outbound.url, encoded=True),
            headers=outbound.headers,
            allow_redirects=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        ) as response:
            status, length = response.status, response.headers.get("Content-Length", "")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise InternalError(f"copy source size: upstream HEAD failed ({type(exc).__name__})") from None
    if 400 <= status < 500:
        return 0
    if status != 200 or not length.isdigit():
        raise InternalError(f"copy source size: upstream HEAD answered {status}")
    size = int(length)
    if copy_range is not None:
        span = parse_range(copy_range.decode("latin-1"))
        if span is None:
            return size  # malformed: the upstream will refuse it; never count less than the object
        start, end = span
        last = size - 1 if end is None else min(end, size - 1)
        return max(0, last - start + 1)
    return size
