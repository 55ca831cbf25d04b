"""The one mapping from storage-driver errors to dashboard API errors.

Not-found classes become 404 ``not_found`` "resource not found"; anything else from the upstream
becomes 502 ``backend_error`` "backend operation failed". The upstream's own error code (never its
message, which may echo internals) goes into ``detail``. Two upstream refusals are the caller's to
fix, not backend failures, and are 409 as S3 itself answers: deleting a bucket that still holds
objects (``bucket_not_empty``) and creating one whose name is taken (``bucket_exists``).
"""

from __future__ import annotations

from quart import Blueprint, Response

from stowage.core.contracts.driver import (
    BucketNotFound,
    DriverError,
    InvalidRange,
    NotSupported,
    ObjectNotFound,
    PreconditionFailed,
)
from stowage.core.kernel.errors import ApiError, BackendFailure, NotFound
from stowage.core.web.httpapp import error_response

__all__ = ["api_error", "install_error_handler"]


def api_error(exc: DriverError) -> ApiError:
    """The API error a driver error is shown as."""
    detail = exc.code if exc.code not in ("", "unreachable", "timeout") else ""
    if isinstance(exc, ObjectNotFound | BucketNotFound):
        return NotFound("resource not found", detail=detail)
    if isinstance(exc, InvalidRange):
        headers = {"Content-Range": f"bytes */{exc.size}"} if exc.size >= 0 else {}
        return ApiError("requested range not satisfiable", code="bad_range", status=416, headers=headers)
    if isinstance(exc, PreconditionFailed):
        return ApiError("object already exists", code="object_exists", status=412)
    if exc.code == "BucketNotEmpty":
        return ApiError("the bucket is not empty", code="bucket_not_empty", status=409, detail=detail)
    if exc.code in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
        return ApiError("the bucket already exists", code="bucket_exists", status=409, detail=detail)
    if isinstance(exc, NotSupported):
        return ApiError("not supported by this backend", code="not_supported", status=501)
    return BackendFailure("backend operation failed", detail=exc.code if exc.code != "unreachable" else "")


def install_error_handler(blueprint: Blueprint) -> None:
    """Render driver errors raised by ``blueprint``'s routes through ``api_error``."""

    async def _render(exc: DriverError) -> Response:
        return error_response(api_error(exc))

    blueprint.register_error_handler(DriverError, _render)
