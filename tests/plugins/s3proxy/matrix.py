"""The client matrix's surroundings: ``stowage serve`` in front of SeaweedFS, a TLS front on loopback
with a throwaway CA, where the install script put the npm and old-botocore clients, and the bytes
every client uploads.

Stowage's listeners speak plain HTTP (operators terminate TLS in front of them), so the HTTPS leg
of the matrix goes through :class:`TlsFront`: a TLS-terminating byte pump, as a reverse proxy would.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.plugins.s3proxy.e2e import pattern
from tests.plugins.s3proxy.e2e_process import mint_offline, process_settings

REPO = Path(__file__).resolve().parents[3]
MiB = 1024 * 1024


# ---------------------------------------------------------------- tools installed by the script


def _script_setting(name: str) -> str:
    script = (REPO / "scripts" / "install-test-deps.sh").read_text(encoding="utf-8")
    found = re.search(rf'^{name}="([^"]+)"', script, re.MULTILINE)
    assert found, f"{name} not set in scripts/install-test-deps.sh"
    return found.group(1)


def deps_dir() -> Path:
    """Where scripts/install-test-deps.sh installs npm packages and the old botocore."""
    if os.environ.get("STOWAGE_TEST_DEPS"):
        return Path(os.environ["STOWAGE_TEST_DEPS"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "stowage-test-deps"


def aws_sdk_js_dir() -> Path:
    return deps_dir() / f"aws-sdk-js-{_script_setting('AWS_SDK_JS_VERSION')}"


def old_botocore_dir() -> Path:
    return deps_dir() / f"botocore-{_script_setting('OLD_BOTOCORE_VERSION')}"


# ---------------------------------------------------------------- a throwaway CA and server certificate


@dataclass
class ThrowawayCA:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_ca(folder: Path) -> ThrowawayCA:
    """A CA and a server certificate for 127.0.0.1/localhost, signed by it (clients trust the CA)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stowage test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca = ThrowawayCA(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.ca_file.write_bytes(ca_cert.public_bytes(pem))
    ca.cert_file.write_bytes(cert.public_bytes(pem))
    ca.key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca


# ---------------------------------------------------------------- TLS front


class TlsFront:
    """Terminates TLS on a loopback port and pumps the bytes to ``target`` (host, port), in a thread."""

    def __init__(self, ca: ThrowawayCA, target: tuple[str, int]) -> None:
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(ca.cert_file, ca.key_file)
        self._target = target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tls-front", daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    def __enter__(self) -> TlsFront:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.port = future.result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._context)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)  # a strong reference: the loop keeps only weak ones
        sides = [writer]
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
            sides.append(up_writer)
            pumps = [
                asyncio.ensure_future(self._pump(reader, up_writer)),
                asyncio.ensure_future(self._pump(up_reader, writer)),
            ]
            try:
                # HTTP clients do not half-close: when either side ends, the exchange is over.
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except OSError:
            pass
        finally:
            for side in sides:
                side.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(side.wait_closed(), 5)
            self._connections.discard(task)

    @staticmethod
    async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while chunk := await source.read(256 * 1024):
            sink.write(chunk)
            await sink.drain()


# ---------------------------------------------------------------- stowage serve in a child process


@dataclass
class ServedProxy:
    """A ``stowage serve`` child process with a credential scoped to one bucket on SeaweedFS."""

    endpoint: str  # http://127.0.0.1:PORT of the S3 listener
    access_key: str
    secret_key: str
    bucket: str
    process: subprocess.Popen[bytes]

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.endpoint.removeprefix("http://").partition(":")
        return host, int(port)


def start_proxy(folder: Path, upstream: Any, bucket: str) -> ServedProxy:
    settings, env = process_settings(folder, upstream)
    root_key = secrets.token_hex(32)
    access_key, secret = asyncio.run(mint_offline(folder, settings, env, root_key, [bucket]))
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("STOWAGE_")}
    child_env.update(env, STOWAGE_SECRET_KEY=root_key, PYTHONPATH=str(REPO))
    with (folder / "stowage.log").open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stowage.core.kernel.cli",
                "serve",
                "--config",
                str(folder / "settings.yaml"),
            ],
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    served = ServedProxy("http://" + settings["s3_proxy"]["listen"], access_key, secret, bucket, process)
    dashboard = "http://" + settings["server"]["listen"] + "/healthz"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"stowage serve exited with {process.returncode}; see {folder}/stowage.log")
        try:
            with urllib.request.urlopen(dashboard, timeout=1) as response:  # noqa: S310
                if response.status == 200 and _accepts(served.address):
                    return served
        except OSError:
            pass
        time.sleep(0.1)
    stop_proxy(served)
    raise RuntimeError("stowage serve did not become ready in 30 s")


def _accepts(address: tuple[str, int]) -> bool:
    with socket.create_connection(address, timeout=1):
        return True


def stop_proxy(served: ServedProxy) -> None:
    served.process.terminate()
    try:
        served.process.wait(15)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


# ---------------------------------------------------------------- the files every client moves


@dataclass
class Files:
    small: Path  # one PUT
    big: Path  # 8 MiB + a bit: two parts at the clients' 5 MiB minimum
    tree: Path  # a folder to sync
    out: Path  # downloads land here


RANGE = (1000, 1999)  # inclusive, as in a Range header


def make_files(folder: Path) -> Files:
    files = Files(folder / "small.bin", folder / "big.bin", folder / "tree", folder / "out")
    files.small.write_bytes(pattern(200 * 1024, seed=1))
    files.big.write_bytes(pattern(8 * MiB + 4321, seed=2))
    for relative, size in (("a.txt", 1000), ("sub/b.txt", 7777), ("sub/deeper/c.bin", 300 * 1024)):
        path = files.tree / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pattern(size, seed=size))
        # aws s3 sync compares mtimes with whole-second LastModified: date sources in the past.
        os.utime(path, (time.time() - 120, time.time() - 120))
    files.out.mkdir()
    return files


def tree_files(root: Path) -> dict[str, bytes]:
    """Relative POSIX path → bytes, for every file under ``root``."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def fetch(url: str, ca_file: Path | None) -> bytes:
    """A plain HTTP client (no S3 SDK): GET ``url`` trusting only the test CA for HTTPS."""
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    with urllib.request.urlopen(url, timeout=30, context=context) as response:  # noqa: S310
        body: bytes = response.read()
        return body
