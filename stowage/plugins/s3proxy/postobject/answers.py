"""Answers to a POST Object upload (POST-6): upstream errors relayed, or the success response.

Success is a 303 to ``success_action_redirect`` (with ``bucket``, ``key``, ``etag`` appended), or
``success_action_status`` 200 (empty) / 201 (``PostResponse`` XML whose Location uses
``s3_proxy.public_hostname`` when set) / 204 (the default). ETag and ``x-amz-version-id`` are echoed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from stowage.plugins.s3proxy.s3errors import with_request_id, xml_text

if TYPE_CHECKING:
    from stowage.plugins.s3proxy.app import ProxyApp, ProxyRequest, Send

__all__ = ["answer", "relay_error"]


async def relay_error(
    app: ProxyApp,
    req: ProxyRequest,
    status: int,
    upstream: tuple[list[tuple[bytes, bytes]], bytes],
    send: Send,
) -> None:
    headers, body = upstream
    kept = [(n, v) for n, v in headers if n not in (b"content-length", b"content-type")]
    req.result = "upstream-error" if status >= 500 else "ok"
    content_type = dict(headers).get(b"content-type", b"application/xml")
    body = with_request_id(body, req.request_id)
    await _send(app, req, status, body, send, [(b"content-type", content_type), *kept])


async def answer(
    app: ProxyApp, req: ProxyRequest, fields: dict[str, str], key: str, etag: str, version: str,
    redirect: str, send: Send,
) -> None:  # fmt: skip
    headers: list[tuple[bytes, bytes]] = []
    if etag:
        headers.append((b"etag", etag.encode("latin-1")))
    if version:
        headers.append((b"x-amz-version-id", version.encode("latin-1")))
    if redirect:
        query = urlencode({"bucket": req.bucket, "key": key, "etag": etag})
        location = redirect + ("&" if "?" in redirect else "?") + query
        await _send(app, req, 303, b"", send, [*headers, (b"location", location.encode("utf-8"))])
        return
    status = fields.get("success_action_status", "")
    if status == "200":
        await _send(app, req, 200, b"", send, headers)
    elif status == "201":
        location = xml_text(_location(app, req, key))
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
            f"<Location>{location}</Location><Bucket>{xml_text(req.bucket)}</Bucket>"
            f"<Key>{xml_text(key)}</Key><ETag>{xml_text(etag)}</ETag></PostResponse>"
        ).encode()
        await _send(app, req, 201, body, send, [*headers, (b"content-type", b"application/xml")])
    else:
        await _send(app, req, 204, b"", send, headers)


def _location(app: ProxyApp, req: ProxyRequest, key: str) -> str:
    forwarded = req.hmap.get(b"x-forwarded-proto", b"").decode("latin-1").lower()
    scheme = "https" if req.scope.get("scheme") == "https" or forwarded == "https" else "http"
    public = app.runtime.settings.s3_proxy.public_hostname
    host = public or req.hmap.get(b"host", b"").decode("latin-1")
    path = quote(key, safe="/~")
    virtual = req.classified is not None and req.classified.virtual_hosted
    if public and virtual:
        return f"{scheme}://{req.bucket}.{host}/{path}"
    if virtual:
        return f"{scheme}://{host}/{path}"
    return f"{scheme}://{host}/{quote(req.bucket, safe='')}/{path}"


async def _send(
    app: ProxyApp, req: ProxyRequest, status: int, body: bytes, send: Send, headers: list[tuple[bytes, bytes]]
) -> None:
    out = [
        *headers,
        (b"content-length", str(len(body)).encode()),
        (b"x-amz-request-id", req.request_id.encode()),
        *app.extra_headers(req),
    ]
    req.status = status
    req.bytes_out += len(body)
    app.complete(req)
    if app.audit_sync:
        await app.audit_committed()
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body, "more_body": False})
