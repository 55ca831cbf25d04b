"""The pooled aiobotocore client for one backend, and the streamed object body it returns.

The client is hermetic: it never reads ``~/.aws`` or ``AWS_PROFILE`` (keys come only from the
backend entry), so an operator's shell cannot change what Stowage talks to. Checksums are
``when_required``: ``rclone serve s3`` returns whole-object CRCs on 206 responses, which botocore
would otherwise reject, and the dashboard never asks for checksum validation.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import botocore
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.configprovider import ConstantProvider

from stowage.core.contracts.driver import BackendSpec, DriverError, ObjectInfo
from stowage.core.security.netpolicy import GuardedResolver, NetworkPolicy
from stowage.plugins.s3v4.errors import upstream_errors

__all__ = [
    "READ_CHUNK",
    "BodyChunks",
    "client_config",
    "etag_text",
    "guarded_resolver",
    "object_info",
    "open_client",
    "parse_content_range",
    "refuse_denied_endpoint",
]

#: How much one read of a streamed GET asks for (a read returns what has arrived, up to this).
READ_CHUNK = 256 * 1024


def client_config(spec: BackendSpec) -> AioConfig:
    """Timeouts and pool: connect 5 s, read 30 s, idle 90 s, one retry, 64 connections."""
    return AioConfig(
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=64,
        s3={"addressing_style": "path" if spec.path_style else "auto"},
        signature_version="s3v4" if spec.access_key else botocore.UNSIGNED,
        region_name=spec.signing_region,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connector_args={"keepalive_timeout": 90, "resolver": guarded_resolver(spec)},
    )


def guarded_resolver(spec: BackendSpec) -> GuardedResolver:
    """Resolves the endpoint's name and drops every address in ``spec.denied_networks``."""
    return GuardedResolver(NetworkPolicy(spec.denied_networks))


def refuse_denied_endpoint(spec: BackendSpec) -> None:
    """``DriverError`` (code ``denied_network``) when the endpoint's host is a denied address
    literal or metadata name: aiohttp never asks the resolver about address literals."""
    host = urlsplit(spec.endpoint).hostname or ""
    rule = NetworkPolicy(spec.denied_networks).denial_for_host(host)
    if rule:
        raise DriverError(f"refused to connect to {host}: {rule}", code="denied_network")


@functools.cache
def _session() -> AioSession:
    """One hermetic session for every backend: loading botocore's S3 model costs ~0.5 s, so it is
    done once per process; a session holds no credentials or loop state of its own."""
    session = AioSession()
    store = session.get_component("config_store")
    for name, value in (("profile", None), ("config_file", os.devnull), ("credentials_file", os.devnull)):
        store.set_config_provider(name, ConstantProvider(value))
    return session


async def open_client(spec: BackendSpec) -> tuple[Any, Any]:
    """Enter a new S3 client for ``spec``: ``(client, context)``; ``await context.__aexit__(...)``
    closes it. Must run inside the loop that will use it (aiohttp binds to it)."""
    refuse_denied_endpoint(spec)
    context = _session().create_client(
        "s3",
        endpoint_url=spec.endpoint or None,
        region_name=spec.signing_region,
        aws_access_key_id=spec.access_key or None,
        aws_secret_access_key=spec.secret_key or None,
        config=client_config(spec),
    )
    client = await context.__aenter__()
    return client, context


class BodyChunks:
    """Async iterator over an aiobotocore ``StreamingBody``; ``aclose()`` releases the connection.

    A class rather than an async generator: a generator that was never started ignores
    ``aclose()``, which would leak the upstream connection when a download is refused or aborted
    before its first chunk.
    """

    def __init__(self, stream: Any, chunk_size: int = READ_CHUNK) -> None:
        self._stream = stream
        self._chunk_size = chunk_size
        self._closed = False

    def __aiter__(self) -> BodyChunks:
        return self

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        with upstream_errors():
            chunk: bytes = await self._stream.read(self._chunk_size)
        if not chunk:
            await self.aclose()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            # After EOF aiohttp has already returned the connection to the pool; before EOF this
            # drops it, which is the only safe thing to do with a half-read response.
            self._stream.close()


def etag_text(value: Any) -> str:
    """An ETag as text (empty when absent)."""
    return str(value or "")


def object_info(key: str, head: Mapping[str, Any]) -> ObjectInfo:
    """An ``ObjectInfo`` from a HeadObject/GetObject response."""
    return ObjectInfo(
        key=key,
        size=int(head.get("ContentLength") or 0),
        etag=etag_text(head.get("ETag")),
        content_type=str(head.get("ContentType") or ""),
        last_modified=head.get("LastModified"),
        storage_class=str(head.get("StorageClass") or ""),
        version_id=str(head.get("VersionId") or ""),
        # Names are case-insensitive header names; some stores (rclone) answer them capitalised.
        metadata={str(name).lower(): str(value) for name, value in (head.get("Metadata") or {}).items()},
    )


def parse_content_range(value: str) -> tuple[int, int, int] | None:
    """``(start, end, total)`` from ``bytes 0-9/100``; an unknown total (``*``) is -1."""
    try:
        span, _, total = value.split(" ", 1)[1].partition("/")
        start, _, end = span.partition("-")
        return int(start), int(end), int(total) if total.isdigit() else -1
    except (IndexError, ValueError):
        return None
