"""The dashboard listener's Quart app: blueprints from plugins, and the cross-cutting rules.

Every response gets the security headers and an ``X-Request-Id``; the
effective client address honours trusted proxies; ``ApiError`` and every unhandled
exception render as the JSON envelope; unknown paths are JSON 404s; ``/api/*``
requests are measured and requests answered with a status ≥ 400 are logged.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from quart import Quart, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

import stowage
from stowage.core.formats.ids import accept_request_id
from stowage.core.kernel.errors import ApiError
from stowage.core.openapi import install_openapi
from stowage.core.web.authz import api_guard

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["SECURITY_HEADERS", "create_app", "error_response"]

log = logging.getLogger("stowage.http")

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; font-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), microphone=(), camera=(), payment=(), usb=()",
}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 400: "bad_request"}


def error_response(error: ApiError) -> Response:
    """Render an ``ApiError`` as the JSON envelope with its status and headers."""
    response = jsonify(error.to_json())
    response.status_code = error.http_status
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def create_app(runtime: Runtime, blueprints: list[Any]) -> Quart:
    """Build the dashboard app for ``runtime`` with the given plugin blueprints mounted."""
    app = Quart("stowage")
    app.config.update(
        # Large downloads must not be cut by a whole-response timeout; uploads are streamed and
        # bounded per route instead of by one global cap.
        RESPONSE_TIMEOUT=None,
        BODY_TIMEOUT=300,
        MAX_CONTENT_LENGTH=None,
        PROVIDE_AUTOMATIC_OPTIONS=True,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["stowage"] = runtime
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    install_openapi(app, version=stowage.__version__)

    @app.before_request
    async def _begin() -> None:
        g.started = time.perf_counter()
        g.request_id = accept_request_id(request.headers.get("X-Request-Id", ""))
        peer = request.remote_addr or ""
        g.client_ip = runtime.trusted_proxies.client_ip(
            peer, request.headers.get("X-Forwarded-For"), request.headers.get("X-Real-IP")
        )
        g.is_https = runtime.trusted_proxies.is_https(
            peer, request.scheme, request.headers.get("X-Forwarded-Proto")
        )
        await api_guard(runtime)

    @app.after_request
    async def _finish(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.scheme == "https":
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        request_id = getattr(g, "request_id", "")
        if request_id:
            response.headers["X-Request-Id"] = request_id
        _observe(runtime, response)
        return response

    @app.errorhandler(ApiError)
    async def _api_error(error: ApiError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = _HTTP_CODES.get(status, "bad_request" if status < 500 else "internal")
        message = "resource not found" if status == 404 else (error.description or error.name).lower()
        response = error_response(ApiError(message, code=code, status=status))
        if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    async def _unhandled(error: Exception) -> Response:
        log.error(
            "unhandled error",
            exc_info=error,
            extra={"request_id": getattr(g, "request_id", ""), "path": request.path},
        )
        return error_response(ApiError("internal error", code="internal", status=500))

    return app


def _observe(runtime: Runtime, response: Response) -> None:
    started = getattr(g, "started", None)
    elapsed = time.perf_counter() - started if started is not None else 0.0
    nbytes = response.content_length or 0
    path = request.path
    if path.startswith("/api/"):
        backend = str((request.view_args or {}).get("backend_id", ""))
        runtime.metrics.observe(request.method, response.status_code, backend, elapsed, nbytes)
    if response.status_code >= 400:
        remote = getattr(g, "client_ip", "")
        request_id = getattr(g, "request_id", "")
        log.info(
            "http",
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "bytes": nbytes,
                "duration_ms": round(elapsed * 1000, 3),
                "request_id": request_id,
                "req_id": request_id,
                "remote": remote,
                "remote_addr": remote,
            },
        )
