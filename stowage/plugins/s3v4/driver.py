"""``S3V4Driver``: the ``StorageDriver`` for generic S3 over SigV4.

Everything except streamed PUTs goes through one pooled aiobotocore client per backend, created
lazily inside the running loop; PutObject/UploadPart bodies go through ``StreamingUploader``
(see ``upload.py`` for why). Upstream failures leave as ``stowage.core.contracts.driver`` errors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from stowage.core.contracts.driver import (
    BackendSpec,
    BucketInfo,
    Capabilities,
    DeleteResult,
    DriverError,
    InvalidRange,
    ListResult,
    MultipartUpload,
    ObjectBody,
    ObjectInfo,
    PartInfo,
    ProbeResult,
)
from stowage.plugins.s3v4.bucket_settings import BucketSettingsOps
from stowage.plugins.s3v4.capability_probe import CapabilityProbe
from stowage.plugins.s3v4.client import BodyChunks, etag_text, object_info, open_client, parse_content_range
from stowage.plugins.s3v4.errors import translate, upstream_errors
from stowage.plugins.s3v4.upload import StreamingUploader

__all__ = ["S3V4_CAPABILITIES", "S3V4Driver"]

# What this driver implements: every feature, 10000 parts of up to 5 GiB. ``probe_capabilities``
# narrows versioning, tagging, bucket policy and lifecycle to what the upstream answers.
S3V4_CAPABILITIES = Capabilities()
_DELETE_BATCH = 1000  # DeleteObjects accepts at most 1000 keys


class S3V4Driver(BucketSettingsOps):
    """One S3-compatible backend. Safe to share between concurrent requests.

    Versioning, tags, bucket policy and lifecycle requests wait for the upstream's answers to
    ``CapabilityProbe`` (see ``capability_probe``) and raise ``NotSupported`` without the feature."""

    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec
        self.capabilities = S3V4_CAPABILITIES
        self._client: Any = None
        self._context: Any = None
        self._lock = asyncio.Lock()
        self._uploader = StreamingUploader(spec)
        self._features = CapabilityProbe(
            self.capabilities, self._uploader.fetch, self.list_buckets, time.monotonic
        )

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client, self._context = await open_client(self.spec)
        return self._client

    async def close(self) -> None:
        client, context, self._client, self._context = self._client, self._context, None, None
        if context is not None:
            await context.__aexit__(None, None, None)
        del client
        await self._uploader.close()

    async def probe(self, timeout: float = 5.0) -> ProbeResult:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self.list_buckets(), timeout)
        except Exception as exc:  # a probe reports, it never raises
            error = "probe timed out" if isinstance(exc, TimeoutError) else str(translate(exc))
            return ProbeResult(False, (time.perf_counter() - started) * 1000, error)
        return ProbeResult(True, (time.perf_counter() - started) * 1000)

    # --- buckets -------------------------------------------------------------------------------

    async def list_buckets(self) -> list[BucketInfo]:
        with upstream_errors():
            response = await (await self._s3()).list_buckets()
        return [BucketInfo(b["Name"], b.get("CreationDate")) for b in response.get("Buckets", ())]

    async def create_bucket(self, name: str, region: str = "") -> None:
        region = region or self.spec.signing_region
        params: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with upstream_errors(bucket_scope=True):
            await (await self._s3()).create_bucket(**params)

    async def delete_bucket(self, name: str) -> None:
        with upstream_errors(bucket_scope=True):
            await (await self._s3()).delete_bucket(Bucket=name)

    # --- objects -------------------------------------------------------------------------------

    async def list_objects(
        self, bucket: str, *, prefix: str = "", delimiter: str = "", token: str = "", max_keys: int = 1000
    ) -> ListResult:
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if delimiter:
            params["Delimiter"] = delimiter
        if token:
            params["ContinuationToken"] = token
        with upstream_errors(bucket_scope=True):
            page = await (await self._s3()).list_objects_v2(**params)
        objects = [
            ObjectInfo(
                key=o["Key"],
                size=int(o.get("Size") or 0),
                etag=etag_text(o.get("ETag")),
                last_modified=o.get("LastModified"),
                storage_class=str(o.get("StorageClass") or ""),
            )
            for o in page.get("Contents", ())
        ]
        prefixes = [p["Prefix"] for p in page.get("CommonPrefixes", ())]
        truncated = bool(page.get("IsTruncated"))
        return ListResult(objects, prefixes, truncated, str(page.get("NextContinuationToken") or ""))

    async def head_object(self, bucket: str, key: str, *, version_id: str = "") -> ObjectInfo:
        params = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        with upstream_errors():
            return object_info(key, await (await self._s3()).head_object(**params))

    async def get_object(
        self, bucket: str, key: str, *, version_id: str = "", byte_range: tuple[int, int | None] | None = None
    ) -> ObjectBody:
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        if byte_range is not None:
            start, end = byte_range
            params["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            with upstream_errors():
                response = await (await self._s3()).get_object(**params)
        except InvalidRange as exc:
            if exc.size < 0:  # the upstream did not say how big the object is; ask
                exc.size = (await self.head_object(bucket, key, version_id=version_id)).size
            raise
        length = int(response.get("ContentLength") or 0)
        content_range = parse_content_range(str(response.get("ContentRange") or ""))
        info = object_info(key, response)
        if content_range is not None and content_range[2] >= 0:
            info = ObjectInfo(**{**info.__dict__, "size": content_range[2]})
        return ObjectBody(info, BodyChunks(response["Body"]), length, content_range)

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: AsyncIterator[bytes],
        *,
        size: int,
        content_type: str = "",
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
    ) -> ObjectInfo:
        content_type = content_type or "application/octet-stream"
        headers = {"Content-Type": content_type}
        headers.update({f"x-amz-meta-{name}": value for name, value in (metadata or {}).items()})
        if if_none_match:
            headers["If-None-Match"] = "*"
        sent = await self._uploader.put(bucket, key, body, size=size, headers=headers)
        return ObjectInfo(
            key, size, sent.get("etag", ""), content_type, version_id=sent.get("x-amz-version-id", "")
        )

    async def delete_object(self, bucket: str, key: str, *, version_id: str = "") -> None:
        params = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        with upstream_errors():
            await (await self._s3()).delete_object(**params)

    async def delete_objects(self, bucket: str, keys: Sequence[tuple[str, str]]) -> DeleteResult:
        deleted: list[tuple[str, str]] = []
        errors: list[tuple[str, str, str, str]] = []
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [
                {"Key": key, **({"VersionId": version} if version else {})}
                for key, version in keys[start : start + _DELETE_BATCH]
            ]
            with upstream_errors(bucket_scope=True):
                result = await (await self._s3()).delete_objects(
                    Bucket=bucket, Delete={"Objects": batch, "Quiet": False}
                )
            deleted += [(d["Key"], str(d.get("VersionId") or "")) for d in result.get("Deleted", ())]
            errors += [
                (e["Key"], str(e.get("VersionId") or ""), str(e.get("Code", "")), str(e.get("Message", "")))
                for e in result.get("Errors", ())
            ]
        return DeleteResult(deleted, errors)

    async def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        version_id: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        source = {"Bucket": src_bucket, "Key": src_key, **({"VersionId": version_id} if version_id else {})}
        params: dict[str, Any] = {"Bucket": dst_bucket, "Key": dst_key, "CopySource": source}
        if metadata is not None:
            # REPLACE resets Content-Type too, so carry the source's over.
            head = await self.head_object(src_bucket, src_key, version_id=version_id)
            params.update(MetadataDirective="REPLACE", Metadata=dict(metadata))
            if head.content_type:
                params["ContentType"] = head.content_type
        with upstream_errors():
            await (await self._s3()).copy_object(**params)
        return await self.head_object(dst_bucket, dst_key)

    # --- multipart -----------------------------------------------------------------------------

    async def create_multipart(
        self, bucket: str, key: str, *, content_type: str = "", metadata: Mapping[str, str] | None = None
    ) -> str:
        params: dict[str, Any] = {"Bucket": bucket, "Key": key, "Metadata": dict(metadata or {})}
        if content_type:
            params["ContentType"] = content_type
        with upstream_errors(bucket_scope=True):
            response = await (await self._s3()).create_multipart_upload(**params)
        return str(response["UploadId"])

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: AsyncIterator[bytes],
        *,
        size: int,
    ) -> PartInfo:
        query = {"partNumber": str(part_number), "uploadId": upload_id}
        sent = await self._uploader.put(bucket, key, body, size=size, query=query)
        return PartInfo(part_number, sent.get("etag", ""), size)

    async def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> ObjectInfo:
        listing = {"Parts": [{"PartNumber": number, "ETag": etag} for number, etag in parts]}
        with upstream_errors():
            await (await self._s3()).complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload=listing
            )
        return await self.head_object(bucket, key)

    async def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        with upstream_errors():
            await (await self._s3()).abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)

    async def list_multipart(self, bucket: str, *, prefix: str = "") -> list[MultipartUpload]:
        with upstream_errors(bucket_scope=True):
            response = await (await self._s3()).list_multipart_uploads(Bucket=bucket, Prefix=prefix)
        return [
            MultipartUpload(u["Key"], u["UploadId"], u.get("Initiated")) for u in response.get("Uploads", ())
        ]

    # --- tags and versioning -------------------------------------------------------------------

    async def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        await self._features.require(bucket, "tagging")
        try:
            with upstream_errors():
                response = await (await self._s3()).get_object_tagging(Bucket=bucket, Key=key)
        except DriverError as exc:
            if exc.code == "NoSuchTagSet":  # some stores say so for an object without tags
                return {}
            raise
        return {t["Key"]: t["Value"] for t in response.get("TagSet", ())}

    async def put_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        await self._features.require(bucket, "tagging")
        tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
        with upstream_errors():
            await (await self._s3()).put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})

    async def get_versioning(self, bucket: str) -> bool:
        await self._features.require(bucket, "versioning")
        with upstream_errors(bucket_scope=True):
            response = await (await self._s3()).get_bucket_versioning(Bucket=bucket)
        return bool(response.get("Status") == "Enabled")

    async def put_versioning(self, bucket: str, enabled: bool) -> None:
        await self._features.require(bucket, "versioning")
        status = "Enabled" if enabled else "Suspended"
        with upstream_errors(bucket_scope=True):
            await (await self._s3()).put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": status}
            )
