"""Drive boto3 or minio-py through the matrix steps in one process; print one JSON result per step.

Run as ``python pydriver.py boto3|minio PLAN.json`` in a subprocess, so the boto3 under test can be
whichever botocore the interpreter finds first (the old one comes in on PYTHONPATH). Each client
runs with its defaults except the multipart threshold and part size (5 MiB, the S3 minimum) and the
test CA for HTTPS. The test, not this script, checks what reached the upstream.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

MiB = 1024 * 1024


def boto3_steps(plan: dict[str, Any]) -> tuple[str, dict[str, Callable[[], Any]]]:
    import boto3
    import botocore
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    s3 = boto3.session.Session().client(
        "s3",
        endpoint_url=plan["endpoint"],
        aws_access_key_id=plan["access_key"],
        aws_secret_access_key=plan["secret_key"],
        region_name="us-east-1",
        verify=plan["ca_file"] or True,
        config=Config(retries={"max_attempts": 1}),
    )
    transfer = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    bucket, prefix, out = plan["bucket"], plan["prefix"], Path(plan["out"])
    first, last = plan["range"]

    def listed() -> dict[str, Any]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return {"keys": [item["Key"] for page in pages for item in page.get("Contents", ())]}

    def get() -> None:
        s3.download_file(bucket, prefix + "small.bin", str(out / "small.bin"), Config=transfer)
        s3.download_file(bucket, prefix + "big.bin", str(out / "big.bin"), Config=transfer)

    def ranged() -> None:
        body = s3.get_object(Bucket=bucket, Key=prefix + "small.bin", Range=f"bytes={first}-{last}")["Body"]
        (out / "range.bin").write_bytes(body.read())

    steps: dict[str, Callable[[], Any]] = {
        "put-small": lambda: s3.upload_file(plan["small"], bucket, prefix + "small.bin", Config=transfer),
        "put-multipart": lambda: s3.upload_file(plan["big"], bucket, prefix + "big.bin", Config=transfer),
        "list": listed,
        "get": get,
        "range": ranged,
        "copy": lambda: s3.copy_object(
            Bucket=bucket, Key=prefix + "copy.bin", CopySource={"Bucket": bucket, "Key": prefix + "small.bin"}
        ),
        "delete": lambda: s3.delete_object(Bucket=bucket, Key=prefix + "doomed.bin"),
        "presign": lambda: {
            "url": s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": prefix + "small.bin"}
            )
        },
    }
    return f"boto3 {boto3.__version__} botocore {botocore.__version__}", steps


def minio_steps(plan: dict[str, Any]) -> tuple[str, dict[str, Callable[[], Any]]]:
    import minio
    import urllib3
    from minio.commonconfig import CopySource

    secure = plan["endpoint"].startswith("https://")
    http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=plan["ca_file"]) if secure else None
    client = minio.Minio(
        plan["endpoint"].split("://", 1)[1],
        access_key=plan["access_key"],
        secret_key=plan["secret_key"],
        secure=secure,
        region="us-east-1",
        http_client=http,
    )
    bucket, prefix, out = plan["bucket"], plan["prefix"], Path(plan["out"])
    first, last = plan["range"]

    def get() -> None:
        client.fget_object(bucket, prefix + "small.bin", str(out / "small.bin"))
        client.fget_object(bucket, prefix + "big.bin", str(out / "big.bin"))

    def ranged() -> None:
        response = client.get_object(bucket, prefix + "small.bin", offset=first, length=last - first + 1)
        try:
            (out / "range.bin").write_bytes(response.read())
        finally:
            response.close()
            response.release_conn()

    steps: dict[str, Callable[[], Any]] = {
        "put-small": lambda: client.fput_object(bucket, prefix + "small.bin", plan["small"]),
        "put-multipart": lambda: client.fput_object(
            bucket, prefix + "big.bin", plan["big"], part_size=5 * MiB
        ),
        "list": lambda: {
            "keys": [o.object_name for o in client.list_objects(bucket, prefix=prefix, recursive=True)]
        },
        "get": get,
        "range": ranged,
        "copy": lambda: client.copy_object(
            bucket, prefix + "copy.bin", CopySource(bucket, prefix + "small.bin")
        ),
        "delete": lambda: client.remove_object(bucket, prefix + "doomed.bin"),
        "presign": lambda: {"url": client.presigned_get_object(bucket, prefix + "small.bin")},
    }
    return f"minio-py {minio.__version__}", steps


def main() -> None:
    kind, plan_path = sys.argv[1], sys.argv[2]
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    version, steps = (boto3_steps if kind == "boto3" else minio_steps)(plan)
    results: dict[str, Any] = {}
    for name, step in steps.items():
        try:
            value = step()
            # list and presign answer with what the test checks; other steps' return values are noise
            results[name] = {"ok": True, **(value if name in ("list", "presign") else {})}
        except Exception as error:
            detail = traceback.format_exception_only(error)[-1].strip()
            results[name] = {"ok": False, "error": detail}
    print(json.dumps({"version": version, "steps": results}))


if __name__ == "__main__":
    main()
