"""Every real S3 client, unmodified, through the proxy over SeaweedFS — over plain HTTP and over TLS.

aws-cli v2 (Debian) and v1 (PyPI), boto3 with the current botocore and with one older than 1.40.21,
s3cmd, rclone with its default S3 options, minio-py and aws-sdk-js v3 each upload a small file and
an 8 MiB one in 5 MiB parts, list, download, read a range, copy, delete, make a default presigned
GET URL (fetched here with a plain HTTP client) and sync a folder both ways — each step its client
has. restic initialises a repository, backs up, checks every pack and restores. Every step is
checked against what the upstream holds (read directly, never through the proxy) and against the
local bytes. One Stowage (``stowage serve``) and one TLS front serve the whole module; a test
reports every failed step of its client, not only the first.
"""

from __future__ import annotations

import re
import sys
import urllib.error
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from tests.plugins.s3proxy.matrix import (
    RANGE,
    ServedProxy,
    ThrowawayCA,
    TlsFront,
    fetch,
    make_ca,
    make_files,
    start_proxy,
    stop_proxy,
    tree_files,
)
from tests.plugins.s3proxy.matrix_cli import AwsCli, Rclone, Restic, S3cmd
from tests.plugins.s3proxy.matrix_clients import Client, StepResults, Target, sdk_clients
from tests.plugins.s3proxy.proxyenv import upstream_client

_CLIENTS: list[Client] = [
    AwsCli("aws-cli-v2", "/usr/bin/aws"),  # Debian's package
    AwsCli("aws-cli-v1", str(Path(sys.executable).parent / "aws")),  # the `dev` extra's
    S3cmd(),
    Rclone(),
    *sdk_clients(),
]
CLIENTS = {client.name: client for client in _CLIENTS}
TRANSPORTS = ("http", "https")


@dataclass
class Matrix:
    proxy: ServedProxy
    ca: ThrowawayCA
    tls_port: int
    direct: Any  # boto3 straight to SeaweedFS: the oracle

    def target(self, name: str, transport: str, folder: Path) -> Target:
        https = transport == "https"
        endpoint = f"https://127.0.0.1:{self.tls_port}" if https else self.proxy.endpoint
        work = folder / "work"
        work.mkdir()
        prefix = f"{name}-{transport}/"
        return Target(
            endpoint,
            self.ca.ca_file if https else None,
            self.proxy.access_key,
            self.proxy.secret_key,
            self.proxy.bucket,
            prefix,
            make_files(folder),
            work,
        )

    def upstream_bytes(self, key: str) -> bytes | None:
        try:
            body: bytes = self.direct.get_object(Bucket=self.proxy.bucket, Key=key)["Body"].read()
        except botocore.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        return body


@pytest.fixture(scope="module")
def matrix(seaweed_upstream: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    folder = tmp_path_factory.mktemp("client-matrix")
    direct = upstream_client(seaweed_upstream)
    bucket = f"matrix-{uuid.uuid4().hex[:12]}"
    direct.create_bucket(Bucket=bucket)
    (folder / "stowage").mkdir()
    proxy = start_proxy(folder / "stowage", seaweed_upstream, bucket)
    try:
        ca = make_ca(folder)
        with TlsFront(ca, proxy.address) as front:
            yield Matrix(proxy, ca, front.port, direct)
    finally:
        stop_proxy(proxy)
        direct.close()


def check_steps(matrix: Matrix, target: Target, steps: tuple[str, ...], results: StepResults) -> list[str]:
    """Every failed step with its reason: the client's own error, or what the bytes show."""
    small = target.files.small.read_bytes()
    failures: list[str] = []
    for step in steps:
        result = results.get(step, {"ok": False, "error": "not run"})
        if not result["ok"]:
            failures.append(f"{step}: {result['error']}")
            continue
        problem = _verify(matrix, target, step, result, small)
        if problem:
            failures.append(f"{step}: {problem}")
    return failures


def _verify(matrix: Matrix, target: Target, step: str, result: dict[str, Any], small: bytes) -> str | None:
    files, prefix = target.files, target.prefix
    if step == "put-small":
        return None if matrix.upstream_bytes(prefix + "small.bin") == small else "upstream bytes differ"
    if step == "put-multipart":
        if matrix.upstream_bytes(prefix + "big.bin") != files.big.read_bytes():
            return "upstream bytes differ"
        etag = matrix.direct.head_object(Bucket=target.bucket, Key=prefix + "big.bin")["ETag"]
        return None if etag.endswith('-2"') else f"not a two-part upload (ETag {etag})"
    if step == "list":
        missing = {prefix + "small.bin", prefix + "big.bin"} - set(result["keys"])
        return f"listing lacks {sorted(missing)}: {result['keys']}" if missing else None
    if step == "get":
        same = (
            _local(files.out / "small.bin") == small
            and _local(files.out / "big.bin") == files.big.read_bytes()
        )
        return None if same else "downloaded bytes differ (or missing)"
    if step == "range":
        wanted = small[RANGE[0] : RANGE[1] + 1]
        return None if _local(files.out / "range.bin") == wanted else "range bytes differ (or missing)"
    if step == "copy":
        return None if matrix.upstream_bytes(prefix + "copy.bin") == small else "copy differs upstream"
    if step == "delete":
        return None if matrix.upstream_bytes(prefix + "doomed.bin") is None else "still upstream"
    if step == "presign":
        url = result["url"]
        if not url.startswith(target.endpoint + "/"):
            return f"URL does not point at the endpoint: {url}"
        try:
            body = fetch(url, target.ca_file)
        except urllib.error.HTTPError as error:
            code = re.search(rb"<Code>([^<]*)</Code>", error.read())
            s3_code = code.group(1).decode() if code else ""
            return f"GET ?{_query_names(url)} answered {error.code} {s3_code}"
        except OSError as error:
            return f"GET ?{_query_names(url)} failed: {error}"
        return None if body == small else "presigned GET bytes differ"
    if step == "sync":
        tree = tree_files(files.tree)
        up = {name: matrix.upstream_bytes(prefix + "sync/" + name) for name in tree}
        if up != tree:
            return "synced objects differ upstream"
        return None if tree_files(files.out / "sync") == tree else "synced-down files differ (or missing)"
    return f"no check for {step}"


def _local(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _query_names(url: str) -> str:
    query = url.partition("?")[2]
    return "&".join(part.split("=", 1)[0] for part in query.split("&"))


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("name", list(CLIENTS))
def test_client_through_the_proxy(matrix: Matrix, name: str, transport: str, tmp_path: Path) -> None:
    client = CLIENTS[name]
    reason = client.unavailable()
    if reason:
        pytest.skip(reason)
    target = matrix.target(name, transport, tmp_path)
    matrix.direct.put_object(Bucket=target.bucket, Key=target.prefix + "doomed.bin", Body=b"delete me")
    version, results = client.run(target)
    if name == "boto3-old":  # this leg exists for a botocore that needs `100 Continue`
        botocore_version = tuple(int(x) for x in version.split("botocore ")[1].split("."))
        assert botocore_version < (1, 40, 21), version
    failures = check_steps(matrix, target, client.steps, results)
    assert not failures, f"{version} over {transport}:\n  " + "\n  ".join(failures)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_restic_backup_and_restore_through_the_proxy(matrix: Matrix, transport: str, tmp_path: Path) -> None:
    restic = Restic()
    reason = restic.unavailable()
    if reason:
        pytest.skip(reason)
    target = matrix.target("restic", transport, tmp_path)
    version, results = restic.run(target)
    failures = [f"{step}: {results[step]['error']}" for step in restic.steps if not results[step]["ok"]]
    if results["restore"]["ok"]:
        restored = target.files.out / "restic"  # `backup .` from inside the tree: relative paths
        if tree_files(restored) != tree_files(target.files.tree):
            failures.append("restore: restored files differ")
    listed = matrix.direct.list_objects_v2(Bucket=target.bucket, Prefix=target.prefix + "repo/")
    if results["init"]["ok"] and not any(o["Key"].endswith("/config") for o in listed.get("Contents", ())):
        failures.append("init: no repository config upstream")
    assert not failures, f"{version} over {transport}:\n  " + "\n  ".join(failures)
