"""An object's tags, user metadata and versions: ``…/object/tags``, ``…/object/metadata`` and
``…/object/versions``, each with ``?key=``.

Reads are open to every signed-in user, changes to writers; tag and metadata changes are audited
as ``object.tags.set`` and ``object.metadata.set`` (counts only, never the values). Tags and
versions need the feature from the backend's upstream (501 ``not_supported`` otherwise). The
versions of a key come one upstream page at a time (at most ``MAX_VERSIONS`` entries), with the
markers for the next page.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_querystring, document_request, document_response

from stowage.core.contracts.driver import ObjectInfo, ObjectVersion, StorageDriver
from stowage.core.formats.timefmt import to_rfc3339
from stowage.core.kernel.errors import BadRequest
from stowage.core.web.authz import requires
from stowage.core.web.request_context import read_json
from stowage.plugins.backends import dto
from stowage.plugins.backends.capabilities import require_feature
from stowage.plugins.backends.errors import install_error_handler
from stowage.plugins.backends.route_helpers import (
    PREFIX,
    arg,
    check_metadata,
    mutation,
    object_json,
    target,
)
from stowage.plugins.backends.upstream_refusals import refused_as

__all__ = ["MAX_TAGS", "MAX_VERSIONS", "blueprint", "check_tags"]

blueprint = Blueprint("storage_object_extras", __name__)
install_error_handler(blueprint)

OBJECT = f"{PREFIX}/<bucket>/object"
BODY_LIMIT = 16 * 1024
MAX_TAGS = 10
MAX_VERSIONS = 1000


def check_tags(value: Any) -> dict[str, str]:
    """Object tags as S3 takes them: at most 10 (400 ``too_many_tags``); keys 1-128 characters,
    values at most 256, both strings without control characters, and no key in the reserved
    ``aws:`` namespace (400 ``invalid_tag``)."""
    if not isinstance(value, dict):
        raise BadRequest("tags must be an object of strings", code="invalid_tag")
    if len(value) > MAX_TAGS:
        raise BadRequest(f"at most {MAX_TAGS} tags per object", code="too_many_tags")
    for name, text in value.items():
        if not isinstance(text, str):
            raise BadRequest("tag values must be strings", code="invalid_tag")
        if not 1 <= len(name) <= 128 or len(text) > 256:
            raise BadRequest("tag keys are 1-128 characters, values at most 256", code="invalid_tag")
        if any(char < " " or char == "\x7f" for char in name + text):
            raise BadRequest("tags cannot contain control characters", code="invalid_tag")
        if name.lower().startswith("aws:"):
            raise BadRequest("the aws: tag prefix is reserved", code="invalid_tag")
    return dict(value)


# --- tags --------------------------------------------------------------------------------------


@blueprint.get(f"{OBJECT}/tags")
@document_querystring(dto.KeyQuery)
@document_response(dto.ObjectTags)
@requires("any")
async def get_tags(backend_id: str, bucket: str) -> Response:
    driver, key = target(backend_id, bucket)
    await require_feature(driver, bucket, "tagging")
    return jsonify({"tags": await driver.get_tags(bucket, key)})


@blueprint.put(f"{OBJECT}/tags")
@document_querystring(dto.KeyQuery)
@document_request(dto.ObjectTags)
@document_response(dto.ObjectTags)
@requires("writer")
async def put_tags(backend_id: str, bucket: str) -> Response:
    driver, key = target(backend_id, bucket)
    await require_feature(driver, bucket, "tagging")
    tags = check_tags((await read_json(BODY_LIMIT)).get("tags"))
    async with mutation("object.tags.set", backend=backend_id, bucket=bucket, key=key) as detail:
        detail["tags"] = len(tags)
        with refused_as("invalid_tag"):
            await driver.put_tags(bucket, key, tags)
    return jsonify({"tags": tags})


# --- metadata ----------------------------------------------------------------------------------


@blueprint.get(f"{OBJECT}/metadata")
@document_querystring(dto.ObjectQuery)
@document_response(dto.ObjectMetadata)
@requires("any")
async def get_metadata(backend_id: str, bucket: str) -> Response:
    driver, key = target(backend_id, bucket)
    info = await driver.head_object(bucket, key, version_id=arg("version_id", required=False))
    return jsonify({"metadata": dict(info.metadata)})


async def _replace_metadata(
    driver: StorageDriver, bucket: str, key: str, metadata: dict[str, str]
) -> ObjectInfo:
    replace = getattr(driver, "replace_metadata", None)
    if replace is None:  # a driver from before ``replace_metadata``: its copy onto itself
        return await driver.copy_object(bucket, key, bucket, key, metadata=metadata)
    info: ObjectInfo = await replace(bucket, key, metadata)
    return info


@blueprint.put(f"{OBJECT}/metadata")
@document_querystring(dto.KeyQuery)
@document_request(dto.ObjectMetadata)
@document_response(dto.ObjectView)
@requires("writer")
async def put_metadata(backend_id: str, bucket: str) -> Response:
    driver, key = target(backend_id, bucket)
    metadata = check_metadata((await read_json(BODY_LIMIT)).get("metadata"))
    async with mutation("object.metadata.set", backend=backend_id, bucket=bucket, key=key) as detail:
        detail["fields"] = len(metadata)
        with refused_as("invalid_metadata"):  # e.g. over the upstream's 2 KiB metadata limit
            info = await _replace_metadata(driver, bucket, key, metadata)
    return jsonify(object_json(info))


# --- versions ----------------------------------------------------------------------------------


def _version_json(version: ObjectVersion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": version.key,
        "version_id": version.version_id,
        "is_latest": version.is_latest,
        "size": version.size,
    }
    if version.is_delete_marker:
        out["is_delete_marker"] = True
    optional = {
        "etag": version.etag,
        "storage_class": version.storage_class,
        "last_modified": to_rfc3339(version.last_modified) if version.last_modified else "",
    }
    out.update({name: value for name, value in optional.items() if value})
    return out


def _max_keys() -> int:
    try:
        value = int(request.args.get("max_keys") or MAX_VERSIONS)
    except ValueError:
        raise BadRequest("max_keys must be a number") from None
    return min(max(value, 1), MAX_VERSIONS)


@blueprint.get(f"{OBJECT}/versions")
@document_querystring(dto.VersionListQuery)
@document_response(dto.VersionList)
@requires("any")
async def list_versions(backend_id: str, bucket: str) -> Response:
    driver, key = target(backend_id, bucket)
    await require_feature(driver, bucket, "versioning")
    key_marker = arg("key_marker", required=False)
    if key_marker and key_marker != key:
        raise BadRequest("key_marker must be the key being listed")
    page = await driver.list_object_versions(
        bucket,
        prefix=key,  # S3 lists by prefix: keep only this key (its versions come first, keys sorted)
        key_marker=key_marker,
        version_id_marker=arg("version_id_marker", required=False),
        max_keys=_max_keys(),
    )
    more = page.is_truncated and page.next_key_marker == key
    out: dict[str, Any] = {
        "versions": [_version_json(v) for v in page.versions if v.key == key],
        "is_truncated": more,
    }
    if more:
        out.update(next_key_marker=page.next_key_marker, next_version_id_marker=page.next_version_id_marker)
    return jsonify(out)
