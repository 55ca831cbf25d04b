"""Bucket settings kept by the upstream: versioning, bucket policy and lifecycle rules (admins only).

Each route first checks that the backend's upstream supports the feature (501 ``not_supported``
otherwise; see ``capabilities``), reads within 5 seconds, and audits every change as
``bucket.versioning.set``, ``bucket.policy.set``, ``bucket.policy.delete`` or
``bucket.lifecycle.set``. A policy is passed to the upstream verbatim; an upstream's refusal of a
policy or of lifecycle rules is the caller's input to fix (400), not a backend failure.
"""

from __future__ import annotations

import json

from quart import Blueprint, Response, jsonify
from quart_schema import document_request, document_response

from stowage.core.contracts.driver import StorageDriver
from stowage.core.formats.s3names import check_bucket
from stowage.core.kernel.errors import BadRequest
from stowage.core.openapi import no_content
from stowage.core.web.authz import requires
from stowage.core.web.request_context import read_json
from stowage.plugins.backends import dto
from stowage.plugins.backends.capabilities import require_feature
from stowage.plugins.backends.errors import install_error_handler
from stowage.plugins.backends.lifecycle_input import parse_rules, rule_json
from stowage.plugins.backends.route_helpers import PREFIX, driver_for, mutation
from stowage.plugins.backends.upstream_refusals import refused_as, settings_read

__all__ = ["blueprint"]

blueprint = Blueprint("storage_bucket_settings", __name__)
install_error_handler(blueprint)

BUCKET = f"{PREFIX}/<bucket>"
VERSIONING_LIMIT = 1024
POLICY_LIMIT = 256 * 1024
LIFECYCLE_LIMIT = 64 * 1024


async def _settings_driver(backend_id: str, bucket: str, feature: str) -> StorageDriver:
    check_bucket(bucket)
    driver = driver_for(backend_id)
    await require_feature(driver, bucket, feature)
    return driver


# --- versioning --------------------------------------------------------------------------------


@blueprint.get(f"{BUCKET}/versioning")
@document_response(dto.VersioningState)
@requires("admin")
async def get_versioning(backend_id: str, bucket: str) -> Response:
    driver = await _settings_driver(backend_id, bucket, "versioning")
    return jsonify({"enabled": await settings_read(driver.get_versioning(bucket))})


@blueprint.put(f"{BUCKET}/versioning")
@document_request(dto.VersioningState)
@document_response(dto.VersioningState)
@requires("admin")
async def put_versioning(backend_id: str, bucket: str) -> Response:
    driver = await _settings_driver(backend_id, bucket, "versioning")
    enabled = (await read_json(VERSIONING_LIMIT)).get("enabled")
    if not isinstance(enabled, bool):
        raise BadRequest("enabled must be true or false")
    async with mutation("bucket.versioning.set", backend=backend_id, bucket=bucket) as detail:
        detail["enabled"] = enabled
        await driver.put_versioning(bucket, enabled)
    return jsonify({"enabled": enabled})


# --- policy ------------------------------------------------------------------------------------


@blueprint.get(f"{BUCKET}/policy")
@document_response(dto.BucketPolicy)
@requires("admin")
async def get_policy(backend_id: str, bucket: str) -> Response:
    driver = await _settings_driver(backend_id, bucket, "bucket_policy")
    return jsonify({"policy": await settings_read(driver.get_bucket_policy(bucket))})


def _policy_text(value: object) -> str:
    if not isinstance(value, str):
        raise BadRequest("policy must be a string holding the policy document")
    if not value.strip():
        raise BadRequest("policy is empty; DELETE the policy to remove it")
    try:
        document = json.loads(value)
    except ValueError:
        raise BadRequest("policy is not valid JSON", code="invalid_policy") from None
    if not isinstance(document, dict):
        raise BadRequest("policy must be a JSON object", code="invalid_policy")
    return value


@blueprint.put(f"{BUCKET}/policy")
@document_request(dto.BucketPolicy)
@no_content
@requires("admin")
async def put_policy(backend_id: str, bucket: str) -> tuple[str, int]:
    driver = await _settings_driver(backend_id, bucket, "bucket_policy")
    policy = _policy_text((await read_json(POLICY_LIMIT)).get("policy"))
    async with mutation("bucket.policy.set", backend=backend_id, bucket=bucket):
        with refused_as("invalid_policy"):
            await driver.put_bucket_policy(bucket, policy)
    return "", 204


@blueprint.delete(f"{BUCKET}/policy")
@no_content
@requires("admin")
async def delete_policy(backend_id: str, bucket: str) -> tuple[str, int]:
    driver = await _settings_driver(backend_id, bucket, "bucket_policy")
    async with mutation("bucket.policy.delete", backend=backend_id, bucket=bucket):
        await driver.delete_bucket_policy(bucket)
    return "", 204


# --- lifecycle ---------------------------------------------------------------------------------


@blueprint.get(f"{BUCKET}/lifecycle")
@document_response(dto.Lifecycle)
@requires("admin")
async def get_lifecycle(backend_id: str, bucket: str) -> Response:
    driver = await _settings_driver(backend_id, bucket, "lifecycle")
    rules = await settings_read(driver.get_lifecycle(bucket))
    return jsonify({"rules": [rule_json(rule) for rule in rules]})


@blueprint.put(f"{BUCKET}/lifecycle")
@document_request(dto.Lifecycle)
@no_content
@requires("admin")
async def put_lifecycle(backend_id: str, bucket: str) -> tuple[str, int]:
    driver = await _settings_driver(backend_id, bucket, "lifecycle")
    rules = parse_rules(await read_json(LIFECYCLE_LIMIT))
    async with mutation("bucket.lifecycle.set", backend=backend_id, bucket=bucket) as detail:
        detail["rules"] = len(rules)
        with refused_as("invalid_lifecycle"):
            await driver.put_lifecycle(bucket, rules)
    return "", 204
