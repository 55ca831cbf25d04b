"""Copy an object between two backends through Stowage, streamed.

The source GET's chunks feed the destination PUT directly, so memory stays at a few read
buffers whatever the size. Objects above the single-PUT limit (5 GiB) go up as a multipart
upload whose parts are consecutive slices of the same stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from stowage.core.contracts.driver import ObjectInfo, StorageDriver

__all__ = ["SINGLE_PUT_LIMIT", "TRANSFER_PART_SIZE", "transfer_object"]

SINGLE_PUT_LIMIT = 5 * 1024**3
TRANSFER_PART_SIZE = 512 * 1024**2


class _Slicer:
    """Hands out consecutive exact-size slices of one chunk stream."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    async def take(self, size: int) -> AsyncIterator[bytes]:
        left = size
        while left > 0:
            if not self._pending:
                self._pending = await anext(self._chunks, b"")
                if not self._pending:
                    return  # short source: the PUT's own length check reports it
            piece, self._pending = self._pending[:left], self._pending[left:]
            left -= len(piece)
            yield piece


async def transfer_object(
    src: StorageDriver,
    src_bucket: str,
    src_key: str,
    dst: StorageDriver,
    dst_bucket: str,
    dst_key: str,
    *,
    version_id: str = "",
    metadata: Mapping[str, str] | None = None,
) -> ObjectInfo:
    """Stream ``src_bucket/src_key`` on ``src`` into ``dst_bucket/dst_key`` on ``dst``."""
    body = await src.get_object(src_bucket, src_key, version_id=version_id)
    try:
        info, size = body.info, body.content_length
        meta = dict(info.metadata) if metadata is None else dict(metadata)
        if size <= SINGLE_PUT_LIMIT:
            await dst.put_object(
                dst_bucket, dst_key, body.chunks, size=size, content_type=info.content_type, metadata=meta
            )
        else:
            await _multipart(dst, dst_bucket, dst_key, _Slicer(body.chunks), size, info.content_type, meta)
    finally:
        await body.close()
    return await dst.head_object(dst_bucket, dst_key)


async def _multipart(
    dst: StorageDriver, bucket: str, key: str, slicer: _Slicer, size: int, content_type: str,
    metadata: Mapping[str, str],
) -> None:  # fmt: skip
    upload_id = await dst.create_multipart(bucket, key, content_type=content_type, metadata=metadata)
    try:
        parts, offset, number = [], 0, 1
        while offset < size:
            length = min(TRANSFER_PART_SIZE, size - offset)
            part = await dst.upload_part(bucket, key, upload_id, number, slicer.take(length), size=length)
            parts.append((number, part.etag))
            offset, number = offset + length, number + 1
        await dst.complete_multipart(bucket, key, upload_id, parts)
    except BaseException:
        await dst.abort_multipart(bucket, key, upload_id)
        raise
