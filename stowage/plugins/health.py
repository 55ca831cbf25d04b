"""Built-in ``health``: liveness, readiness and metrics routes.

``/healthz`` and ``/readyz`` deliberately check neither the database nor the backends, so an
orchestrator does not restart Stowage when an upstream flickers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client.exposition import choose_encoder
from quart import Blueprint, Response, jsonify, request

from stowage.core.web.request_context import current_runtime
from stowage.hooks import hookimpl

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
async def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
async def readyz() -> Response:
    return jsonify({"status": "ready"})


@blueprint.get("/metrics")
async def metrics() -> Response:
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encoder(current_runtime().registry)
    return Response(body, status=200, content_type=content_type)


@hookimpl
def stowage_blueprints(runtime: Runtime) -> Blueprint:
    return blueprint
