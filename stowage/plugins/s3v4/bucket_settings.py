"""``S3V4Driver``'s probed features: bucket policy and lifecycle, version listings, metadata edits.

A mixin of the driver (it uses the driver's pooled client and ``CapabilityProbe``). Every method
that touches a probed feature asks the probe first and raises ``NotSupported`` without it, so an
upstream that would misread the request (see ``capability_probe``) never receives it. An
upstream's "not configured" answer is the empty state, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stowage.core.contracts.driver import (
    Capabilities,
    DriverError,
    LifecycleRule,
    ObjectInfo,
    ObjectVersion,
    VersionPage,
)
from stowage.plugins.s3v4.capability_probe import CapabilityProbe
from stowage.plugins.s3v4.client import etag_text, object_info
from stowage.plugins.s3v4.errors import upstream_errors
from stowage.plugins.s3v4.lifecycle_rules import rule_from_s3, rule_to_s3

__all__ = ["BucketSettingsOps"]

# Headers a copy with MetadataDirective=REPLACE would reset along with the user metadata.
_KEPT_ON_REPLACE = (
    "ContentType",
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "Expires",
    "StorageClass",
)


def _version(entry: Mapping[str, Any], *, delete_marker: bool) -> ObjectVersion:
    return ObjectVersion(
        key=str(entry.get("Key") or ""),
        version_id=str(entry.get("VersionId") or ""),
        is_latest=bool(entry.get("IsLatest")),
        is_delete_marker=delete_marker,
        size=int(entry.get("Size") or 0),
        etag=etag_text(entry.get("ETag")),
        storage_class=str(entry.get("StorageClass") or ""),
        last_modified=entry.get("LastModified"),
    )


def _newest_first(version: ObjectVersion) -> tuple[str, bool, float]:
    stamp = version.last_modified.timestamp() if version.last_modified is not None else 0.0
    return version.key, not version.is_latest, -stamp


class BucketSettingsOps:
    """Mixed into ``S3V4Driver``, which provides ``_features`` and ``_s3``."""

    _features: CapabilityProbe

    async def _s3(self) -> Any:  # the driver's pooled aiobotocore client
        raise NotImplementedError

    async def probe_capabilities(self, bucket: str = "") -> Capabilities:
        return await self._features.capabilities(bucket)

    # --- versions and metadata -----------------------------------------------------------------

    async def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionPage:
        await self._features.require(bucket, "versioning")
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if key_marker:
            params["KeyMarker"] = key_marker
            if version_id_marker:
                params["VersionIdMarker"] = version_id_marker
        with upstream_errors(bucket_scope=True):
            page = await (await self._s3()).list_object_versions(**params)
        # botocore splits versions and delete markers into two lists; put them back in S3's order
        # (by key, newest first) — some stores do not even return each list in that order.
        versions = [_version(v, delete_marker=False) for v in page.get("Versions", ())]
        versions += [_version(m, delete_marker=True) for m in page.get("DeleteMarkers", ())]
        return VersionPage(
            sorted(versions, key=_newest_first),
            bool(page.get("IsTruncated")),
            str(page.get("NextKeyMarker") or ""),
            str(page.get("NextVersionIdMarker") or ""),
        )

    async def replace_metadata(self, bucket: str, key: str, metadata: Mapping[str, str]) -> ObjectInfo:
        s3 = await self._s3()
        with upstream_errors():
            head = await s3.head_object(Bucket=bucket, Key=key)
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "CopySource": {"Bucket": bucket, "Key": key},
            "MetadataDirective": "REPLACE",  # tags are kept: TaggingDirective stays COPY
            "Metadata": dict(metadata),
        }
        params.update({name: head[name] for name in _KEPT_ON_REPLACE if head.get(name)})
        with upstream_errors():
            await s3.copy_object(**params)
            return object_info(key, await s3.head_object(Bucket=bucket, Key=key))

    # --- bucket policy -------------------------------------------------------------------------

    async def get_bucket_policy(self, bucket: str) -> str:
        await self._features.require(bucket, "bucket_policy")
        try:
            with upstream_errors(bucket_scope=True):
                response = await (await self._s3()).get_bucket_policy(Bucket=bucket)
        except DriverError as exc:
            if exc.code == "NoSuchBucketPolicy":
                return ""
            raise
        return str(response.get("Policy") or "")

    async def put_bucket_policy(self, bucket: str, policy: str) -> None:
        await self._features.require(bucket, "bucket_policy")
        with upstream_errors(bucket_scope=True):
            await (await self._s3()).put_bucket_policy(Bucket=bucket, Policy=policy)

    async def delete_bucket_policy(self, bucket: str) -> None:
        await self._features.require(bucket, "bucket_policy")
        try:
            with upstream_errors(bucket_scope=True):
                await (await self._s3()).delete_bucket_policy(Bucket=bucket)
        except DriverError as exc:
            if exc.code != "NoSuchBucketPolicy":
                raise

    # --- lifecycle -----------------------------------------------------------------------------

    async def get_lifecycle(self, bucket: str) -> list[LifecycleRule]:
        await self._features.require(bucket, "lifecycle")
        try:
            with upstream_errors(bucket_scope=True):
                response = await (await self._s3()).get_bucket_lifecycle_configuration(Bucket=bucket)
        except DriverError as exc:
            if exc.code == "NoSuchLifecycleConfiguration":
                return []
            raise
        return [rule_from_s3(rule) for rule in response.get("Rules", ())]

    async def put_lifecycle(self, bucket: str, rules: Sequence[LifecycleRule]) -> None:
        await self._features.require(bucket, "lifecycle")
        s3 = await self._s3()
        with upstream_errors(bucket_scope=True):
            if not rules:  # S3 refuses an empty rule list; no rules means no configuration
                await s3.delete_bucket_lifecycle(Bucket=bucket)
                return
            await s3.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": [rule_to_s3(rule) for rule in rules]}
            )
