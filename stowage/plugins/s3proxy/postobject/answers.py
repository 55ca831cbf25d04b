"""Answers to a POST Object upload: the upstream's error relayed, or the form's success response.

Success is a 303 to ``success_action_redirect`` (with ``bucket``, ``key``, ``etag`` appended), or
``success_action_status`` 200 (empty) / 201 (``PostResponse`` XML whose Location uses
``s3_proxy.public_hostname`` when set) / 204 (the default). ETag and ``x-amz-version-id`` are echoed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from stowage.plugins.s3proxy.s3errors import with_request_id, xml_text

if TYPE_CHECKING:
    from stowage.plugins.s3proxy.forward import UpstreamAnswer
    from stowage.plugins.s3proxy.request import ProxyRequest
    from stowage.plugins.s3proxy.responder import Responder

__all__ = ["answer", "relay_error"]


async def relay_error(req: ProxyRequest, upstream: UpstreamAnswer, responder: Responder) -> None:
    """The upstream's error answer, naming the proxy's request id."""
    kept = [(n, v) for n, v in upstream.headers if n not in (b"content-length", b"content-type")]
    req.result = "upstream-error" if upstream.status >= 500 else "ok"
    content_type = dict(upstream.headers).get(b"content-type", b"application/xml")
    body = with_request_id(upstream.body, req.request_id)
    await responder.send_simple(upstream.status, body, content_type=content_type, headers=kept)


async def answer(
    req: ProxyRequest, fields: dict[str, str], key: str, upstream: UpstreamAnswer, redirect: str,
    public_hostname: str, responder: Responder,
) -> None:  # fmt: skip
    """The success response the form asked for."""
    etag, version = upstream.etag, upstream.version_id
    headers: list[tuple[bytes, bytes]] = []
    if etag:
        headers.append((b"etag", etag.encode("latin-1")))
    if version:
        headers.append((b"x-amz-version-id", version.encode("latin-1")))
    if redirect:
        query = urlencode({"bucket": req.bucket, "key": key, "etag": etag})
        location = redirect + ("&" if "?" in redirect else "?") + query
        headers.append((b"location", location.encode("utf-8")))
        await responder.send_simple(303, b"", content_type=None, headers=headers)
        return
    status = fields.get("success_action_status", "")
    if status == "200":
        await responder.send_simple(200, b"", content_type=None, headers=headers)
    elif status == "201":
        location = xml_text(_location(req, key, public_hostname))
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
            f"<Location>{location}</Location><Bucket>{xml_text(req.bucket)}</Bucket>"
            f"<Key>{xml_text(key)}</Key><ETag>{xml_text(etag)}</ETag></PostResponse>"
        ).encode()
        await responder.send_simple(201, body, headers=headers)
    else:
        await responder.send_simple(204, b"", content_type=None, headers=headers)


def _location(req: ProxyRequest, key: str, public_hostname: str) -> str:
    forwarded = req.headers_by_name.get(b"x-forwarded-proto", b"").decode("latin-1").lower()
    scheme = "https" if req.scope.get("scheme") == "https" or forwarded == "https" else "http"
    host = public_hostname or req.headers_by_name.get(b"host", b"").decode("latin-1")
    path = quote(key, safe="/~")
    virtual = req.classified is not None and req.classified.virtual_hosted
    if public_hostname and virtual:
        return f"{scheme}://{req.bucket}.{host}/{path}"
    if virtual:
        return f"{scheme}://{host}/{path}"
    return f"{scheme}://{host}/{quote(req.bucket, safe='')}/{path}"
