"""The dashboard API's published contract: the OpenAPI 3.1 document and its browsable docs.

Routes declare their own types beside themselves with quart-schema's decorators
(``document_request``, ``document_response``, ``document_querystring``) or, for bodies that are
not JSON, with :func:`raw_request` / :func:`raw_response` / :func:`no_content` and route-specific
errors with :func:`also_errors` from here. This module walks the app's ``url_map`` once, at the
first request of the document, keeps the routes clients call as an API (``/api/*``, ``/auth/*``,
``/s/<code>/*``), and adds what every route shares: the error envelope, the errors
the access pipeline can answer with, and the security (session cookie, plus the CSRF header on
mutations) derived from ``@public`` — so a declaration never repeats what the pipeline decides.

``/api/openapi.json`` serves the document and ``/api/docs`` Swagger UI, whose files come from the
pinned ``swagger-ui-py`` package's install folder (never a CDN, never copied into the repository)
with our own initializer script, so the page runs under the dashboard's ``script-src 'self'``.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

from quart import Quart, Response, jsonify, send_from_directory
from quart_schema import Info, QuartSchema
from quart_schema.openapi import APIKeySecurityScheme, OpenAPIProvider
from typing_extensions import TypedDict
from werkzeug.routing import Rule

from stowage.core.kernel.errors import NotFound
from stowage.core.web.authz import public

__all__ = [
    "ERROR_STATUSES",
    "Ok",
    "also_errors",
    "documented_rules",
    "hidden",
    "install_openapi",
    "no_content",
    "raw_request",
    "raw_response",
]

F = TypeVar("F", bound=Callable[..., Any])
_RAW_REQUEST = "_stowage_raw_request"
_RAW_RESPONSE = "_stowage_raw_response"
_EXTRA_ERRORS = "_stowage_extra_errors"
_HIDDEN = "_quart_schema_hidden"  # quart-schema's own flag, so both skip the route
API_PREFIXES = ("/api/", "/auth/", "/s/")
BINARY = {"type": "string", "format": "binary"}
MUTATIONS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DOCS_FOLDER = Path(__file__).with_name("openapi_docs")  # our initializer script, package data

ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable machine-readable error code"},
                "message": {"type": "string", "description": "human-readable summary"},
                "detail": {"type": "string", "description": "extra context, omitted when empty"},
            },
        }
    },
}
# status → (component name, description); "5XX" covers 500 internal, 502 backend_error, 503, 504.
ERROR_STATUSES = {
    "400": ("BadRequest", "Invalid input (`bad_request`, `invalid_*`)."),
    "401": ("Unauthorized", "No valid session (`unauthorized`), or a wrong share password."),
    "403": ("Forbidden", "Role too low (`forbidden`), CSRF header missing (`csrf_invalid`), …"),
    "404": ("NotFound", "Unknown resource (`not_found`)."),
    "405": ("MethodNotAllowed", "Method not allowed on this path (`method_not_allowed`)."),
    "409": ("Conflict", "State conflict (`conflict`, `exists`, …)."),
    "410": ("Gone", "The share link expired, was revoked or used up."),
    "411": ("LengthRequired", "The body needs a `Content-Length` (`length_required`)."),
    "412": ("PreconditionFailed", "The object already exists (`object_exists`)."),
    "413": ("PayloadTooLarge", "Body over the route's limit (`too_large`)."),
    "416": ("RangeNotSatisfiable", "The `Range` lies outside the object."),
    "429": ("RateLimited", "Too many requests (`rate_limited`); see `Retry-After`."),
    "5XX": ("ServerError", "Internal (`internal`), backend (`backend_error`) or availability error."),
}


class Ok(TypedDict):
    """The acknowledgement of an action that has nothing else to say."""

    status: Literal["ok"]


def also_errors(*statuses: int) -> Callable[[F], F]:
    """Declare error statuses a route answers with beyond the shared ones (e.g. 412, 416)."""

    def decorate(view: F) -> F:
        setattr(view, _EXTRA_ERRORS, (*getattr(view, _EXTRA_ERRORS, ()), *map(str, statuses)))
        return view

    return decorate


def no_content(view: F) -> F:
    """Declare the empty ``204 No Content`` answer."""
    return raw_response("", 204, "Done; no body.")(view)


def raw_request(media_type: str, description: str = "") -> Callable[[F], F]:
    """Declare a request body that is not JSON (an upload's bytes)."""

    def decorate(view: F) -> F:
        setattr(view, _RAW_REQUEST, (media_type, description))
        return view

    return decorate


def raw_response(media_type: str, status: int = 200, description: str = "") -> Callable[[F], F]:
    """Declare a response body that is not JSON (a download, a CSV export)."""

    def decorate(view: F) -> F:
        declared = dict(getattr(view, _RAW_RESPONSE, {}))
        declared[status] = (media_type, description)
        setattr(view, _RAW_RESPONSE, declared)
        return view

    return decorate


def hidden(view: F) -> F:
    """Keep a route out of the document (an HTML page under ``/s/``, the docs themselves)."""
    setattr(view, _HIDDEN, True)
    return view


def documented_rules(app: Quart) -> list[Rule]:
    """The API routes the document describes: under an API prefix and not hidden."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API_PREFIXES)
        and not getattr(app.view_functions[rule.endpoint], _HIDDEN, False)
    ]


def _operation_errors(
    rule: Rule, view: Any, method: str, secured: bool, operation: dict[str, Any]
) -> list[str]:
    """The error statuses a route can answer with: what the app does to every request, plus
    what the route declared with :func:`also_errors`."""
    statuses = [*getattr(view, _EXTRA_ERRORS, ()), "400", "401", "404", "405", "429", "5XX"]
    if secured:
        statuses += ["403"]
    if method in MUTATIONS:
        statuses += ["409", "413"]
    if rule.rule.startswith("/s/"):
        statuses += ["410"]
    return [s for s in ERROR_STATUSES if s in statuses and s not in operation["responses"]]


class _Provider(OpenAPIProvider):
    """quart-schema's generator, narrowed to the API routes and given the shared parts."""

    def generate_rules(self) -> Iterable[Rule]:
        return documented_rules(self._app)  # type: ignore[arg-type]

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        built, components = super().build_paths(rule)
        # quart-schema's own path pattern runs ``<int:part>`` into the converters before it.
        paths = {_PATH_PARAMETER.sub(r"{\1}", rule.rule): item for item in built.values()}
        view = self._app.view_functions[rule.endpoint]
        secured = rule.rule.startswith("/api/") and not getattr(view, "_stowage_public", False)
        role = getattr(view, "_stowage_role", "")
        for path_item in paths.values():
            for method, shared in list(path_item.items()):
                operation = {**shared, "responses": dict(shared["responses"])}
                operation["parameters"] = list(shared["parameters"])
                _add_raw(view, operation)
                operation.setdefault("tags", [_plugin_of(view)])
                # Blueprint-qualified: two plugins may both name a view ``list_backends``.
                operation["operationId"] = f"{method}_{rule.endpoint.replace('.', '_')}"
                if secured:
                    scheme: dict[str, list[str]] = {"sessionCookie": []}
                    if method.upper() in MUTATIONS:
                        scheme["csrfHeader"] = []
                    operation["security"] = [scheme]
                else:
                    operation["security"] = []
                if role:
                    note = f"Requires role `{role}`."
                    operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
                for status in _operation_errors(rule, view, method.upper(), secured, operation):
                    operation["responses"][status] = {
                        "$ref": f"#/components/responses/{ERROR_STATUSES[status][0]}"
                    }
                path_item[method] = operation
        return paths, components


def _plugin_of(view: Any) -> str:
    """The contributing plugin's name (``stowage.plugins.<name>.…``), to group operations."""
    parts = str(getattr(view, "__module__", "")).split(".")
    return parts[2] if parts[:2] == ["stowage", "plugins"] and len(parts) > 2 else parts[0]


def _add_raw(view: Any, operation: dict[str, Any]) -> None:
    raw_in = getattr(view, _RAW_REQUEST, None)
    if raw_in is not None:
        media_type, description = raw_in
        operation["requestBody"] = {
            "description": description,
            "content": {media_type: {"schema": BINARY}},
        }
    for status, (media_type, description) in getattr(view, _RAW_RESPONSE, {}).items():
        if not media_type:
            operation["responses"][str(status)] = {"description": description}
            continue
        schema = (
            {"type": "string"} if media_type.startswith("text/") else {"type": "string", "format": "binary"}
        )
        operation["responses"][str(status)] = {
            "description": description,
            "content": {media_type: {"schema": schema}},
        }


def build_document(app: Quart) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``app``'s current routes."""
    extension: QuartSchema = app.extensions["stowage_openapi"]
    document = extension.openapi_provider.schema()
    components = document["components"]
    components["schemas"]["ErrorEnvelope"] = ENVELOPE
    components["responses"] = {
        name: {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
        }
        for name, description in ERROR_STATUSES.values()
    }
    document["paths"] = dict(sorted(document["paths"].items()))
    return document


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stowage API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi-url="/api/openapi.json"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>
"""
_PATH_PARAMETER = re.compile(r"<(?:[^:<>]*:)?([^<>]+)>")
_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _swagger_folder() -> Path:
    """The installed ``swagger-ui-py`` package's asset folder, found without importing the package
    (its ``__init__`` loads web-framework glue we do not use)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def install_openapi(app: Quart, *, version: str) -> None:
    """Serve the document at ``/api/openapi.json`` and Swagger UI at ``/api/docs`` on ``app``."""
    app.config.setdefault("QUART_SCHEMA_CONVERSION_PREFERENCE", "pydantic")
    app.config.setdefault("QUART_SCHEMA_CONVERT_CASING", False)
    # The extension is configured but not installed: it would swap the app's JSON provider and
    # response conversion, and add CDN-backed docs routes; only its generator is used.
    extension = QuartSchema(
        openapi_path=None,
        info=Info(title="Stowage dashboard API", version=version),
        security_schemes={
            "sessionCookie": APIKeySecurityScheme(in_="cookie", name="stowage_session"),
            "csrfHeader": APIKeySecurityScheme(in_="header", name="X-CSRF-Token"),
        },
    )
    extension.openapi_provider = _Provider(app, extension)
    app.extensions["stowage_openapi"] = extension
    swagger = _swagger_folder()

    document: list[dict[str, Any]] = []  # built on first request, once every route is registered

    @hidden
    async def openapi_document() -> Response:
        if not document:
            document.append(build_document(app))
        return jsonify(document[0])

    @hidden
    async def api_docs() -> Response:
        return Response(_DOCS_PAGE, content_type="text/html; charset=utf-8")

    @hidden
    async def api_docs_init() -> Response:
        return await send_from_directory(DOCS_FOLDER, "init.js", mimetype="text/javascript")

    @hidden
    async def api_docs_asset(name: str) -> Response:
        if not _ASSET_NAME.match(name) or not (swagger / name).is_file():
            raise NotFound()
        return await send_from_directory(swagger, name)

    for path, view in (
        ("/api/openapi.json", openapi_document),
        ("/api/docs", api_docs),
        ("/api/docs/init.js", api_docs_init),
        ("/api/docs/assets/<name>", api_docs_asset),
    ):
        app.add_url_rule(path, view.__name__, public(view), methods=["GET"])
