"""Browser form uploads (POST Object, POST-1…6) as a pre-auth handler of the proxy.

Order: parse fields up to the ``file`` part → policy signature (credential cache, then the
``stowage_credential_lookup`` hook) → policy conditions → rate limits → bucket scope → quota
pre-check with the policy maximum (or 5 GiB) → the file. The upstream needs a Content-Length
(``rclone serve s3`` answers 411 to chunked PUTs), so the file is spooled to a temporary *file on
disk* (memory stays flat) while its size is enforced; over the maximum ⇒ 413 and nothing is sent
upstream, under the minimum ⇒ 400 ``EntityTooSmall`` and nothing is stored. Then one signed PUT
with the exact length. Success answers follow ``success_action_redirect`` / ``_status`` (POST-6).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from werkzeug.http import parse_options_header
from yarl import URL

from stowage.core.backends import backend_registry
from stowage.core.quotas import QuotaExceededError, quota_service
from stowage.plugins.s3proxy.amzheaders import check_amz_headers
from stowage.plugins.s3proxy.classify import key_addressing_problem
from stowage.plugins.s3proxy.outbound import filter_response_headers
from stowage.plugins.s3proxy.postobject.answers import answer, relay_error
from stowage.plugins.s3proxy.postobject.form import PostForm
from stowage.plugins.s3proxy.postobject.policy_document import parse_policy
from stowage.plugins.s3proxy.s3errors import (
    AccessDenied,
    AuthError,
    EntityTooLarge,
    EntityTooSmall,
    InternalError,
    InvalidAccessKeyId,
    InvalidRequest,
    MalformedPOSTRequest,
    QuotaExceeded,
    S3Error,
    SlowDown,
)
from stowage.plugins.s3proxy.sigv2 import SigV2Disabled, verify_post_policy_v2
from stowage.plugins.s3proxy.sigv4 import parse_post_policy_auth, verify_post_policy

if TYPE_CHECKING:
    from stowage.core.credentials import VirtualCredential
    from stowage.plugins.s3proxy.app import ProxyApp, ProxyRequest, Receive, Send

__all__ = ["FORWARDED_FIELDS", "post_object_handler"]

CHUNK = 256 * 1024
FORWARDED_FIELDS = frozenset(
    {
        "cache-control", "content-disposition", "content-encoding", "expires", "x-amz-acl",
        "x-amz-storage-class", "x-amz-server-side-encryption", "x-amz-website-redirect-location",
        "x-amz-tagging",
    }
)  # fmt: skip


async def post_object_handler(app: ProxyApp, req: ProxyRequest, receive: Receive, send: Send) -> bool:
    """Answer a ``PostObject`` request completely (errors raise ``S3Error``)."""
    if req.operation != "PostObject":
        return False
    req.auth_mode = "post-policy"
    _, options = parse_options_header(req.hmap.get(b"content-type", b"").decode("latin-1"))
    if not options.get("boundary"):
        raise MalformedPOSTRequest("multipart/form-data without a boundary", result="bad-multipart")
    form = PostForm(receive, options["boundary"])
    try:
        await _handle(app, req, form, send)
    except S3Error:
        req.bytes_in = form.bytes_in
        await form.drain()
        raise
    req.bytes_in = form.bytes_in
    return True


async def _authenticate(app: ProxyApp, req: ProxyRequest, fields: dict[str, str]) -> VirtualCredential:
    # SigV2 forms (boto3's default generate_presigned_post) name the key in AWSAccessKeyId
    sigv2 = "awsaccesskeyid" in fields and "x-amz-credential" not in fields
    try:
        if sigv2:
            if not app.sigv2:
                raise SigV2Disabled()
            access_key = fields["awsaccesskeyid"]
            req.auth_mode = "post-policy-v2"
        else:
            parsed = parse_post_policy_auth(
                fields.get("x-amz-algorithm", ""),
                fields.get("x-amz-credential", ""),
                fields.get("x-amz-date", ""),
                fields.get("x-amz-signature", ""),
            )
            access_key = parsed.access_key_id
        req.access_key = access_key
        credential = app.credentials.get(access_key) or await app.runtime.call_first(
            "stowage_credential_lookup", access_key_id=access_key, runtime=app.runtime
        )
        if credential is None or not credential.usable(datetime.fromtimestamp(app.runtime.clock(), UTC)):
            raise InvalidAccessKeyId()
        if sigv2:
            verify_post_policy_v2(
                credential.secret_key, fields.get("policy", ""), fields.get("signature", "")
            )
        else:
            verify_post_policy(
                parsed,
                credential.secret_key,
                fields.get("policy", ""),
                now=app.runtime.clock(),
                cache=app.signing_keys,
            )
    except AuthError as error:
        app.metrics.auth_failure(error.result)
        raise
    req.credential = credential
    return credential  # type: ignore[no-any-return]


async def _handle(app: ProxyApp, req: ProxyRequest, form: PostForm, send: Send) -> None:
    fields = await form.read_fields()
    if "policy" not in fields:
        raise AccessDenied("form has no policy", result="bad-policy")
    credential = await _authenticate(app, req, fields)
    policy = parse_policy(fields["policy"], app.runtime.clock())
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
        raise MalformedPOSTRequest("success_action_redirect must be an http(s) URL", result="bad-redirect")
    if app.global_limit is not None and not app.global_limit.allow():
        raise SlowDown()
    if app.key_limit is not None and not app.key_limit.allow(credential.access_key):
        raise SlowDown()
    app.check_scope(req, credential, bucket)
    req.backend_id = credential.backend_id
    quotas = quota_service(app.runtime)
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
        status, etag, version, upstream = await _put(
            app, req, credential.backend_id, key, headers, spool, size
        )
    if status >= 300:
        await relay_error(app, req, status, upstream, send)
        return
    if quotas is not None:
        await quotas.record(credential.backend_id, bucket, size, 1)
    await answer(app, req, fields, key, etag, version, redirect, send)


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


async def _put(
    app: ProxyApp, req: ProxyRequest, backend_id: str, key: str, headers: list[tuple[bytes, bytes]],
    spool: IO[bytes], size: int,
) -> tuple[int, str, str, tuple[list[tuple[bytes, bytes]], bytes]]:  # fmt: skip
    backend = backend_registry(app.runtime).get(backend_id)
    if backend is None:
        raise InternalError(f'backend "{backend_id}": not registered', result="backend-unavailable")
    try:
        outbound = app.forwarder.signer(backend).build(
            "PUT", req.bucket, key, b"", headers, content_length=size, now=app.runtime.clock()
        )
    except Exception:
        raise InternalError(
            "could not build the upstream request", status=500, result="build-error"
        ) from None
    try:
        async with app.forwarder.open_session().put(
            URL(outbound.url, encoded=True),
            headers=outbound.headers,
            data=_file_body(spool),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        ) as response:
            body = await response.read() if response.status >= 300 else b""
            raw = filter_response_headers(response.raw_headers, response.status)
            return (
                response.status,
                response.headers.get("ETag", ""),
                response.headers.get("x-amz-version-id", ""),
                (raw, body),
            )
    except Exception as exc:
        raise InternalError(
            f"upstream request failed: {type(exc).__name__}", result="upstream-error"
        ) from None
