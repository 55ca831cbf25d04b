"""``PostObjectPolicy``: browser form uploads (POST Object) answered in the proxy's pre-auth stage.

Order: parse fields up to the ``file`` part → policy signature (the proxy's
``CredentialResolver``) → policy conditions → rate limits → bucket scope → quota
pre-check with the policy maximum (or 5 GiB) → the file. The upstream needs a Content-Length
(``rclone serve s3`` answers 411 to chunked PUTs), so the file is spooled to a temporary *file on
disk* (memory stays flat) while its size is enforced; over the maximum ⇒ 413 and nothing is sent
upstream, under the minimum ⇒ 400 ``EntityTooSmall`` and nothing is stored. Then one signed PUT
with the exact length. Success answers follow ``success_action_redirect`` / ``_status``
(``answers.py``).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from werkzeug.http import parse_options_header

from stowage.core.contracts.backends import backend_registry
from stowage.core.contracts.quotas import QuotaExceededError, quota_service
from stowage.plugins.s3proxy.amzheaders import check_amz_headers
from stowage.plugins.s3proxy.classify import key_addressing_problem
from stowage.plugins.s3proxy.policy import ProxyPolicy
from stowage.plugins.s3proxy.postobject.answers import answer, relay_error
from stowage.plugins.s3proxy.postobject.form import PostForm
from stowage.plugins.s3proxy.postobject.policy_document import parse_policy
from stowage.plugins.s3proxy.s3errors import (
    AccessDenied,
    EntityTooLarge,
    EntityTooSmall,
    InternalError,
    InvalidRequest,
    MalformedPOSTRequest,
    QuotaExceeded,
    S3Error,
)

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime
    from stowage.plugins.s3proxy.authentication import CredentialResolver
    from stowage.plugins.s3proxy.forward import Forwarder
    from stowage.plugins.s3proxy.request import ProxyRequest, Receive
    from stowage.plugins.s3proxy.responder import Responder

__all__ = ["FORWARDED_FIELDS", "PostObjectPolicy"]

CHUNK = 256 * 1024
FORWARDED_FIELDS = frozenset(
    {
        "cache-control", "content-disposition", "content-encoding", "expires", "x-amz-acl",
        "x-amz-storage-class", "x-amz-server-side-encryption", "x-amz-website-redirect-location",
        "x-amz-tagging",
    }
)  # fmt: skip


class PostObjectPolicy(ProxyPolicy):
    """Answers ``PostObject`` requests completely, before the pipeline's header authentication."""

    def __init__(self, runtime: Runtime, resolver: CredentialResolver, forwarder: Forwarder) -> None:
        self.runtime = runtime
        self.resolver = resolver
        self.forwarder = forwarder

    async def pre_auth(self, req: ProxyRequest, receive: Receive, responder: Responder) -> bool:
        if req.operation != "PostObject":
            return False
        req.auth_mode = "post-policy"
        _, options = parse_options_header(req.headers_by_name.get(b"content-type", b"").decode("latin-1"))
        if not options.get("boundary"):
            raise MalformedPOSTRequest("multipart/form-data without a boundary", result="bad-multipart")
        form = PostForm(receive, options["boundary"])
        try:
            await self._upload(req, form, responder)
        except S3Error:
            req.bytes_in = form.bytes_in
            await form.drain()
            raise
        req.bytes_in = form.bytes_in
        return True

    async def _upload(self, req: ProxyRequest, form: PostForm, responder: Responder) -> None:
        runtime = self.runtime
        fields = await form.read_fields()
        if "policy" not in fields:
            raise AccessDenied("form has no policy", result="bad-policy")
        credential = await self.resolver.from_post_form(req, fields)
        policy = parse_policy(fields["policy"], runtime.clock())
        bucket = req.bucket
        if "bucket" in fields and fields["bucket"] != bucket:
            raise AccessDenied("form bucket does not match the URL bucket", result="bucket-mismatch")
        policy.check(fields, bucket)
        key = fields.get("key", "")
        if not key:
            raise MalformedPOSTRequest("form has no key field", result="no-key")
        key = key.replace("${filename}", form.filename)
        problem = key_addressing_problem(key)
        if problem:
            raise InvalidRequest(problem, bucket=bucket)
        redirect = fields.get("success_action_redirect", "")
        if redirect and (urlsplit(redirect).scheme not in ("http", "https") or not urlsplit(redirect).netloc):
            raise MalformedPOSTRequest(
                "success_action_redirect must be an http(s) URL", result="bad-redirect"
            )
        self.resolver.admit(credential)
        self.resolver.check_scope(credential, bucket)
        req.backend_id = credential.backend_id
        quotas = quota_service(runtime)
        if quotas is not None:
            try:
                await quotas.check(credential.backend_id, bucket, policy.max_size)
            except QuotaExceededError as exc:
                raise QuotaExceeded(str(exc), bucket=bucket) from None
        with tempfile.TemporaryFile() as spool:
            size = await _spool(form, spool, policy.max_size)
            if size < policy.min_size:
                raise EntityTooSmall(f"file is {size} bytes; the policy minimum is {policy.min_size}")
            await form.drain()
            headers = _upstream_headers(fields)
            check_amz_headers("PutObject", headers, bucket)
            backend = backend_registry(runtime).get(credential.backend_id)
            if backend is None:
                raise InternalError(
                    f'backend "{credential.backend_id}": not registered', result="backend-unavailable"
                )
            upstream = await self.forwarder.put_object(backend, bucket, key, headers, _file_body(spool), size)
        if upstream.status >= 300:
            await relay_error(req, upstream, responder)
            return
        if quotas is not None:
            await quotas.record(credential.backend_id, bucket, size, 1)
        await answer(
            req, fields, key, upstream, redirect, self.runtime.settings.s3_proxy.public_hostname, responder
        )


async def _spool(form: PostForm, spool: IO[bytes], max_size: int) -> int:
    size = 0
    async for chunk in form.file_chunks():
        size += len(chunk)
        if size > max_size:
            raise EntityTooLarge(f"file exceeds the policy maximum of {max_size} bytes")
        await asyncio.to_thread(spool.write, chunk)
    await asyncio.to_thread(spool.flush)
    return size


def _upstream_headers(fields: dict[str, str]) -> list[tuple[bytes, bytes]]:
    content_type = fields.get("content-type") or "application/octet-stream"
    out = [(b"content-type", content_type.encode("utf-8"))]
    for name, value in fields.items():
        if name in FORWARDED_FIELDS or name.startswith("x-amz-meta-"):
            out.append((name.encode("latin-1"), value.encode("utf-8")))
    return out


async def _file_body(spool: IO[bytes]) -> AsyncIterator[bytes]:
    await asyncio.to_thread(spool.seek, 0)
    while chunk := await asyncio.to_thread(spool.read, CHUNK):
        yield chunk
