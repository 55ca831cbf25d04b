"""``GET /api/admin/dashboard``, and the dashboard listener's report of each ``/api/*`` request."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_response

from stowage.core.contracts.overview import OVERVIEW, RequestRecord, traffic_tap
from stowage.core.web.authz import optional_identity, requires
from stowage.core.web.request_context import current_runtime
from stowage.plugins.overview import dto

__all__ = ["blueprint"]

blueprint = Blueprint("overview", __name__)


@blueprint.get("/api/admin/dashboard")
@document_response(dto.DashboardView)
@requires("admin")
async def dashboard() -> Response:
    return jsonify(dto.overview_json(current_runtime().get(OVERVIEW).overview()))


@blueprint.after_app_request
async def _report(response: Response) -> Response:
    # Every /api/* answer, whatever blueprint served it (the same requests stowage_requests_total counts).
    if request.path.startswith("/api/"):
        tap = traffic_tap(current_runtime())
        if tap is not None:
            args = request.view_args or {}
            identity = optional_identity()
            tap.observe(
                RequestRecord(
                    listener="api",
                    method=request.method,
                    path=request.path,
                    status=response.status_code,
                    backend=str(args.get("backend_id", "")),
                    bucket=str(args.get("bucket", "")),
                    bytes_in=request.content_length or 0,
                    bytes_out=response.content_length or 0,
                    user_id=identity.user_id if identity is not None else "",
                )
            )
    return response
