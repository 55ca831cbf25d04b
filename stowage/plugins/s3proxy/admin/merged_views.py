"""Read-only merged views of the proxy's credentials and anonymous bindings (admin).

Each entry carries ``source``: ``"sqlite"`` for store rows, or the name a plugin gives. Plugins that
feed the proxy from elsewhere return ``stowage.core.contracts.credentials.CredentialSource`` objects from the
``stowage_proxy_sources`` hook: a ``name``, ``list_credentials()`` and ``list_anonymous()`` returning
dicts (sync or async; a missing lister contributes nothing). Secrets are never shown: a
``secret_key`` a source returns is dropped.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from quart import Blueprint, Response, jsonify
from quart_schema import document_response
from typing_extensions import TypedDict

from stowage.core.web.authz import requires
from stowage.core.web.request_context import current_runtime
from stowage.plugins.s3proxy.admin.credential_routes import credential_dto
from stowage.plugins.s3proxy.admin.policy_routes import binding_dto
from stowage.plugins.s3proxy.credentials import credential_repository

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["merged_anonymous", "merged_credentials", "views_blueprint"]

_SECRET_FIELDS = frozenset({"secret_key", "secret_key_enc", "secret"})


class SourcedCredential(TypedDict):
    """A credential from any source (``sqlite`` or a plugin's); never carries a secret."""

    access_key: str
    source: str


class SourcedCredentials(TypedDict):
    credentials: list[SourcedCredential]


class SourcedBinding(TypedDict):
    backend_id: str
    bucket: str
    source: str


class SourcedBindings(TypedDict):
    bindings: list[SourcedBinding]


async def _from_sources(runtime: Runtime, method: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for source in await runtime.hooks.proxy_sources(runtime=runtime):
        lister = getattr(source, method, None)
        if lister is None:
            continue
        result = lister()
        entries = await result if inspect.isawaitable(result) else result
        name = str(getattr(source, "name", type(source).__name__))
        for entry in entries or []:
            clean = {k: v for k, v in dict(entry).items() if k not in _SECRET_FIELDS}
            out.append({**clean, "source": clean.get("source") or name})
    return out


async def merged_credentials(runtime: Runtime) -> list[dict[str, Any]]:
    """Store credentials (``source: sqlite``) followed by plugin-provided ones."""
    rows = await credential_repository(runtime).list()
    entries = []
    for row in rows:
        dto = credential_dto(runtime, row)
        dto.pop("secret_key", None)
        entries.append({**dto, "source": "sqlite"})
    return entries + await _from_sources(runtime, "list_credentials")


async def merged_anonymous(runtime: Runtime) -> list[dict[str, Any]]:
    """Store bindings (``source: sqlite``) followed by plugin-provided ones."""
    rows = await runtime.store.anonymous.list()
    entries = [{**binding_dto(row), "source": "sqlite"} for row in rows]
    return entries + await _from_sources(runtime, "list_anonymous")


def views_blueprint() -> Blueprint:
    """A fresh blueprint with both views."""
    blueprint = Blueprint("s3_proxy_views", __name__)

    @blueprint.get("/api/admin/s3-proxy/credentials")
    @document_response(SourcedCredentials)
    @requires("admin")
    async def credentials_view() -> Response:
        return jsonify({"credentials": await merged_credentials(current_runtime())})

    @blueprint.get("/api/admin/s3-proxy/anonymous")
    @document_response(SourcedBindings)
    @requires("admin")
    async def anonymous_view() -> Response:
        return jsonify({"bindings": await merged_anonymous(current_runtime())})

    return blueprint
