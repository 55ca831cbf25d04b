"""Streamed PUTs (PutObject, UploadPart) with bounded memory, outside aiobotocore.

Why not aiobotocore: to sign a request it must hash or seek the body, and it refuses a non-seekable
async body (S3-FIELD-NOTES). Buffering would hold a whole object (up to 5 GiB) in memory. So the
body is signed as ``x-amz-content-sha256: UNSIGNED-PAYLOAD`` with botocore's own SigV4 signer
(``S3SigV4Auth``, the same code that signs every other call, so canonicalisation matches) and sent
through this driver's aiohttp session with an explicit ``Content-Length`` (``rclone serve s3``
answers 411 to chunked uploads). aiohttp writes each chunk and waits for the socket to drain, so at
most a chunk or two is in flight. Integrity: the upstream's ETag is returned to the caller; for a
plain PUT that is the MD5 the upstream computed over what it stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import yarl
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stowage.core.contracts.driver import BackendSpec, DriverError
from stowage.plugins.s3v4.client import guarded_resolver, refuse_denied_endpoint
from stowage.plugins.s3v4.errors import from_code, parse_error_xml, upstream_errors

__all__ = ["StreamingUploader", "counted"]

_ERROR_BODY_LIMIT = 64 * 1024


class _UnsignedPayloadAuth(S3SigV4Auth):  # type: ignore[misc]
    """SigV4 header auth that never hashes the body (``UNSIGNED-PAYLOAD``)."""

    def _should_sha256_sign_payload(self, request: Any) -> bool:
        return False


async def counted(body: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """Pass ``body`` through, failing if it yields more or fewer than ``size`` bytes.

    A short body would otherwise leave the upstream waiting for bytes that never come.
    """
    seen = 0
    async for chunk in body:
        seen += len(chunk)
        if seen > size:
            raise DriverError(f"body longer than the declared {size} bytes", code="length_mismatch")
        if chunk:
            yield chunk
    if seen != size:
        raise DriverError(f"body ended after {seen} of {size} bytes", code="length_mismatch")


class StreamingUploader:
    """Signs and sends streamed PUTs for one backend over a pooled aiohttp session."""

    def __init__(self, spec: BackendSpec, *, pool: int = 64) -> None:
        self._spec = spec
        parts = urlsplit(spec.endpoint)
        self._scheme, self._netloc, self._base = parts.scheme or "https", parts.netloc, parts.path.rstrip("/")
        self._auth = (
            _UnsignedPayloadAuth(Credentials(spec.access_key, spec.secret_key), "s3", spec.signing_region)
            if spec.access_key
            else None
        )
        self._pool = pool
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # Created lazily so it binds to the loop that serves requests, not the one that built us.
        if self._session is None or self._session.closed:
            refuse_denied_endpoint(self._spec)
            connector = aiohttp.TCPConnector(
                limit=self._pool, keepalive_timeout=90, resolver=guarded_resolver(self._spec)
            )
            timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_connect=5, sock_read=30)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False)
        return self._session

    def url(self, bucket: str, key: str, query: Mapping[str, str] | None = None) -> str:
        """The encoded URL of ``bucket/key`` (path style, or virtual-hosted when configured)."""
        path = "/" + quote(key, safe="/~")
        if self._spec.path_style or "." in bucket:
            origin, path = f"{self._scheme}://{self._netloc}", f"/{quote(bucket, safe='')}{path}"
        else:
            origin = f"{self._scheme}://{bucket}.{self._netloc}"
        suffix = "?" + urlencode(sorted(query.items()), quote_via=quote) if query else ""
        return origin + self._base + path + suffix

    async def put(
        self,
        bucket: str,
        key: str,
        body: AsyncIterator[bytes],
        *,
        size: int,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Mapping[str, str]:
        """Stream ``size`` bytes of ``body`` to ``PUT bucket/key?query``; the response headers."""
        url = self.url(bucket, key, query)
        request = AWSRequest(method="PUT", url=url, headers={**(headers or {}), "Content-Length": str(size)})
        if self._auth is not None:
            self._auth.add_auth(request)
        sent = dict(request.headers.items())
        with upstream_errors():
            async with self._http().put(
                yarl.URL(url, encoded=True), data=counted(body, size), headers=sent
            ) as response:
                if response.status >= 300:
                    raw = await response.content.read(_ERROR_BODY_LIMIT)
                    error = parse_error_xml(raw)
                    actual = error.get("ActualObjectSize", "")
                    raise from_code(
                        error.get("Code", ""),
                        response.status,
                        error.get("Message", ""),
                        size=int(actual) if actual.isdigit() else -1,
                    )
                await response.read()  # drain the (empty) body so the connection is reused
                return {name.lower(): value for name, value in response.headers.items()}

    async def fetch(
        self, bucket: str, key: str = "", query: Mapping[str, str] | None = None, *, limit: int = 4096
    ) -> tuple[int, bytes]:
        """A signed ``GET bucket/key?query``: the status and at most ``limit`` bytes of the body.

        For the capability probe, which must see the raw answer: botocore parses whatever XML comes
        back into the shape it expects, so an upstream that ignores a sub-resource and answers a
        plain listing would look like an empty configuration. The rest of the body is not read (the
        connection is dropped rather than drained)."""
        url = self.url(bucket, key, query)
        request = AWSRequest(method="GET", url=url, headers={})
        if self._auth is not None:
            self._auth.add_auth(request)
        with upstream_errors():
            async with self._http().get(
                yarl.URL(url, encoded=True), headers=dict(request.headers.items())
            ) as response:
                body = b""
                while len(body) < limit:  # one read returns what has arrived so far
                    chunk = await response.content.read(limit - len(body))
                    if not chunk:
                        break
                    body += chunk
                return response.status, body

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
