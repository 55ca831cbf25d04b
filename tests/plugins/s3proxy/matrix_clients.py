"""How a matrix client is driven: the target it talks to, its steps, and the SDK clients.

The SDKs (boto3, minio-py, aws-sdk-js v3) run every step in one subprocess of
``clients/pydriver.py`` or ``clients/jsdriver.mjs``; the CLIs live in ``matrix_cli.py``. Every
client gets a clean environment (no ``AWS_*``, none of the machine's global CA variables) and, for
HTTPS, the test CA explicitly. A client reports per step
``{"ok": True, ...}`` or ``{"ok": False, "error": ...}``; the test then checks what reached the
upstream and what came back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.plugins.s3proxy.matrix import RANGE, Files, aws_sdk_js_dir, old_botocore_dir

CLIENT_SCRIPTS = Path(__file__).resolve().parent / "clients"
GLOBAL_CA_VARIABLES = {
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "HTTPLIB2_CA_CERTS",
    "PIP_CERT",
}
StepResults = dict[str, dict[str, Any]]


@dataclass
class Target:
    """Where and as whom a client talks, and the files it moves; keys live under ``prefix``."""

    endpoint: str  # http://127.0.0.1:PORT (the proxy) or https://127.0.0.1:PORT (the TLS front)
    ca_file: Path | None
    access_key: str
    secret_key: str
    bucket: str
    prefix: str
    files: Files
    work: Path  # this run's config files

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"


class StepFailed(Exception):
    pass


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "RCLONE_", "RESTIC_", "S3CMD")) and key not in GLOBAL_CA_VARIABLES
    }
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    """Run a client command; its stdout, or StepFailed with the end of its stderr."""
    done = subprocess.run(
        args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-600:]
        shown = " ".join(Path(arg).name if arg.startswith("/") else arg for arg in args)  # short paths
        raise StepFailed(f"`{shown}` exited {done.returncode}: {tail}")
    return done.stdout


class Client:
    """One client under test; ``steps`` are the matrix steps it has a way to perform."""

    name: str
    steps: tuple[str, ...] = (
        "put-small",
        "put-multipart",
        "list",
        "get",
        "range",
        "copy",
        "delete",
        "presign",
    )

    def unavailable(self) -> str | None:
        """Why this client cannot run here, or None."""
        return None

    def run(self, target: Target) -> tuple[str, StepResults]:
        """(client version, results per step)."""
        results: StepResults = {}
        self.prepare(target)
        for step in self.steps:
            try:
                value = getattr(self, "step_" + step.replace("-", "_"))(target)
                results[step] = {"ok": True, **(value or {})}
            except (StepFailed, OSError, ValueError) as error:
                results[step] = {"ok": False, "error": str(error)}
        failed = any(not result["ok"] for result in results.values())
        return (self.version() if failed else self.name), results  # a version costs a process

    def prepare(self, target: Target) -> None:
        pass

    def version(self) -> str:
        return self.name


# ---------------------------------------------------------------- SDKs driven by a script in one subprocess


class ScriptedClient(Client):
    """boto3 (any botocore), minio-py or aws-sdk-js, through clients/pydriver.py or clients/jsdriver.mjs."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], needs: Path | None = None) -> None:
        self.name, self.command, self.extra_env, self.needs = name, command, env, needs

    def unavailable(self) -> str | None:
        if self.needs is not None and not self.needs.exists():
            return f"{self.needs} missing: run scripts/install-test-deps.sh"
        if not shutil.which(self.command[0]):
            return f"{self.command[0]} missing"
        return None

    def run(self, target: Target) -> tuple[str, StepResults]:
        plan = target.work / "plan.json"
        plan.write_text(
            json.dumps(
                {
                    "endpoint": target.endpoint,
                    "ca_file": str(target.ca_file) if target.ca_file else None,
                    "access_key": target.access_key,
                    "secret_key": target.secret_key,
                    "bucket": target.bucket,
                    "prefix": target.prefix,
                    "small": str(target.files.small),
                    "big": str(target.files.big),
                    "out": str(target.files.out),
                    "range": list(RANGE),
                }
            )
        )
        env = clean_env(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, **self.extra_env)
        answer = json.loads(run([*self.command, str(plan)], env).strip().splitlines()[-1])
        return answer["version"], answer["steps"]


def sdk_clients() -> list[Client]:
    python = [sys.executable, str(CLIENT_SCRIPTS / "pydriver.py")]
    old = old_botocore_dir()
    return [
        ScriptedClient("boto3", [*python, "boto3"], {}),
        ScriptedClient("boto3-old", [*python, "boto3"], {"PYTHONPATH": str(old)}, needs=old / "botocore"),
        ScriptedClient("minio-py", [*python, "minio"], {}),
        ScriptedClient(
            "aws-sdk-js",
            ["node", str(CLIENT_SCRIPTS / "jsdriver.mjs")],
            {"STOWAGE_AWS_SDK_JS": str(aws_sdk_js_dir())},
            needs=aws_sdk_js_dir() / "node_modules" / "@aws-sdk" / "lib-storage",
        ),
    ]
