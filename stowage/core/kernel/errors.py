"""The error types every layer raises, and nothing that renders them.

Hierarchy::

    StowageError                      base of everything Stowage raises on purpose
    ├── ConfigError                   bad settings; start-up stops, message names the key
    ├── PluginError                   a plugin failed to load or register; names plugin + origin
    ├── SecretKeyError                root key missing, malformed or unable to unseal
    └── ApiError                      a dashboard API failure: ``status`` + ``code`` → JSON envelope
        ├── BadRequest                400 bad_request
        ├── Unauthorized              401 unauthorized
        ├── Forbidden                 403 forbidden
        ├── NotFound                  404 not_found
        ├── Conflict                  409 conflict
        ├── PayloadTooLarge           413 too_large
        ├── RateLimited               429 rate_limited
        ├── BackendFailure            502 backend_error
        ├── ServiceUnavailable        503 (code given per case)
        └── InternalError             500 internal

S3 wire errors for the proxy live with the proxy plugin (``stowage.plugins.s3proxy.s3errors``):
they render as S3 XML, not as this JSON envelope.

Handlers raise; one renderer (``stowage.core.web.httpapp``) turns an ``ApiError`` into
``{"error": {"code", "message", "detail"}}``. Handlers never build error bodies by hand.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ApiError",
    "BackendFailure",
    "BadRequest",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "InternalError",
    "NotFound",
    "PayloadTooLarge",
    "PluginError",
    "RateLimited",
    "SecretKeyError",
    "ServiceUnavailable",
    "StowageError",
    "Unauthorized",
]


class StowageError(Exception):
    """Base class of every error Stowage raises deliberately."""


class ConfigError(StowageError):
    """Invalid configuration. ``key`` names the setting; the message says what is allowed."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


class PluginError(StowageError):
    """A plugin could not be loaded or registered."""

    def __init__(self, message: str, plugin: str = "", origin: str = "") -> None:
        super().__init__(message)
        self.plugin = plugin
        self.origin = origin


class SecretKeyError(StowageError):
    """The root key is missing, malformed, or cannot unseal a stored secret."""


class ApiError(StowageError):
    """A dashboard API error; rendered as the JSON error envelope with ``status``."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "bad request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        detail: str = "",
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        self.code = code or self.default_code
        self.detail = detail
        self.http_status = status or self.status
        self.headers = headers or {}

    def to_json(self) -> dict[str, dict[str, str]]:
        """The envelope body: ``{"error": {"code", "message", "detail"?}}``."""
        body = {"code": self.code, "message": self.message}
        if self.detail:
            body["detail"] = self.detail
        return {"error": body}


class BadRequest(ApiError):
    status = 400
    default_code = "bad_request"
    default_message = "bad request"


class Unauthorized(ApiError):
    status = 401
    default_code = "unauthorized"
    default_message = "authentication required"


class Forbidden(ApiError):
    status = 403
    default_code = "forbidden"
    default_message = "insufficient privileges"


class NotFound(ApiError):
    status = 404
    default_code = "not_found"
    default_message = "resource not found"


class Conflict(ApiError):
    status = 409
    default_code = "conflict"
    default_message = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    default_code = "too_large"
    default_message = "request body too large"


class RateLimited(ApiError):
    status = 429
    default_code = "rate_limited"
    default_message = "too many requests"


class BackendFailure(ApiError):
    status = 502
    default_code = "backend_error"
    default_message = "backend operation failed"


class ServiceUnavailable(ApiError):
    status = 503
    default_code = "unavailable"
    default_message = "service unavailable"


class InternalError(ApiError):
    status = 500
    default_code = "internal"
    default_message = "internal error"
