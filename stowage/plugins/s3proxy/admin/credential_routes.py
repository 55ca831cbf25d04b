"""Virtual-credential routes: admin ``/api/admin/s3-credentials`` and self-service ``/api/me/…``.

Mounted only while ``s3_proxy.enabled`` (the proxy plugin returns
``credential_blueprints()`` from ``stowage_blueprints``). Every mutation awaits the credential
cache rebuild before answering, so a disabled, expired or deleted key fails on the very next
proxy request. Self-service routes see only the caller's rows; anyone else's key is a 404.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NotRequired
from urllib.parse import quote, urlsplit, urlunsplit

from quart import Blueprint, Response, has_request_context, jsonify, request
from quart_schema import document_request, document_response
from typing_extensions import TypedDict

from stowage.core.contracts.audit import audit_request
from stowage.core.contracts.backends import BACKENDS
from stowage.core.contracts.credentials import CREDENTIALS
from stowage.core.formats.s3names import is_bucket_name
from stowage.core.formats.timefmt import parse_rfc3339, to_rfc3339
from stowage.core.kernel.config import parse_listen
from stowage.core.kernel.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from stowage.core.openapi import no_content
from stowage.core.web.authz import current_identity, requires
from stowage.core.web.request_context import current_runtime, read_json
from stowage.plugins.s3proxy.credentials import credential_repository
from stowage.plugins.s3proxy.keys import PROXY_LISTENER

if TYPE_CHECKING:
    from stowage.core.contracts.credentials import StoredCredential
    from stowage.core.kernel.runtime import Runtime

__all__ = ["VC_BODY_LIMIT", "credential_blueprints", "credential_dto", "new_access_key", "new_secret_key"]

VC_BODY_LIMIT = 64 * 1024
ADMIN_PATH = "/api/admin/s3-credentials"
SELF_PATH = "/api/me/s3-credentials"
ACCESS_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ALWAYS = frozenset({"access_key", "backend_id", "buckets", "enabled", "created_at", "updated_at"})


def new_access_key() -> str:
    """``AKIA`` + 16 random characters from ``A-Z2-7``, shaped like an AWS access key id."""
    return "AKIA" + "".join(secrets.choice(ACCESS_KEY_ALPHABET) for _ in range(16))


def new_secret_key() -> str:
    """40 lower-case hex characters (20 random bytes)."""
    return secrets.token_hex(20)


def _invalid(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_request")


def _now(runtime: Runtime) -> datetime:
    return datetime.fromtimestamp(runtime.clock(), UTC)


# --- DTO ---------------------------------------------------------------------------------------


# The packaged default of operator.proxy_url (a Kubernetes service name): only a value an operator
# set is an address tenants can use; the default would send every non-Kubernetes install astray.
_OPERATOR_DEFAULT_PROXY_URL = "http://stowage-proxy.stowage-system.svc.cluster.local:8080"
_ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})


def _endpoint(runtime: Runtime) -> str:
    """Where tenants reach the proxy: ``https://<s3_proxy.public_hostname>``, else
    ``s3_proxy.endpoint_url``, else an operator-set ``operator.proxy_url``, else the proxy listener."""
    proxy = runtime.settings.s3_proxy
    if proxy.public_hostname:
        return f"https://{proxy.public_hostname}"
    if proxy.endpoint_url:
        return proxy.endpoint_url.rstrip("/")
    operator_url = runtime.settings.operator_proxy_url.rstrip("/")
    if operator_url and operator_url != _OPERATOR_DEFAULT_PROXY_URL:
        return operator_url
    return _listener_url(runtime)


def _listener_url(runtime: Runtime) -> str:
    """``http://host:port`` of ``s3_proxy.listen`` (the bound port when it was 0); a wildcard host
    becomes the host name this API request came to, which reaches the same machine."""
    address = parse_listen(runtime.settings.s3_proxy.listen, "s3_proxy.listen")
    port = address.port
    listener = runtime.find(PROXY_LISTENER)
    if listener is not None and listener.port:
        port = listener.port
    host = address.host
    if host in _ANY_ADDRESS:
        asked = urlsplit("//" + request.host).hostname if has_request_context() else None
        host = asked or "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _bucket_url(base: str, bucket: str, path_style: bool) -> str:
    if path_style:
        return f"{base}/{quote(bucket, safe='')}"
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, f"{bucket}.{parts.netloc}", parts.path, "", ""))


def _path_style(runtime: Runtime, backend_id: str) -> bool:
    registry = runtime.find(BACKENDS)
    entry = registry.get(backend_id) if registry is not None else None
    return bool(entry.spec.path_style) if entry is not None else True


class CredentialView(TypedDict):
    """A virtual S3 credential; empty optional fields are left out. ``secret_key`` only on creation."""

    access_key: str
    secret_key: NotRequired[str]
    backend_id: str
    buckets: list[str]
    user_id: NotRequired[str]
    description: NotRequired[str]
    enabled: bool
    expires_at: NotRequired[str]
    created_at: str
    created_by: NotRequired[str]
    updated_at: str
    updated_by: NotRequired[str]
    endpoint_url: NotRequired[str]
    bucket_urls: NotRequired[dict[str, str]]


class CredentialList(TypedDict):
    credentials: list[CredentialView]


class NewCredential(TypedDict):
    """``user_id`` (the owner) is honoured on the admin route only."""

    backend_id: str
    buckets: list[str]
    description: NotRequired[str]
    expires_at: NotRequired[str]
    user_id: NotRequired[str]


class CredentialPatch(TypedDict, total=False):
    """``expires_at: ""`` clears the expiry."""

    buckets: list[str]
    description: str
    enabled: bool
    expires_at: str


def credential_dto(runtime: Runtime, row: StoredCredential, secret_key: str = "") -> dict[str, Any]:
    """A credential as the API shows it (no empty optional fields); ``secret_key`` only on creation."""
    base = _endpoint(runtime)
    path_style = _path_style(runtime, row.backend_id)
    out: dict[str, Any] = {
        "access_key": row.access_key,
        "secret_key": secret_key,
        "backend_id": row.backend_id,
        "buckets": list(row.buckets),
        "user_id": row.user_id,
        "description": row.description,
        "enabled": row.enabled,
        "expires_at": to_rfc3339(row.expires_at) if row.expires_at else "",
        "created_at": to_rfc3339(row.created_at),
        "created_by": row.created_by,
        "updated_at": to_rfc3339(row.updated_at),
        "updated_by": row.updated_by,
        "endpoint_url": base,
        "bucket_urls": {b: _bucket_url(base, b, path_style) for b in row.buckets} if base else {},
    }
    return {key: value for key, value in out.items() if value or key in _ALWAYS}


# --- validation --------------------------------------------------------------------------------


def _buckets(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(b, str) and b.strip() for b in value):
        raise _invalid("buckets must be a list of bucket names")
    names = list(dict.fromkeys(b.strip() for b in value))
    if not names:
        raise _invalid("at least one bucket is required")
    for name in names:
        # Scopes compare exactly, so a name no request can carry would be a dead (or, on an
        # upstream with unusual names, surprising) scope.
        if not is_bucket_name(name):
            raise _invalid(f"{name!r} is not a valid S3 bucket name")
    return names


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"{name} must be a string")
    return value


def _expiry(text: str) -> datetime:
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise _invalid("expires_at must be RFC3339") from None


def _check_backend(runtime: Runtime, backend_id: str) -> None:
    registry = runtime.find(BACKENDS)
    if registry is not None and registry.get(backend_id) is None:
        raise _invalid("unknown backend")


# --- shared handlers ---------------------------------------------------------------------------


async def _reload(runtime: Runtime) -> None:
    cache = runtime.find(CREDENTIALS)
    if cache is not None:
        await cache.reload()


def _audit(action: str, detail: dict[str, Any], owner: str | None, backend: str = "") -> None:
    if owner is not None:
        detail["self"] = True
    audit_request(action, backend=backend, detail=detail)


async def _owned(runtime: Runtime, access_key: str, owner: str | None) -> StoredCredential:
    row = await credential_repository(runtime).get(access_key)
    if row is None or (owner is not None and row.user_id != owner):
        raise NotFound("credential not found")  # no existence leak for other users' keys
    return row


async def _list(owner: str | None) -> Response:
    runtime = current_runtime()
    rows = await credential_repository(runtime).list(owner)
    return jsonify({"credentials": [credential_dto(runtime, row) for row in rows]})


async def _insert(runtime: Runtime, **fields: Any) -> StoredCredential:
    # A clash among 2**80 access keys is a curiosity, not the caller's problem: draw again.
    for _ in range(2):
        try:
            return await credential_repository(runtime).insert(access_key=new_access_key(), **fields)
        except Conflict:
            continue
    return await credential_repository(runtime).insert(access_key=new_access_key(), **fields)


async def _create(owner: str | None) -> tuple[Response, int]:
    runtime = current_runtime()
    body = await read_json(VC_BODY_LIMIT)
    box = runtime.secret_box
    if box is None:
        raise ServiceUnavailable("no secret key configured; cannot mint credentials", code="secret_key_unset")
    backend_id = (_text(body, "backend_id") or "").strip()
    if not backend_id:
        raise _invalid("backend_id is required")
    buckets = _buckets(body.get("buckets"))
    user_id = owner if owner is not None else (_text(body, "user_id") or "").strip()
    description = _text(body, "description") or ""
    expires_text = _text(body, "expires_at")
    expires_at = _expiry(expires_text) if expires_text else None
    if expires_at is not None and expires_at <= _now(runtime):
        raise _invalid("expires_at must be in the future")  # a born-dead key is a mistake
    _check_backend(runtime, backend_id)
    secret = new_secret_key()
    row = await _insert(
        runtime,
        secret_key_enc=box.seal(secret),
        backend_id=backend_id,
        buckets=buckets,
        user_id=user_id,
        description=description,
        expires_at=expires_at,
        created_at=_now(runtime),
        created_by=current_identity().user_id,
    )
    await _reload(runtime)
    detail = {"access_key": row.access_key, "buckets": buckets, "description": description}
    _audit("s3_credential.create", detail, owner, backend=backend_id)
    return jsonify(credential_dto(runtime, row, secret)), 201


async def _patch(access_key: str, owner: str | None) -> Response:
    runtime = current_runtime()
    body = await read_json(VC_BODY_LIMIT)
    await _owned(runtime, access_key, owner)
    changes: dict[str, Any] = {}
    if body.get("buckets") is not None:
        changes["buckets"] = _buckets(body["buckets"])
    if body.get("description") is not None:
        changes["description"] = _text(body, "description")
    if body.get("enabled") is not None:
        if not isinstance(body["enabled"], bool):
            raise _invalid("enabled must be true or false")
        changes["enabled"] = body["enabled"]
    expires_text = _text(body, "expires_at")
    if expires_text == "":
        changes["clear_expires_at"] = True
    elif expires_text is not None:
        changes["expires_at"] = _expiry(expires_text)
    row = await credential_repository(runtime).update(
        access_key, updated_at=_now(runtime), updated_by=current_identity().user_id, **changes
    )
    if row is None:
        raise NotFound("credential not found")
    await _reload(runtime)
    fields = sorted(name.removeprefix("clear_") for name in changes)
    _audit("s3_credential.update", {"access_key": access_key, "fields": fields}, owner, row.backend_id)
    return jsonify(credential_dto(runtime, row))


async def _delete(access_key: str, owner: str | None) -> Response:
    runtime = current_runtime()
    row = await _owned(runtime, access_key, owner)
    if not await credential_repository(runtime).delete(access_key):
        raise NotFound("credential not found")
    await _reload(runtime)
    _audit("s3_credential.delete", {"access_key": access_key}, owner, row.backend_id)
    return Response("", status=204)


# --- routes ------------------------------------------------------------------------------------


def _admin() -> str | None:
    return None  # admins act on every row


def _caller() -> str | None:
    return current_identity().user_id


def _blueprint(name: str, path: str, read: str, write: str, owner: Callable[[], str | None]) -> Blueprint:
    blueprint = Blueprint(name, __name__)

    @document_response(CredentialList)
    @requires(read)
    async def list_credentials() -> Response:
        return await _list(owner())

    @document_request(NewCredential)
    @document_response(CredentialView, 201)
    @requires(write)
    async def create_credential() -> tuple[Response, int]:
        return await _create(owner())

    @document_request(CredentialPatch)
    @document_response(CredentialView)
    @requires(write)
    async def patch_credential(akid: str) -> Response:
        return await _patch(akid, owner())

    @no_content
    @requires(write)
    async def delete_credential(akid: str) -> Response:
        return await _delete(akid, owner())

    blueprint.add_url_rule(path, view_func=list_credentials, methods=["GET"])
    blueprint.add_url_rule(path, view_func=create_credential, methods=["POST"])
    blueprint.add_url_rule(f"{path}/<akid>", view_func=patch_credential, methods=["PATCH"])
    blueprint.add_url_rule(f"{path}/<akid>", view_func=delete_credential, methods=["DELETE"])
    return blueprint


def credential_blueprints() -> list[Blueprint]:
    """Fresh admin and self-service blueprints (one pair per app; mount only when the proxy is on).

    Admin routes need ``admin`` and see every row; self-service routes list for ``any`` role and
    change for ``writer``, always scoped to the caller.
    """
    return [
        _blueprint("s3_credentials_admin", ADMIN_PATH, "admin", "admin", _admin),
        _blueprint("s3_credentials_self", SELF_PATH, "any", "writer", _caller),
    ]
