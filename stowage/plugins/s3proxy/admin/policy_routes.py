"""Admin routes for proxy policies: anonymous bindings and bucket CORS rules.

Mounted only while the proxy is enabled. Every mutation awaits the proxy's policy-cache reload
before answering, so the next proxy request sees it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NotRequired

from quart import Blueprint, Response, jsonify
from quart_schema import document_request, document_response
from typing_extensions import TypedDict

from stowage.core.contracts.audit import audit_request
from stowage.core.contracts.backends import BACKENDS
from stowage.core.formats.timefmt import to_rfc3339
from stowage.core.kernel.errors import BadRequest, NotFound
from stowage.core.openapi import no_content
from stowage.core.web.authz import current_identity, requires
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.s3proxy.cors import validate_rules
from stowage.plugins.s3proxy.policycache import policy_cache

if TYPE_CHECKING:
    from stowage.core.contracts.credentials import StoredBinding
    from stowage.core.kernel.runtime import Runtime

__all__ = ["ANON_BODY_LIMIT", "CORS_BODY_LIMIT", "binding_dto", "policy_api_blueprints"]

ANON_BODY_LIMIT = 8 * 1024
CORS_BODY_LIMIT = 64 * 1024
DEFAULT_BINDING_RPS = 20
ANON_PATH = "/api/admin/s3-anonymous"
CORS_PATH = "/api/backends/<bid>/buckets/<bucket>/cors"


class BindingView(TypedDict):
    """An anonymous read binding of a bucket."""

    backend_id: str
    bucket: str
    mode: str
    per_source_ip_rps: int
    created_at: str
    created_by: NotRequired[str]


class BindingList(TypedDict):
    bindings: list[BindingView]


class NewBinding(TypedDict):
    backend_id: str
    bucket: str
    mode: NotRequired[Literal["ReadOnly"]]
    per_source_ip_rps: NotRequired[int]


class CorsRule(TypedDict):
    allowed_origins: list[str]
    allowed_methods: list[str]
    allowed_headers: NotRequired[list[str]]
    expose_headers: NotRequired[list[str]]
    max_age_seconds: NotRequired[int]


class CorsRules(TypedDict):
    rules: list[CorsRule]


def binding_dto(row: StoredBinding) -> dict[str, Any]:
    """A binding as the API shows it."""
    out: dict[str, Any] = {
        "backend_id": row.backend_id,
        "bucket": row.bucket,
        "mode": row.mode,
        "per_source_ip_rps": row.per_source_ip_rps,
        "created_at": to_rfc3339(row.created_at),
    }
    if row.created_by:
        out["created_by"] = row.created_by
    return out


async def _reload(runtime: Runtime) -> None:
    cache = policy_cache(runtime)
    if cache is not None:
        await cache.reload()


def _invalid(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_request")


def _now(runtime: Runtime) -> datetime:
    return datetime.fromtimestamp(runtime.clock(), UTC)


def _binding_fields(body: dict[str, Any]) -> tuple[str, str, str, int]:
    backend_id, bucket = body.get("backend_id"), body.get("bucket")
    if not isinstance(backend_id, str) or not backend_id.strip():
        raise _invalid("backend_id is required")
    if not isinstance(bucket, str) or not bucket.strip():
        raise _invalid("bucket is required")
    mode = body.get("mode") or "ReadOnly"
    if mode != "ReadOnly":
        raise _invalid("only ReadOnly is supported in v1")
    rps = body.get("per_source_ip_rps", DEFAULT_BINDING_RPS)
    if rps is None:
        rps = DEFAULT_BINDING_RPS
    if isinstance(rps, bool) or not isinstance(rps, int) or rps < 0:
        raise _invalid("per_source_ip_rps must be an integer >= 0")
    return backend_id.strip(), bucket.strip(), mode, rps


def policy_api_blueprints() -> list[Blueprint]:
    """Fresh blueprints (one set per app)."""
    anonymous = Blueprint("s3_anonymous_admin", __name__)
    cors = Blueprint("s3_bucket_cors", __name__)

    @anonymous.get(ANON_PATH)
    @document_response(BindingList)
    @requires("admin")
    async def list_bindings() -> Response:
        rows = await current_runtime().store.anonymous.list()
        return jsonify({"bindings": [binding_dto(row) for row in rows]})

    @anonymous.post(ANON_PATH)
    @document_request(NewBinding)
    @document_response(BindingView)
    @requires("admin")
    async def upsert_binding() -> Response:
        runtime = current_runtime()
        backend_id, bucket, mode, rps = _binding_fields(await read_json(ANON_BODY_LIMIT))
        row = await runtime.store.anonymous.upsert(
            backend_id,
            bucket,
            mode=mode,
            per_source_ip_rps=rps,
            now=_now(runtime),
            actor=current_identity().user_id,
        )
        await _reload(runtime)
        detail = {"mode": mode, "per_source_ip_rps": rps}
        audit_request("s3_anonymous.upsert", backend=backend_id, bucket=bucket, detail=detail)
        return jsonify(binding_dto(row))

    @anonymous.delete(ANON_PATH + "/<bid>/<bucket>")
    @no_content
    @requires("admin")
    async def delete_binding(bid: str, bucket: str) -> Response:
        runtime = current_runtime()
        if not await runtime.store.anonymous.delete(bid, bucket):
            raise NotFound("binding not found")
        await _reload(runtime)
        audit_request("s3_anonymous.delete", backend=bid, bucket=bucket)
        return Response("", status=204)

    @cors.get(CORS_PATH)
    @document_response(CorsRules)
    @requires("admin")
    async def get_cors(bid: str, bucket: str) -> Response:
        runtime = current_runtime()
        _known_backend(runtime, bid)
        return jsonify({"rules": await runtime.store.cors.get(bid, bucket)})

    @cors.put(CORS_PATH)
    @document_request(CorsRules)
    @no_content
    @requires("admin")
    async def put_cors(bid: str, bucket: str) -> Response:
        runtime = current_runtime()
        _known_backend(runtime, bid)
        body = await read_json(CORS_BODY_LIMIT)
        rules = validate_rules(body.get("rules", []))
        await runtime.store.cors.put(bid, bucket, rules, _now(runtime))
        await _reload(runtime)
        audit_request("bucket.cors.set", backend=bid, bucket=bucket, detail={"rules": len(rules)})
        return Response("", status=204)

    return [anonymous, cors]


def _known_backend(runtime: Runtime, bid: str) -> None:
    registry = runtime.find(BACKENDS)
    if registry is not None and registry.get(bid) is None:
        raise NotFound("backend not found")
