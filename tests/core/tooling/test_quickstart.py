"""``stowage quickstart`` on a fresh folder: embedded upstream, admin, credential, both listeners."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.core.kernel.test_cli import clean_env, free_port


def _wait_for_banner(proc: subprocess.Popen[str], log: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text()
        if "Press Ctrl-C to stop." in text:
            return text
        assert proc.poll() is None, text
        time.sleep(0.1)
    raise AssertionError(log.read_text())


def test_quickstart_runs_with_nothing_else_and_prints_a_working_credential(tmp_path: Path) -> None:
    data = tmp_path / "data"
    dash, s3 = free_port(), free_port()
    log = tmp_path / "quickstart.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stowage.core.kernel.cli", "quickstart", "--data-dir", str(data),
             "--listen", f"127.0.0.1:{dash}", "--s3-listen", f"127.0.0.1:{s3}"],
            cwd=tmp_path, env=clean_env(), stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        banner = _wait_for_banner(proc, log)
        assert (data / "stowage.db").exists()
        assert (data / "stowage.key").stat().st_mode & 0o777 == 0o600
        password = re.search(r"admin password\s*:\s*(\S+)", banner)
        assert password, banner
        exports = dict(re.findall(r"export (AWS_[A-Z_]+)=(\S+)", banner))
        assert exports["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{s3}"

        login = urllib.request.Request(
            f"http://127.0.0.1:{dash}/auth/login/local",
            data=json.dumps({"username": "admin", "password": password.group(1)}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(login, timeout=10) as response:
            assert json.loads(response.read())["status"] == "ok"

        (tmp_path / "hello.txt").write_text("hello from quickstart")
        env = {
            **clean_env(),
            **exports,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
        aws = [str(Path(sys.executable).parent / "aws"), "--endpoint-url", exports["AWS_ENDPOINT_URL"]]
        upload = subprocess.run([*aws, "s3", "cp", str(tmp_path / "hello.txt"), "s3://quickstart/hello.txt"],
                                env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert upload.returncode == 0, upload.stderr
        # The embedded upstream keeps objects on disk under the data folder.
        assert (data / "objects" / "quickstart" / "hello.txt").read_text() == "hello from quickstart"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
